package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
)

var errExecuted = errors.New("fake exec")

// fakeExec records the exec instead of replacing the test process. For
// memfd paths it reads the content while the fd is still open.
type fakeExec struct {
	path  string
	argv  []string
	calls int
	fds   map[string][]byte
}

func (f *fakeExec) Exec(path string, argv []string, _ []string) error {
	f.calls++
	f.path, f.argv = path, argv
	f.fds = map[string][]byte{}
	for _, a := range argv {
		if strings.HasPrefix(a, "/proc/self/fd/") {
			f.fds[a], _ = os.ReadFile(a)
		}
	}
	return errExecuted
}

type fakeRecorder struct {
	launches []*Launch
	// err, when set, is what every Record returns (a store that fails).
	err error
}

func (f *fakeRecorder) Record(l *Launch) error {
	f.launches = append(f.launches, l)
	return f.err
}

// world is a temporary host: a config.toml, a profiles directory with a
// profile that needs no host effects, a bundle, and a fake lower runtime.
type world struct {
	dir, cfg, bundle, lower, root string
	exec                          *fakeExec
	rec                           *fakeRecorder
	stderr                        bytes.Buffer
	// started is the runtime the C program started, if any.
	started Running
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), exec: &fakeExec{}, rec: &fakeRecorder{}}
	w.bundle = filepath.Join(w.dir, "bundle")
	w.root = filepath.Join(w.dir, "state")
	w.lower = filepath.Join(w.dir, "runc")
	must(t, os.MkdirAll(filepath.Join(w.bundle, "rootfs"), 0o755))
	must(t, os.WriteFile(w.lower, []byte("#!/bin/sh\n"), 0o755))
	must(t, os.MkdirAll(filepath.Join(w.dir, "profiles"), 0o755))
	// The unit tests exercise the runtime, not the host: no user
	// namespace (mounts), no MAC loading.
	must(t, os.WriteFile(filepath.Join(w.dir, "profiles", "default.toml"),
		[]byte("[userns]\nmode = \"disabled\"\n[apparmor]\nmode = \"off\"\n[selinux]\nmode = \"off\"\n"), 0o644))
	w.cfg = filepath.Join(w.dir, "config.toml")
	w.writeConfig(t, "")
	data, err := os.ReadFile("../spec/testdata/runc-1.5-spec.json")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(w.bundle, "config.json"), data, 0o644))
	return w
}

func (w *world) writeConfig(t *testing.T, extra string) {
	body := fmt.Sprintf("runtime = %q\nprofiles_dir = %q\nforensics_dir = %q\nrun_dir = %q\n%s",
		w.lower, filepath.Join(w.dir, "profiles"), filepath.Join(w.dir, "forensics"), filepath.Join(w.dir, "run"), extra)
	must(t, os.WriteFile(w.cfg, []byte(body), 0o644))
}

