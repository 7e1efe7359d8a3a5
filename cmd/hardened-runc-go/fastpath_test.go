package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
)

// TestFastPath checks the pass-through fast path end to end, both halves
// together: the Go side records a decision, and the C program then
// execs the lower runtime before the Go runtime starts. "Before the Go
// runtime starts" is observed, not assumed: with GODEBUG=inittrace=1 every
// Go program prints a line per package init, and a call that took the fast
// path prints none.
func TestFastPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fast path records into " + fastpath.Dir)
	}
	dir := t.TempDir()
	bin := buildSelf(t, dir)
	lower := writeLower(t, dir, "lower", "one")
	config := filepath.Join(dir, "config.toml")
	toml := "runtime = \"" + lower + "\"\nrun_dir = \"" + dir + "/run\"\nforensics_dir = \"" + dir + "/forensics\"\n"
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	pathEnv := "/usr/sbin:/usr/bin:/sbin:/bin"
	// A second config names its runtime, to be looked up in PATH.
	byName := filepath.Join(dir, "by-name.toml")
	toml = strings.Replace(toml, lower, "hr-test-lower", 1)
	if err := os.WriteFile(byName, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	early, late := filepath.Join(dir, "early"), filepath.Join(dir, "late")
	os.Mkdir(early, 0o755)
	os.Mkdir(late, 0o755)
	writeLower(t, late, "hr-test-lower", "late")
	namePath := early + ":" + late + ":/usr/bin:/bin"
	t.Cleanup(func() {
		for _, k := range []string{fastpath.Key(config, pathEnv), fastpath.Key(config, "/bin"), fastpath.Key(byName, namePath)} {
			os.Remove(filepath.Join(fastpath.Dir, k))
		}
	})
	// Files younger than fastpath.MinAge are not recorded.
	time.Sleep(fastpath.MinAge + 100*time.Millisecond)

	env := []string{"HARDENED_RUNC_CONFIG=" + config, "PATH=" + pathEnv, "GODEBUG=inittrace=1"}
	run := func(t *testing.T, extraEnv []string, args ...string) (out string, fast bool) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string(nil), env...), extraEnv...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hardened-runc %v: %v\n%s", args, err, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), !strings.Contains(stderr.String(), "init ")
	}

	if _, fast := run(t, nil, "state", "c1"); fast {
		t.Fatal("the first call took the fast path before anything was recorded")
	}
	if _, err := os.Stat(filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv))); err != nil {
		t.Fatalf("the first state call recorded nothing: %v", err)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		fast bool
	}{
		{"state", nil, []string{"state", "c1"}, true},
		{"list", nil, []string{"list", "--format", "json"}, true},
		{"ps", nil, []string{"ps", "c1", "-ef"}, true},
		{"events", nil, []string{"events", "--stats", "c1"}, true},
		{"pause", nil, []string{"pause", "c1"}, true},
		{"resume", nil, []string{"resume", "c1"}, true},
		{"features", nil, []string{"features"}, true},
		{"global flags as engines send them", nil, []string{"--root", "/run/x", "--log", "/dev/null", "--log-format", "json", "--systemd-cgroup", "state", "c1"}, true},
		{"global flags with =", nil, []string{"--root=/run/x", "-log-format=json", "state", "c1"}, true},
		{"-- before the verb", nil, []string{"--root", "/run/x", "--", "state", "c1"}, true},
		{"verb help", nil, []string{"state", "--help"}, true},
		{"a container named state", nil, []string{"kill", "state", "KILL"}, false},
		{"--root takes the verb-looking value", nil, []string{"--root", "state", "c1"}, false},
		{"create is never fast", nil, []string{"create", "--help"}, false},
		{"exec is never fast", nil, []string{"exec", "--help"}, false},
		{"--debug logs, so it goes to Go", nil, []string{"--debug", "state", "c1"}, false},
		{"an unknown global flag", nil, []string{"--new-flag", "state", "c1"}, false},
		{"a bool flag with a value", nil, []string{"--systemd-cgroup=true", "state", "c1"}, false},
		{"--version prints our version", nil, []string{"--version"}, false},
		{"switched off", []string{"HARDENED_RUNC_NO_FASTPATH=1"}, []string{"state", "c1"}, false},
		{"another PATH has no record yet", []string{"PATH=/bin"}, []string{"state", "c1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, fast := run(t, tc.env, tc.args...)
			if fast != tc.fast {
				t.Errorf("fast path taken = %v, want %v", fast, tc.fast)
			}
			// Both paths must exec the same lower runtime with the
			// same arguments.
			// (--version prints hardened-runc's own line first.)
			if want := "one " + strings.Join(tc.args, " "); !strings.HasSuffix(out, want) {
				t.Errorf("lower runtime saw %q, want %q", out, want)
			}
		})
	}

	// Each of these invalidates the record: the call goes to the Go side,
	// which still runs the right lower runtime.
	t.Run("record writable by others", func(t *testing.T) {
		rec := filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv))
		if err := os.Chmod(rec, 0o622); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(rec, 0o600)
		if out, fast := run(t, nil, "state", "c1"); fast || out != "one state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"one state c1\"", fast, out)
		}
	})
	t.Run("config edited", func(t *testing.T) {
		now := time.Now()
		if err := os.Chtimes(config, now, now); err != nil {
			t.Fatal(err)
		}
		if out, fast := run(t, nil, "state", "c1"); fast || out != "one state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"one state c1\"", fast, out)
		}
	})
	t.Run("runtime looked up in PATH", func(t *testing.T) {
		e := []string{"HARDENED_RUNC_CONFIG=" + byName, "PATH=" + namePath}
		if out, fast := run(t, e, "state", "c1"); fast || out != "late state c1" {
			t.Fatalf("first call: fast=%v out=%q", fast, out)
		}
		if out, fast := run(t, e, "state", "c1"); !fast || out != "late state c1" {
			t.Errorf("second call: fast=%v out=%q, want the fast path and \"late state c1\"", fast, out)
		}
		// A runc that appears earlier in PATH is what the Go side
		// would pick now; the record must not send the call elsewhere.
		writeLower(t, early, "hr-test-lower", "early")
		if out, fast := run(t, e, "state", "c1"); fast || out != "early state c1" {
			t.Errorf("after shadowing: fast=%v out=%q, want the Go side and \"early state c1\"", fast, out)
		}
	})
	t.Run("Go side replaced", func(t *testing.T) {
		// A new hardened-runc-go may decide differently.
		now := time.Now()
		if err := os.Chtimes(filepath.Join(dir, fastpath.GoName), now, now); err != nil {
			t.Fatal(err)
		}
		if out, fast := run(t, nil, "state", "c1"); fast || out != "one state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"one state c1\"", fast, out)
		}
	})
	t.Run("Go side missing", func(t *testing.T) {
		goSide := filepath.Join(dir, fastpath.GoName)
		if err := os.Rename(goSide, goSide+".away"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(goSide+".away", goSide)
		logFile := filepath.Join(dir, "log.json")
		cmd := exec.Command(bin, "--log", logFile, "--log-format", "json", "create", "c1")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 127 || !strings.Contains(string(out), "hardened-runc: cannot run "+goSide) {
			t.Errorf("without its Go side: %v %q, want exit 127 and one line naming it", err, out)
		}
		// And where engines read runc's errors, in their format.
		var entry struct{ Level, Msg string }
		data, _ := os.ReadFile(logFile)
		if json.Unmarshal(data, &entry) != nil || entry.Level != "error" || !strings.Contains(entry.Msg, "cannot run "+goSide) {
			t.Errorf("--log %s: %q, want one error entry naming the Go side", logFile, data)
		}
	})
	t.Run("lower runtime replaced", func(t *testing.T) {
		next := writeLower(t, dir, "lower.new", "two")
		if err := os.Rename(next, lower); err != nil {
			t.Fatal(err)
		}
		if out, fast := run(t, nil, "state", "c1"); fast || out != "two state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"two state c1\"", fast, out)
		}
	})
}

