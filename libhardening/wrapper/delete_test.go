package wrapper

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// TestDeleteExecsOnlyWhenNothingIsHeld: delete execs runc in place (short
// record first) only for a container that holds nothing hardened-runc
// releases; one that holds a range, a mounts directory, an MCS pair or
// audit state, or whose state cannot be read, takes the child path and
// has it released after runc's delete.
func TestDeleteExecsOnlyWhenNothingIsHeld(t *testing.T) {
	const id = "c1"
	table := func(body string, ids ...string) func(t *testing.T, w *world) {
		return func(t *testing.T, w *world) {
			var tb userns.Table
			for _, e := range ids {
				// Pid 0 is no process: the creating process is gone.
				tb.Entries = append(tb.Entries, userns.Entry{ID: e, Root: lower.NormalizeRoot(w.root), HostUID: 100000, HostGID: 100000, Size: 65536})
			}
			data, err := json.Marshal(tb)
			must(t, err)
			if body != "" {
				data = []byte(body)
			}
			writeRun(t, w, "userns/ranges.json", string(data))
		}
	}
	file := func(rel, body string) func(t *testing.T, w *world) {
		return func(t *testing.T, w *world) { writeRun(t, w, rel, body) }
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		// gone is what the delete must have released, under run_dir.
		gone     string
		wantExec bool
		// tableOnly: held by the range table alone, which no hold path
		// shows (a crash between claiming a range and making the
		// container's directory).
		tableOnly bool
	}{
		{name: "nothing set up", wantExec: true},
		{name: "empty userns directory", setup: func(t *testing.T, w *world) {
			must(t, os.MkdirAll(filepath.Join(w.dir, "run", "userns"), 0o700))
		}, wantExec: true},
		{name: "another container's range", setup: table("", "other"), wantExec: true},
		{name: "another container's MCS pair", setup: file("selinux/containers/other", "s0:c1,c2"), wantExec: true},
		{name: "ID range", setup: table("", id), tableOnly: true},
		{name: "mounts directory, no range", setup: func(t *testing.T, w *world) {
			must(t, os.MkdirAll(filepath.Join(w.dir, "run", "userns", id, "rootfs"), 0o700))
		}, gone: "userns/" + id},
		{name: "unreadable range table", setup: table("{torn"), tableOnly: true},
		{name: "MCS pair", setup: file("selinux/containers/"+id, "s0:c1,c2"), gone: "selinux/containers/" + id},
		{name: "audit state", setup: file("audit/"+id+".json", `{"containerId":"c1","controls":[]}`), gone: "audit/" + id + ".json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			// The C fast path decides from the hold paths alone: one
			// exists for everything Holds sees but the table.
			paths, ok := cleanup.Cleaners().HoldPaths(&modifier.Context{ContainerID: id, RunDir: filepath.Join(w.dir, "run")})
			if !ok {
				t.Fatal("a cleaner cannot name its state by paths")
			}
			shown := false
			for _, p := range paths {
				if _, err := os.Lstat(p); err == nil {
					shown = true
				}
			}
			if want := !tc.wantExec && !tc.tableOnly; shown != want {
				t.Errorf("a hold path exists: %v, want %v (paths %v)", shown, want, paths)
			}
			args := []string{"--root", w.root, "delete", id}
			w.run(args...)
			if exec := w.exec.calls == 1; exec != tc.wantExec {
				t.Fatalf("runc exec'd in place: %v, want %v (stderr %s)", exec, tc.wantExec, w.stderr.String())
			}
			if tc.wantExec && strings.Join(w.exec.argv[1:], " ") != strings.Join(args, " ") {
				t.Errorf("exec %v, want the caller's argv %v", w.exec.argv, args)
			}
			if len(w.rec.launches) != 1 || w.rec.launches[0].Verb != "delete" || w.rec.launches[0].ContainerID != id {
				t.Fatalf("short record: %+v", w.rec.launches)
			}
			if tc.gone != "" {
				if _, err := os.Stat(filepath.Join(w.dir, "run", tc.gone)); !os.IsNotExist(err) {
					t.Errorf("%s not released: %v", tc.gone, err)
				}
			}
			if tc.name == "ID range" {
				data, err := os.ReadFile(filepath.Join(w.dir, "run", "userns", "ranges.json"))
				must(t, err)
				var tb userns.Table
				must(t, json.Unmarshal(data, &tb))
				if _, ok := tb.Lookup(id); ok {
					t.Errorf("range of %s not released: %s", id, data)
				}
			}
		})
	}
}

func writeRun(t *testing.T, w *world, rel, body string) {
	t.Helper()
	p := filepath.Join(w.dir, "run", rel)
	must(t, os.MkdirAll(filepath.Dir(p), 0o700))
	must(t, os.WriteFile(p, []byte(body), 0o600))
}