func (w *world) run(args ...string) int {
	rt := &Runtime{ConfigPath: w.cfg, Self: "/proc/self/exe", Stdin: strings.NewReader(""),
		Stdout: &bytes.Buffer{}, Stderr: &w.stderr, Exec: w.exec, Pipeline: pipeline.New, Cleaners: cleanup.Cleaners, Recorder: w.rec,
		Started: w.started}
	return rt.Run(args)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateHardensThenExecsTheSameArgv(t *testing.T) {
	w := newWorld(t)
	args := []string{"--root", w.root, "create", "--bundle", w.bundle, "--pid-file", "p", "create"}
	w.run(args...)
	if w.exec.calls != 1 || w.exec.path != w.lower || strings.Join(w.exec.argv[1:], " ") != strings.Join(args, " ") {
		t.Fatalf("exec %s %v (calls %d), want %s %v; stderr %s", w.exec.path, w.exec.argv, w.exec.calls, w.lower, args, w.stderr.String())
	}
	var s specs.Spec
	data, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	must(t, json.Unmarshal(data, &s))
	if !s.Root.Readonly || !s.Process.NoNewPrivileges || s.Linux.Seccomp == nil || s.Linux.Resources.Pids == nil {
		t.Errorf("config.json not hardened: readonly=%v nnp=%v seccomp=%v", s.Root.Readonly, s.Process.NoNewPrivileges, s.Linux.Seccomp != nil)
	}
	if len(w.rec.launches) != 1 || w.rec.launches[0].Decision != Allowed || len(w.rec.launches[0].Changes) == 0 {
		t.Fatalf("forensic record: %+v", w.rec.launches)
	}
	// A second create of the bundle it rewrote starts again from the
	// caller's original, kept in the run directory (never in the spec),
	// and hardens it to the same config.json.
	w.run(args...)
	again, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	if string(again) != string(data) {
		t.Errorf("second create rewrote config.json differently")
	}
	l := w.rec.launches[1]
	orig, _ := os.ReadFile("../spec/testdata/runc-1.5-spec.json")
	if string(l.Original) != string(orig) || !slices.ContainsFunc(l.Notes, func(n string) bool { return strings.HasPrefix(n, "rerun:") }) {
		t.Errorf("second create: record's original is not the caller's, or no rerun note: %v", l.Notes)
	}
}

// TestDeniedAfterWriteRestoresConfig: a launch that fails after the
// hardened config.json was written (here: the forensic record cannot be
// stored, fail-closed) leaves config.json exactly as it came.
func TestDeniedAfterWriteRestoresConfig(t *testing.T) {
	w := newWorld(t)
	before, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	w.rec.err = errors.New("disk full")
	if code := w.run("--root", w.root, "create", "--bundle", w.bundle, "c1"); code == 0 || w.exec.calls != 0 {
		t.Fatalf("launch went ahead without a record: code %d, exec calls %d", code, w.exec.calls)
	}
	after, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	if string(after) != string(before) {
		t.Fatal("config.json left rewritten after the launch was refused")
	}
}

func TestPassThroughIgnoresBrokenPolicy(t *testing.T) {
	w := newWorld(t)
	must(t, os.WriteFile(filepath.Join(w.dir, "profiles", "default.toml"), []byte("mode = \n"), 0o644))
	for _, verb := range [][]string{{"state", "c1"}, {"kill", "c1", "9"}, {"list"}, {"ps", "c1"}, {"pause", "c1"}, {"resume", "c1"}, {"events", "c1"}} {
		w.exec.calls = 0
		w.run(append([]string{"--root", w.root}, verb...)...)
		if w.exec.calls != 1 {
			t.Errorf("%v was not passed through: %s", verb, w.stderr.String())
		}
	}
	// A malformed config.toml: the default runc from PATH is used for
	// pass-through verbs, never an error of ours.
	w.writeConfig(t, "log_level = \n")
	w.exec.calls = 0
	w.run("state", "c1")
	if w.exec.calls != 1 || filepath.Base(w.exec.path) != "runc" {
		t.Errorf("state with a malformed config.toml did not reach runc from PATH: %s %v", w.exec.path, w.exec.argv)
	}
}

func TestManagedVerbsFailClosedWithOneLogLine(t *testing.T) {
	w := newWorld(t)
	must(t, os.WriteFile(filepath.Join(w.dir, "profiles", "default.toml"), []byte("[capabilities]\nallw = []\n"), 0o644))
	logPath := filepath.Join(w.dir, "log.json")
	before, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	code := w.run("--log", logPath, "--log-format", "json", "create", "--bundle", w.bundle, "c1")
	after, _ := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	if code == 0 || w.exec.calls != 0 || !bytes.Equal(before, after) {
		t.Fatalf("code %d, exec calls %d, config changed %v", code, w.exec.calls, !bytes.Equal(before, after))
	}
	line := strings.TrimSpace(w.stderr.String())
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "hardened-runc: container c1: ") || !strings.Contains(line, "default.toml:2") {
		t.Errorf("stderr %q", line)
	}
	data, _ := os.ReadFile(logPath)
	var entry struct{ Level, Msg string }
	must(t, json.Unmarshal(bytes.TrimSpace(data), &entry))
	if entry.Level != "error" || entry.Msg != line {
		t.Errorf("--log entry %+v, want level error and msg %q", entry, line)
	}
}