// writeLower writes a stand-in lower runtime that prints tag and its
// arguments.
func writeLower(t *testing.T, dir, name, tag string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+tag+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fastPathSetup builds hardened-runc into dir and writes a config naming
// lower, with its run and forensics directories under dir; it returns the
// binary, the config and the PATH to call it with, once every file is old
// enough for the fast path to record.
func fastPathSetup(t *testing.T, dir, lower string) (bin, config, pathEnv string) {
	t.Helper()
	bin = buildSelf(t, dir)
	config = filepath.Join(dir, "config.toml")
	toml := "runtime = \"" + lower + "\"\nrun_dir = \"" + dir + "/run\"\nforensics_dir = \"" + dir + "/forensics\"\n"
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	pathEnv = "/usr/sbin:/usr/bin:/sbin:/bin"
	t.Cleanup(func() { os.Remove(filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv))) })
	time.Sleep(fastpath.MinAge + 100*time.Millisecond)
	return bin, config, pathEnv
}

// buildSelf builds hardened-runc (the C program, as make build does) and
// this Go side beside it into dir, and returns hardened-runc's path.
func buildSelf(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hardened-runc")
	cc := "musl-gcc"
	if _, err := exec.LookPath(cc); err != nil {
		cc = "cc"
	}
	if out, err := exec.Command(cc, "-O2", "-static", "-Wall", "-Wextra", "-Werror", "-o", bin, "../hardened-runc/main.c").CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cc, err, out)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, fastpath.GoName), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// buildHelper builds hardened-runc-delete into dir, as make build does
