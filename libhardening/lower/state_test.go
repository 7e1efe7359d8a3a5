package lower

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A container's state as runc (state.json, bundle in a label) and crun
// (status, bundle as a field, no id) write it.
func TestReadState(t *testing.T) {
	root := t.TempDir()
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	write(t, filepath.Join(root, "runc", runcStateFile), `{"id":"runc","init_process_pid":10,"init_process_start":555,"created":"2026-11-22T10:00:00Z","config":{"labels":["x=y","bundle=/b/runc"]}}`)
	// As runc 1.1 and 1.5 write them: every namespace type, hooks by name.
	write(t, filepath.Join(root, "ownpid", runcStateFile), `{"id":"ownpid","init_process_pid":11,"config":{"namespaces":[{"type":"NEWNS","path":""},{"type":"NEWPID","path":""}],"Hooks":{"poststop":null,"prestart":[{"path":"/x"}]}}}`)
	write(t, filepath.Join(root, "joinedpid", runcStateFile), `{"id":"joinedpid","init_process_pid":12,"config":{"namespaces":[{"type":"NEWPID","path":"/proc/1/ns/pid"}],"Hooks":{"poststop":[{"path":"/a"},{"path":"/b"}]}}}`)
	write(t, filepath.Join(root, "crun", crunStateFile), `{"pid": 20, "process-start-time": 700, "bundle": "/b/crun", "rootfs": "rootfs", "created": "2026-11-22T10:00:00Z"}`)
	write(t, filepath.Join(root, "both", runcStateFile), `{"init_process_pid":30}`)
	write(t, filepath.Join(root, "both", crunStateFile), `{"pid":31}`)
	write(t, filepath.Join(root, "garbled", runcStateFile), `{`)
	write(t, filepath.Join(root, "garbled", crunStateFile), `{"pid":41}`)
	write(t, filepath.Join(root, "crungarbled", crunStateFile), `[`)
	if err := os.MkdirAll(filepath.Join(root, "none"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id    string
		want  State
		has   bool
		valid bool
	}{
		{"runc", State{ID: "runc", Pid: 10, Start: 555, Created: created, Bundle: "/b/runc"}, true, true},
		{"crun", State{Pid: 20, Start: 700, Created: created, Bundle: "/b/crun"}, true, true},
		{"ownpid", State{ID: "ownpid", Pid: 11, OwnPIDNamespace: true}, true, true},
		{"joinedpid", State{ID: "joinedpid", Pid: 12, PoststopHooks: 2}, true, true},
		// runc's file wins, and a broken one is not second-guessed.
		{"both", State{Pid: 30}, true, true},
		{"garbled", State{}, true, false},
		{"crungarbled", State{}, true, false},
		{"none", State{}, false, false},
		{"missing", State{}, false, false},
	} {
		dir := Dir(root, c.id)
		if got := HasState(dir); got != c.has {
			t.Errorf("%s: HasState = %v, want %v", c.id, got, c.has)
		}
		got, err := ReadState(dir)
		if got != c.want || (err == nil) != c.valid {
			t.Errorf("%s: ReadState = %+v, %v; want %+v, valid %v", c.id, got, err, c.want, c.valid)
		}
	}
}

func TestDirAndRoot(t *testing.T) {
	if got := Dir("", "c1"); got != "/run/runc/c1" {
		t.Errorf("Dir default = %q", got)
	}
	if got := Dir("/r", "c1"); got != "/r/c1" {
		t.Errorf("Dir = %q", got)
	}
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"", DefaultRoot},
		{link, real},
		{real + "/./", real},
		{"/nonexistent/x/../y", "/nonexistent/y"},
	} {
		if got := NormalizeRoot(c.in); got != c.want && !(c.in == "" && got == mustEval(DefaultRoot)) {
			t.Errorf("NormalizeRoot(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func mustEval(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// Live containers under state roots: runc's and crun's, skipping an init
// pid that is gone or was reused (start time differs); a start time of 0
// (unknown) trusts the pid.
func TestRunningContainers(t *testing.T) {
	proc, root, crunRoot := t.TempDir(), t.TempDir(), t.TempDir()
	stat := "%d (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0"
	proct := func(pid int, start uint64) {
		write(t, filepath.Join(proc, fmt.Sprint(pid), "stat"), fmt.Sprintf(stat, pid, start))
	}
	runc := func(id string, pid int, start uint64) {
		write(t, filepath.Join(root, id, runcStateFile), fmt.Sprintf(`{"id":%q,"init_process_pid":%d,"init_process_start":%d,"created":"2026-11-22T10:00:00Z"}`, id, pid, start))
	}
	runc("old", 10, 555)
	proct(10, 555)
	runc("reused", 12, 557)
	proct(12, 999)
	runc("unknownstart", 13, 0)
	proct(13, 1)
	runc("gone", 14, 5)
	runc("nopid", 0, 0)
	write(t, filepath.Join(crunRoot, "live", crunStateFile), `{"pid": 20, "process-start-time": 700, "bundle": "/b", "created": "2026-11-22T10:00:00Z"}`)
	proct(20, 700)
	write(t, filepath.Join(crunRoot, "reused", crunStateFile), `{"pid": 21, "process-start-time": 701}`)
	proct(21, 9)

	got, err := RunningContainers(proc, []string{root, filepath.Join(filepath.Dir(crunRoot), filepath.Base(crunRoot)+"*"), "/nonexistent/*"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Container{
		"old":          {ID: "old", Root: root, PID: 10},
		"unknownstart": {ID: "unknownstart", Root: root, PID: 13},
		"live":         {ID: "live", Root: crunRoot, PID: 20},
	}
	if len(got) != len(want) {
		t.Fatalf("running %+v, want %v", got, want)
	}
	for _, c := range got {
		w, ok := want[c.ID]
		if !ok || c.Root != w.Root || c.PID != w.PID || c.Created.IsZero() {
			t.Errorf("running %+v, want %+v with a creation time", c, w)
		}
	}
	if _, err := RunningContainers(proc, []string{"["}); err == nil {
		t.Error("a malformed glob is not an error")
	}
}

// Exited: only a known end of the init counts (gone, reused pid, zombie);
// a live init, or a pid whose start time cannot be compared, does not.
func TestExited(t *testing.T) {
	proc := t.TempDir()
	stat := "%d (sh) %s 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0"
	proct := func(pid int, state string, start uint64) {
		write(t, filepath.Join(proc, fmt.Sprint(pid), "stat"), fmt.Sprintf(stat, pid, state, start))
	}
	proct(10, "S", 555)
	proct(11, "S", 999)
	proct(12, "Z", 555)
	proct(13, "X", 555)
	proct(14, "R", 1)
	write(t, filepath.Join(proc, "15", "stat"), "15 (sh")
	for _, c := range []struct {
		name string
		st   State
		want bool
	}{
		{"running", State{Pid: 10, Start: 555}, false},
		{"pid reused", State{Pid: 11, Start: 555}, true},
		{"zombie", State{Pid: 12, Start: 555}, true},
		{"dead", State{Pid: 13, Start: 555}, true},
		{"gone", State{Pid: 20, Start: 555}, true},
		{"start unknown, pid exists", State{Pid: 14}, false},
		{"start unknown, pid gone", State{Pid: 21}, true},
		{"stat malformed", State{Pid: 15, Start: 555}, false},
		{"no pid recorded", State{}, false},
	} {
		if got := c.st.Exited(proc); got != c.want {
			t.Errorf("%s: Exited = %v, want %v", c.name, got, c.want)
		}
	}
}

// A Process is running only while its pid has its start time: a reused
// pid, a missing one or an unreadable stat is not it.
func TestProcessRunning(t *testing.T) {
	proc := t.TempDir()
	write(t, filepath.Join(proc, "10", "stat"), "10 (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0")
	for _, c := range []struct {
		p    Process
		want bool
	}{
		{Process{Pid: 10, Start: 555}, true},
		{Process{Pid: 10, Start: 556}, false},
		{Process{Pid: 11, Start: 555}, false},
	} {
		if got := c.p.Running(proc); got != c.want {
			t.Errorf("%+v.Running = %v, want %v", c.p, got, c.want)
		}
	}
	if self := Self(); self.Pid != os.Getpid() || self.Start == 0 || !self.Running("/proc") {
		t.Errorf("Self() = %+v, want this running process", self)
	}
}