func TestRefusesToExecItself(t *testing.T) {
	w := newWorld(t)
	self, err := os.Executable()
	must(t, err)
	link := filepath.Join(w.dir, "runc-link")
	must(t, os.Link(self, link))
	w.writeConfig(t, "")
	must(t, os.WriteFile(w.cfg, bytes.Replace(mustRead(t, w.cfg), []byte(w.lower), []byte(link), 1), 0o644))
	rt := &Runtime{ConfigPath: w.cfg, Self: self, Stdout: &bytes.Buffer{}, Stderr: &w.stderr, Exec: w.exec, Pipeline: pipeline.New, Cleaners: cleanup.Cleaners, Recorder: w.rec}
	if code := rt.Run([]string{"state", "x"}); code == 0 || w.exec.calls != 0 || !strings.Contains(w.stderr.String(), "itself") {
		t.Fatalf("code %d calls %d stderr %s", code, w.exec.calls, w.stderr.String())
	}
}

func mustRead(t *testing.T, p string) []byte {
	data, err := os.ReadFile(p)
	must(t, err)
	return data
}

// running makes the fake lower runtime's state for container id point at
// the world's bundle, as runc's state.json does.
func (w *world) running(t *testing.T, id string) {
	dir := filepath.Join(w.root, id)
	must(t, os.MkdirAll(dir, 0o700))
	st := fmt.Sprintf(`{"config":{"labels":["bundle=%s"]}}`, w.bundle)
	must(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(st), 0o600))
}

func TestExecPrivilegedProcessIsClamped(t *testing.T) {
	w := newWorld(t)
	w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	w.running(t, "c1")
	all := []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_KILL", "CAP_CHOWN"}
	proc := specs.Process{Args: []string{"sh"}, Cwd: "/", Capabilities: &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}}
	data, _ := json.Marshal(proc)
	pfile := filepath.Join(w.dir, "process.json")
	must(t, os.WriteFile(pfile, data, 0o600))
	w.run("--root", w.root, "exec", "--process", pfile, "--detach", "c1")
	var got string
	for i, a := range w.exec.argv {
		if a == "--process" && i+1 < len(w.exec.argv) {
			got = w.exec.argv[i+1]
		}
	}
	if !strings.HasPrefix(got, "/proc/self/fd/") {
		t.Fatalf("--process not substituted: %v; stderr %s", w.exec.argv, w.stderr.String())
	}
	var hardened specs.Process
	must(t, json.Unmarshal(w.exec.fds[got], &hardened))
	for _, c := range hardened.Capabilities.Effective {
		if c == "CAP_SYS_ADMIN" || c == "CAP_NET_ADMIN" {
			t.Errorf("exec kept %s", c)
		}
	}
	if !hardened.NoNewPrivileges {
		t.Errorf("exec process without noNewPrivileges")
	}
	if !bytes.Equal(mustRead(t, pfile), data) {
		t.Errorf("the caller's process.json was edited in place")
	}
	// Flags that would raise the process are denied, not rewritten.
	w.exec.calls = 0
	if code := w.run("--root", w.root, "exec", "--cap", "CAP_SYS_ADMIN", "c1", "sh"); code == 0 || w.exec.calls != 0 {
		t.Errorf("exec --cap CAP_SYS_ADMIN was not denied")
	}
}

func TestUpdateClampsAndRefuses(t *testing.T) {
	w := newWorld(t)
	w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	w.running(t, "c1")
	w.exec.calls = 0
	if code := w.run("--root", w.root, "update", "--pids-limit", "-1", "c1"); code == 0 || w.exec.calls != 0 {
		t.Fatalf("removing the pids limit was not refused")
	}
	w.run("--root", w.root, "update", "--memory", "100g", "c1")
	joined := strings.Join(w.exec.argv, " ")
	if w.exec.calls != 1 || strings.Contains(joined, "100g") || !strings.Contains(joined, "--memory-swap") {
		t.Fatalf("update --memory 100g not clamped: %v; stderr %s", w.exec.argv, w.stderr.String())
	}
}

