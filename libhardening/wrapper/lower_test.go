package wrapper

import (
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