// (without cgo).
func buildHelper(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, fastpath.DeleteHelperName)
	build := exec.Command("go", "build", "-tags", "netgo osusergo", "-o", bin, "../hardened-runc-delete")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDeleteHelperByHand: the delete helper refuses to run without a
// started runtime of its own to finish, whatever the environment claims.
func TestDeleteHelperByHand(t *testing.T) {
	bin := buildHelper(t, t.TempDir())
	for _, env := range []string{"", fastpath.StartedEnv + "=1:/usr/sbin/runc", fastpath.StartedEnv + "=garbage"} {
		cmd := exec.Command(bin, "delete", "c1")
		cmd.Env = []string{env}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "hardened-runc-delete: ") || !strings.Contains(string(out), "not run by hand") {
			t.Errorf("with %q: %v, %s; want exit 1 and one line saying why", env, err, out)
		}
	}
}

// TestDeleteFastPaths checks delete's fast paths end to end. Once the Go
// side has recorded the decision, a delete of a container that holds
// nothing of hardened-runc's is spooled and exec'd by the C program,
// the Go runtime never starting; any other delete
// is started by the C program (the lower runtime's parent is
// hardened-runc, where an exec'd one would be hardened-runc itself), and
// the Go side records it and waits: the delete helper where one is
// installed beside hardened-runc, else hardened-runc's own. Either way the
// lower runtime runs exactly once and its exit status is passed on, and
// every call is recorded.
func TestDeleteFastPaths(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fast path records into " + fastpath.Dir)
	}
	dir := t.TempDir()
	lower := filepath.Join(dir, "lower")
	script := "#!/bin/sh\necho \"$$ $PPID $*\" >> " + filepath.Join(dir, "calls") + "\nexit 3\n"
	if err := os.WriteFile(lower, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	bin, config, pathEnv := fastPathSetup(t, dir, lower)
	root := filepath.Join(dir, "state")

	const (
		goPath  = "the Go side"
		spooled = "spooled"
		started = "started"
		helper  = "started beside the delete helper (split)"
	)
	// call runs one delete and says which path ran it.
	call := func(t *testing.T, args ...string) string {
		t.Helper()
		os.Remove(filepath.Join(dir, "calls"))
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HARDENED_RUNC_CONFIG=" + config, "PATH=" + pathEnv, "GODEBUG=inittrace=1"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("hardened-runc %v: %v, want the lower runtime's exit status 3\n%s", args, err, stderr.String())
		}
		data, err := os.ReadFile(filepath.Join(dir, "calls"))
		if err != nil {
			t.Fatal(err)
		}
		// Without --root the Go side also asks the lower runtime for
		// its version and features, to find its default root.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if strings.Contains(l, " delete ") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			t.Fatalf("the lower runtime's delete ran %d times: %q", len(lines), data)
		}
		var self, parent int
		fields := strings.SplitN(lines[0], " ", 3)
		if _, err := fmt.Sscanf(lines[0], "%d %d", &self, &parent); err != nil || len(fields) != 3 {
			t.Fatalf("lower runtime's line %q", lines[0])
		}
		if got := fields[2]; got != strings.Join(args, " ") {
			t.Errorf("the lower runtime saw %q, want %q", got, strings.Join(args, " "))
		}
		pid := cmd.Process.Pid
		switch {
		case parent == pid && strings.Contains(stderr.String(), "init ") && !strings.Contains(stderr.String(), "libseccomp"):
			// The same pid, a Go runtime without libseccomp linked.
			return helper
		case parent == pid:
			return started
		case self != pid:
			t.Fatalf("lower runtime pid %d, parent %d: neither is hardened-runc (%d)", self, parent, pid)
		case strings.Contains(stderr.String(), "init "):
			return goPath
		}
		return spooled
	}

	del := []string{"--root", root, "delete", "--force", "c1"}
	if got := call(t, del...); got != goPath {
		t.Fatalf("the first delete: %s, want %s (nothing recorded yet)", got, goPath)
	}
	n := 1
	for _, tc := range []struct {
		name  string
		setup string // a directory to create under dir first
		args  []string
		want  string
	}{
		{"nothing held", "", del, spooled},
		{"without --force", "", []string{"--root", root, "delete", "c2"}, spooled},
		{"the lower runtime has the container, nothing held", "state/c1", del, spooled},
		{"without --root", "", []string{"delete", "c1"}, spooled},
		{"an ID range held", "run/userns/c3", []string{"--root", root, "delete", "c3"}, started},
		{"an MCS pair held", "run/selinux/containers/c4", []string{"--root", root, "delete", "c4"}, started},
		{"flags after the ID", "", []string{"--root", root, "delete", "c1", "--force"}, started},
		{"an ID runc refuses", "", []string{"--root", root, "delete", "c/1"}, started},
	} {
		n++
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != "" {
				if err := os.MkdirAll(filepath.Join(dir, tc.setup), 0o700); err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(filepath.Join(dir, tc.setup))
			}
			if got := call(t, tc.args...); got != tc.want {
				t.Errorf("%v: %s, want %s", tc.args, got, tc.want)
			}
		})
	}
	// With the delete helper installed beside hardened-runc, the next
	// recording names it, and a started delete is handed to it.
	buildHelper(t, dir)
	time.Sleep(fastpath.MinAge + 100*time.Millisecond)
	os.Remove(filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv)))
	if got := call(t, del...); got != goPath {
		t.Fatalf("the delete that records the helper: %s, want %s", got, goPath)
	}
	n++
	for _, setup := range []string{"run/userns/c3", "run/selinux/containers/c4"} {
		os.MkdirAll(filepath.Join(dir, setup), 0o700)
		if got := call(t, "--root", root, "delete", filepath.Base(setup)); got != helper {
			t.Errorf("a delete holding %s: %s, want %s", setup, got, helper)
		}
		n++
		os.RemoveAll(filepath.Join(dir, setup))
	}
	// The helper records a split delete after hardened-runc has
	// returned, holding the container's release lock (as hardenctl does,
	// the count waits for it). Every call is on the chain once the spool
	// is folded (by this Go-path call, whose own record comes last).
	if pending, err := inflight.WaitAll(filepath.Join(dir, "run"), 10*time.Second); err != nil || len(pending) > 0 {
		t.Fatalf("releases still in flight: %v %v", pending, err)
	}
	if got := call(t, append([]string{"--debug"}, del...)...); got != goPath {
		t.Fatalf("--debug: %s, want %s", got, goPath)
	}
	n++
	files, _ := filepath.Glob(filepath.Join(dir, "forensics", "records-*.ndjson"))
	records := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		records += strings.Count(string(data), `"verb":"delete"`)
	}
	if records != n {
		t.Errorf("%d delete records for %d calls", records, n)
	}
}

