package audit

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// TestStateTakenOnlyByItsOwn: a container's audit state is collected and
// removed by the delete under the --root it was created under, or removed
// by the failed launch that wrote it; a delete under another root and the
// failed create of a duplicate ID leave it; a state written before owners
// were kept is taken by anyone, as before.
func TestStateTakenOnlyByItsOwn(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	selfStart, err := lower.ProcessStart("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	created := State{ContainerID: "c1", Root: "/run/runc", Pid: gone.Process.Pid, PidStart: 1}
	mine := State{ContainerID: "c1", Root: "/run/runc", Pid: os.Getpid(), PidStart: selfStart}
	old := State{ContainerID: "c1"}
	for _, c := range []struct {
		name    string
		st      State
		collect bool // Collect under root, else Cleanup
		verb    string
		root    string
		taken   bool
	}{
		{"delete under its root collects", created, true, "delete", "/run/runc", true},
		{"delete under another root does not collect", created, true, "delete", "/run/other", false},
		{"delete under its root cleans up", created, false, "delete", "/run/runc", true},
		{"delete under another root leaves it", created, false, "delete", "/run/other", false},
		{"a duplicate create's failure leaves it", created, false, "create", "/run/runc", false},
		{"the failed launch that wrote it removes it", mine, false, "create", "/run/runc", true},
		{"a state without an owner", old, false, "create", "/run/other", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st := c.st
			if err := st.write(dir); err != nil {
				t.Fatal(err)
			}
			if c.collect {
				if _, err := Collect(dir, "c1", c.root, time.Now()); err != nil {
					t.Fatal(err)
				}
			} else if err := (&Modifier{}).Cleanup(&modifier.Context{Verb: c.verb, ContainerID: "c1", Root: c.root, RunDir: dir}); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(statePath(dir, "c1"))
			if taken := os.IsNotExist(err); taken != c.taken {
				t.Errorf("state taken: %v, want %v", taken, c.taken)
			}
		})
	}
}