// TestDeleteReleasesAnExitedContainerMeanwhile: a held container whose init
// has exited and whose processes ended with it (its own PID namespace),
// with no poststop hook, is released whatever runc's delete does (the
// stand-in runc here deletes nothing); any other held container is
// released only once runc no longer has it, so here not at all.
func TestDeleteReleasesAnExitedContainerMeanwhile(t *testing.T) {
	const id = "c1"
	gone := exec.Command("true")
	must(t, gone.Run())
	self, err := lower.ProcessStart("/proc", os.Getpid())
	must(t, err)
	ownPID := `[{"type":"NEWNS","path":""},{"type":"NEWPID","path":""}]`
	for _, tc := range []struct {
		name       string
		pid        int
		start      uint64
		namespaces string
		hooks      string
		released   bool
	}{
		{"exited, own PID namespace", gone.Process.Pid, 1, ownPID, `null`, true},
		{"running", os.Getpid(), self, ownPID, `null`, false},
		{"shared PID namespace", gone.Process.Pid, 1, `[{"type":"NEWPID","path":"/proc/1/ns/pid"}]`, `null`, false},
		{"poststop hook", gone.Process.Pid, 1, ownPID, `[{"path":"/bin/true"}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			writeRun(t, w, "selinux/containers/"+id, "s0:c1,c2")
			st := fmt.Sprintf(`{"id":%q,"init_process_pid":%d,"init_process_start":%d,"config":{"namespaces":%s,"Hooks":{"poststop":%s}}}`,
				id, tc.pid, tc.start, tc.namespaces, tc.hooks)
			must(t, os.MkdirAll(filepath.Join(w.root, id), 0o700))
			must(t, os.WriteFile(filepath.Join(w.root, id, "state.json"), []byte(st), 0o600))
			if code := w.run("--root", w.root, "delete", id); code != 0 || w.exec.calls != 0 {
				t.Fatalf("delete: status %d, exec'd %d times, want runc's status 0 as a child (stderr %s)", code, w.exec.calls, w.stderr.String())
			}
			_, err := os.Stat(filepath.Join(w.dir, "run", "selinux", "containers", id))
			if released := os.IsNotExist(err); released != tc.released {
				t.Errorf("MCS pair released: %v, want %v (runc still has the container)", released, tc.released)
			}
			if len(w.rec.launches) != 1 || w.rec.launches[0].Verb != "delete" {
				t.Fatalf("short record: %+v", w.rec.launches)
			}
		})
	}
}

// TestSplitDeleteSettlesFirst: in a split delete (the C program runs runc
// beside hardened-runc-delete and returns runc's status once the helper
// has settled), a container that has exited alone gets what the engine
// reads after delete (here the userns cleaner's directory) released before
// the helper settles, while runc still runs; the rest (its MCS pair) after
// runc has exited, with the container's release lock held until then. A
// running container is looked at only after runc has exited, and one runc
// keeps is released not at all.
func TestSplitDeleteSettlesFirst(t *testing.T) {
	const id = "c1"
	gone := exec.Command("true")
	must(t, gone.Run())
	self, err := lower.ProcessStart("/proc", os.Getpid())
	must(t, err)
	for _, tc := range []struct {
		name         string
		pid          int
		start        uint64
		settledFirst bool // settled while runc still ran
		released     bool
	}{
		{"exited alone", gone.Process.Pid, 1, true, true},
		{"running, kept by runc", os.Getpid(), self, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			writeRun(t, w, "selinux/containers/"+id, "s0:c1,c2")
			must(t, os.MkdirAll(filepath.Join(w.dir, "run", "userns", id, "rootfs"), 0o700))
			st := fmt.Sprintf(`{"id":%q,"init_process_pid":%d,"init_process_start":%d,"config":{"namespaces":[{"type":"NEWPID","path":""}]}}`,
				id, tc.pid, tc.start)
			must(t, os.MkdirAll(filepath.Join(w.root, id), 0o700))
			must(t, os.WriteFile(filepath.Join(w.root, id, "state.json"), []byte(st), 0o600))

			// The stand-in runc, and what the C program hands over.
			runc := exec.Command("sleep", "0.5")
			must(t, runc.Start())
			exited := make(chan struct{})
			go func() { runc.Wait(); close(exited) }()
			pidfd, err := unix.PidfdOpen(runc.Process.Pid, 0)
			must(t, err)
			defer unix.Close(pidfd)
			pr, pw, err := os.Pipe()
			must(t, err)
			defer pr.Close()
			w.started = &Release{Pid: runc.Process.Pid, Lower: w.lower, pidfd: pidfd, settled: pw, keepStdio: true}

			type seen struct{ runcRan, visibleGone, mcsGone, locked bool }
			observed := make(chan seen, 1)
			go func() {
				io.Copy(io.Discard, pr) // until the helper settles
				var s seen
				select {
				case <-exited:
				default:
					s.runcRan = true
				}
				_, err := os.Stat(filepath.Join(w.dir, "run", "userns", id))
				s.visibleGone = os.IsNotExist(err)
				_, err = os.Stat(filepath.Join(w.dir, "run", "selinux", "containers", id))
				s.mcsGone = os.IsNotExist(err)
				_, err = os.Stat(inflight.Path(filepath.Join(w.dir, "run"), id))
				s.locked = err == nil
				observed <- s
			}()
			if code := w.run("--root", w.root, "delete", id); code != 0 || w.exec.calls != 0 {
				t.Fatalf("delete: status %d, exec'd %d times (stderr %s)", code, w.exec.calls, w.stderr.String())
			}
			s := <-observed
			if s.runcRan != tc.settledFirst {
				t.Errorf("settled while runc still ran: %v, want %v", s.runcRan, tc.settledFirst)
			}
			// With a release to finish, the lock is still held at settle
			// (without one it is let go right after: either may be seen).
			if s.visibleGone != tc.released || s.mcsGone || (tc.released && !s.locked) {
				t.Errorf("at settle: the engine's part released %v (want %v), the MCS pair %v (want false), lock held %v",
					s.visibleGone, tc.released, s.mcsGone, s.locked)
			}
			_, err = os.Stat(filepath.Join(w.dir, "run", "selinux", "containers", id))
			if released := os.IsNotExist(err); released != tc.released {
				t.Errorf("MCS pair released in the end: %v, want %v", released, tc.released)
			}
			if _, err := os.Stat(inflight.Path(filepath.Join(w.dir, "run"), id)); !os.IsNotExist(err) {
				t.Errorf("release lock left: %v", err)
			}
			if len(w.rec.launches) != 1 || w.rec.launches[0].Verb != "delete" {
				t.Fatalf("short record: %+v", w.rec.launches)
			}
		})
	}
}