// TestSpooledVerbs checks start and kill's fast path end to end: once the
// Go side has recorded the decision, the C program appends the call's
// facts to the forensic spool, syncs them and execs the lower runtime, the
// Go runtime never starting; the next Go-path record puts the spooled
// facts on the chain as records that say who called.
func TestSpooledVerbs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fast path records into " + fastpath.Dir)
	}
	dir := t.TempDir()
	lower := writeLower(t, dir, "lower", "one")
	bin, config, pathEnv := fastPathSetup(t, dir, lower)
	forensicsDir := filepath.Join(dir, "forensics")
	run := func(t *testing.T, extraEnv []string, args ...string) (fast bool) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append([]string{"HARDENED_RUNC_CONFIG=" + config, "PATH=" + pathEnv, "GODEBUG=inittrace=1"}, extraEnv...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hardened-runc %v: %v\n%s", args, err, stderr.String())
		}
		if want := "one " + strings.Join(args, " "); strings.TrimSpace(stdout.String()) != want {
			t.Errorf("lower runtime saw %q, want %q", stdout.String(), want)
		}
		return !strings.Contains(stderr.String(), "init ")
	}
	spooled := func() int {
		data, _ := os.ReadFile(filepath.Join(forensicsDir, "SPOOL"))
		return strings.Count(string(data), "\n")
	}

	if run(t, nil, "kill", "c1", "KILL") {
		t.Fatal("the first kill took the fast path before anything was recorded")
	}
	calls := [][]string{
		{"kill", "c1", "KILL"},
		{"--root", "/run/x", "--log", "/dev/null", "kill", "--all", "c 2", "TERM"},
		{"start", "c3"},
		// Everything the spool's encoding must carry: its separators,
		// escapes, control characters, non-ASCII.
		{"kill", "c%=,: \n\t\x01é", "TERM"},
	}
	for _, args := range calls {
		if !run(t, nil, args...) {
			t.Errorf("%v did not take the fast path", args)
		}
	}
	if n := spooled(); n != len(calls) {
		t.Fatalf("%d lines spooled, want %d", n, len(calls))
	}
	// A verb's --help touches nothing and is not recorded: not spooled.
	for _, args := range [][]string{{"kill", "--help"}, {"start", "-h"}} {
		if run(t, nil, args...) {
			t.Errorf("%v took the fast path", args)
		}
	}
	if n := spooled(); n != len(calls) {
		t.Fatalf("%d lines spooled after the help calls, want %d", n, len(calls))
	}
	// A Go-path record folds the spool into the chain, in front of its own.
	if run(t, []string{"HARDENED_RUNC_NO_FASTPATH=1"}, "kill", "c4") {
		t.Fatal("the fast path was taken while switched off")
	}
	if n := spooled(); n != 0 {
		t.Errorf("%d lines still spooled after a record was appended", n)
	}
	files, _ := filepath.Glob(filepath.Join(forensicsDir, "records-*.ndjson"))
	if len(files) != 1 {
		t.Fatalf("record files %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		Seq         uint64   `json:"seq"`
		Verb        string   `json:"verb"`
		Argv        []string `json:"argv"`
		ContainerID string   `json:"container_id"`
		Spool       string   `json:"spool"`
		Lower       struct{ Path string }
		Caller      struct {
			PID       int      `json:"pid"`
			Exe       string   `json:"exe"`
			Cmdline   []string `json:"cmdline"`
			Ancestors []string `json:"ancestors"`
		}
	}
	var recs []record
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	wantIDs := []string{"c1", "c1", "c 2", "c3", "c%=,: \n\t\x01é", "c4"}
	if len(recs) != len(wantIDs) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(wantIDs), data)
	}
	self, _ := os.Executable()
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.ContainerID != wantIDs[i] || r.Lower.Path != lower {
			t.Errorf("record %d: seq %d, container %q, lower %q; want %d, %q, %q", i, r.Seq, r.ContainerID, r.Lower.Path, i+1, wantIDs[i], lower)
		}
		if fromSpool := i >= 1 && i <= len(calls); (r.Spool != "") != fromSpool {
			t.Errorf("record %d: spool id %q, want one only for the fast path's calls", i, r.Spool)
		}
		if i >= 1 && i <= len(calls) && strings.Join(r.Argv, " ") != strings.Join(calls[i-1], " ") {
			t.Errorf("record %d: argv %q, want %q", i, r.Argv, calls[i-1])
		}
		if r.Caller.PID != os.Getpid() || r.Caller.Exe != self || len(r.Caller.Cmdline) == 0 || len(r.Caller.Ancestors) == 0 {
			t.Errorf("record %d: caller %+v, want this test process (%d, %s) and its ancestors", i, r.Caller, os.Getpid(), self)
		}
	}
}
