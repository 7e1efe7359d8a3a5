package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
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
		collect bool // Take under root, else Cleanup
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
				got, err := Take(dir, "c1", c.root)
				if err != nil || (got != nil) != c.taken {
					t.Fatalf("Take: %v, %v; want a state: %v", got, err, c.taken)
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

// TestStateOfALiveIDUnderAnotherRootIsKept: the create of an ID the lower
// runtime has under another root does not overwrite that container's
// audit state (its evidence); it notes that its own is not collected.
func TestStateOfALiveIDUnderAnotherRootIsKept(t *testing.T) {
	dir, live := t.TempDir(), t.TempDir()
	other := State{ContainerID: "c1", Root: live, Pid: 1, PidStart: 1, Controls: []string{RootfsReadonly}}
	if err := other.write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(live, "c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "c1", "state.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Modifier{rootfs: policy.Rootfs{Readonly: policy.ControlAudit}}
	ctx := &modifier.Context{Verb: "create", ContainerID: "c1", Root: t.TempDir(), RunDir: dir}
	if err := m.writeState(ctx, &specs.Spec{Root: &specs.Root{Path: "rootfs"}}, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	st, err := readState(dir, "c1")
	if err != nil || st == nil || st.Root != live {
		t.Fatalf("the live container's state: %+v, %v; want it kept", st, err)
	}
	if n := len(ctx.Notes); n == 0 || !strings.Contains(ctx.Notes[n-1], "also exists under --root") {
		t.Errorf("notes %q, want the last to say why no evidence is collected", ctx.Notes)
	}
}