func TestAuditModeChangesNothing(t *testing.T) {
	w := newWorld(t)
	must(t, os.WriteFile(filepath.Join(w.dir, "profiles", "default.toml"), []byte("mode = \"audit\"\n[userns]\nmode = \"disabled\"\n"), 0o644))
	before := mustRead(t, filepath.Join(w.bundle, "config.json"))
	w.run("create", "--bundle", w.bundle, "c1")
	if !bytes.Equal(before, mustRead(t, filepath.Join(w.bundle, "config.json"))) {
		t.Errorf("audit mode wrote config.json")
	}
	l := w.rec.launches[0]
	if w.exec.calls != 1 || l.Decision != Audited || len(l.Changes) == 0 {
		t.Errorf("audit: exec calls %d, decision %s, %d changes recorded", w.exec.calls, l.Decision, len(l.Changes))
	}
}

func TestMalformedExecAndUpdateInput(t *testing.T) {
	w := newWorld(t)
	w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	w.running(t, "c1")
	bad := filepath.Join(w.dir, "bad.json")
	must(t, os.WriteFile(bad, []byte(`{"args": ["sh"], "cwd": `), 0o600))
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"exec -p malformed", []string{"exec", "--process", bad, "c1"}, "", "bad.json"},
		{"update --resources malformed file", []string{"update", "--resources", bad, "c1"}, "", "bad.json"},
		{"update --resources - malformed stdin", []string{"update", "--resources", "-", "c1"}, `{"pids": {"limit": }`, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.exec.calls = 0
			w.stderr.Reset()
			rt := &Runtime{ConfigPath: w.cfg, Self: "/proc/self/exe", Stdin: strings.NewReader(tc.stdin),
				Stdout: &bytes.Buffer{}, Stderr: &w.stderr, Exec: w.exec, Pipeline: pipeline.New, Cleaners: cleanup.Cleaners, Recorder: w.rec}
			before := mustRead(t, bad)
			code := rt.Run(append([]string{"--root", w.root}, tc.args...))
			line := strings.TrimSpace(w.stderr.String())
			if code == 0 || w.exec.calls != 0 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "hardened-runc: container c1: ") || !strings.Contains(line, tc.want) {
				t.Errorf("code %d, exec calls %d, stderr %q", code, w.exec.calls, line)
			}
			if !bytes.Equal(before, mustRead(t, bad)) {
				t.Errorf("input file changed")
			}
		})
	}
}

// TestCreateOfAnIDTheLowerRuntimeHas: a create of an ID runc already has
// under this --root is refused before anything is set up (runc would
// refuse it too), config.json is left as it came, and the refusal is
// recorded; what the live container holds (here its MCS pair) is kept.
func TestCreateOfAnIDTheLowerRuntimeHas(t *testing.T) {
	w := newWorld(t)
	must(t, os.MkdirAll(filepath.Join(w.root, "c1"), 0o700))
	writeRun(t, w, "selinux/containers/c1", "s0:c1,c2")
	before, err := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	must(t, err)
	code := w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	if code == 0 || w.exec.calls != 0 || !strings.Contains(w.stderr.String(), "container with id exists: c1") {
		t.Fatalf("status %d, exec'd %d times, stderr %q; want a refusal naming the ID", code, w.exec.calls, w.stderr.String())
	}
	after, err := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	must(t, err)
	if string(after) != string(before) {
		t.Error("config.json was changed")
	}
	if _, err := os.Stat(filepath.Join(w.dir, "run", "selinux", "containers", "c1")); err != nil {
		t.Errorf("the live container's MCS pair was released: %v", err)
	}
	if len(w.rec.launches) != 1 || w.rec.launches[0].Decision != Failed {
		t.Errorf("records %+v, want one failed launch", w.rec.launches)
	}
}

// A create whose ID is a path runc refuses ("../x") is not taken for an
// existing container: the ID names no state, and runc reports it itself.
func TestCreateOfAPathIDIsNotAnExistingContainer(t *testing.T) {
	w := newWorld(t)
	must(t, os.MkdirAll(filepath.Join(w.dir, "x"), 0o700)) // <root>/../x exists
	w.run("--root", w.root, "create", "--bundle", w.bundle, "../x")
	if strings.Contains(w.stderr.String(), "container with id exists") {
		t.Errorf("a path ID was reported as an existing container: %s", w.stderr.String())
	}
}
