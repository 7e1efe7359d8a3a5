package wrapper

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// An exec without -p asks the lower runtime for no_new_privs when the
// container has it: crun builds the exec'd process from the flags alone.
// A caller's own --no-new-privs is left as it is.
func TestExecKeepsNoNewPrivs(t *testing.T) {
	w := newWorld(t)
	w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	w.running(t, "c1")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"exec", "c1", "cat", "/proc/self/status"}, []string{"exec", "--no-new-privs", "c1", "cat", "/proc/self/status"}},
		{[]string{"exec", "--no-new-privs", "c1", "id"}, []string{"exec", "--no-new-privs", "c1", "id"}},
	} {
		w.exec.calls = 0
		// The fake exec returns, so the run "fails" after handing over.
		w.run(append([]string{"--root", w.root}, c.args...)...)
		if w.exec.calls != 1 {
			t.Fatalf("%v: lower runtime called %d times, stderr %s", c.args, w.exec.calls, w.stderr.String())
		}
		got := w.exec.argv[len(w.exec.argv)-len(c.want):]
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v: lower runtime got %v, want ... %v", c.args, w.exec.argv, c.want)
		}
	}
}

// exec finds the container's hardened spec through the lower runtime's
// state (package lower), as runc (state.json, the bundle in a label) and
// crun (status, the bundle as a field) write it: the spec's no_new_privs
// is then passed on. Without state it checks against the profile alone.
func TestExecFindsContainerThroughLowerState(t *testing.T) {
	for _, c := range []struct {
		name, file, state string
		found             bool
	}{
		{"runc", "state.json", `{"config":{"labels":["bundle=%s"]}}`, true},
		{"crun", "status", `{"pid": 1, "bundle": "%s", "rootfs": "rootfs"}`, true},
		{"none", "", "", false},
	} {
		w := newWorld(t)
		w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
		if c.file != "" {
			dir := filepath.Join(w.root, "c1")
			must(t, os.MkdirAll(dir, 0o700))
			must(t, os.WriteFile(filepath.Join(dir, c.file), fmt.Appendf(nil, c.state, w.bundle), 0o600))
		}
		w.exec.calls = 0
		w.run("--root", w.root, "exec", "c1", "id")
		if w.exec.calls != 1 {
			t.Fatalf("%s: lower runtime called %d times, stderr %s", c.name, w.exec.calls, w.stderr.String())
		}
		if got := slices.Contains(w.exec.argv, "--no-new-privs"); got != c.found {
			t.Errorf("%s: exec argv %v, --no-new-privs passed on = %v, want %v", c.name, w.exec.argv, got, c.found)
		}
	}
}
