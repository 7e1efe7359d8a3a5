package userns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// startIn runs sleep under unshare(1) with args and returns its pid once
// it is in its final namespaces.
func startIn(t *testing.T, args ...string) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) not installed")
	}
	cmd := exec.Command("unshare", append(args, "sleep", "60")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	// unshare execs sleep once its namespaces are set up.
	for i := 0; i < 200; i++ {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); filepath.Base(exe) == "sleep" {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("unshare %v did not exec sleep", args)
	return 0
}

// TestInspectJoinsOwnership is issue 16 bug 2: ownership is the kernel's
// answer for each namespace, not a guess from the process it was reached
// through. The "pause" process is in its own user namespace; its network
// namespace was created before, in the host's (as containerd creates a
// CNI netns); its IPC namespace was created in its user namespace.
func TestInspectJoinsOwnership(t *testing.T) {
	// unshare -n creates the netns as host root, then the inner unshare
	// creates the user namespace and, owned by it, an IPC namespace.
	pause := startIn(t, "--net", "--", "unshare", "--user", "--map-root-user", "--ipc")
	ns := func(typ string) string { return fmt.Sprintf("/proc/%d/ns/%s", pause, typ) }
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: "pid"}, {Type: "mount"},
		{Type: "network", Path: ns("net")},
		{Type: "ipc", Path: ns("ipc")},
		{Type: "uts", Path: ns("uts")},
	}}}
	j, err := inspectJoins(s)
	if err != nil {
		t.Fatal(err)
	}
	if j.UsernsPath != ns("user") || j.Explicit {
		t.Fatalf("joined user namespace %q (explicit %v), want the pause process's, implied", j.UsernsPath, j.Explicit)
	}
	want := map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: true, specs.UTSNamespace: true}
	for _, typ := range joinable {
		if j.Foreign[typ] != want[typ] {
			t.Errorf("%s: foreign = %v, want %v", typ, j.Foreign[typ], want[typ])
		}
	}
	// The forensic note shows the real mapping (unshare -r maps 0 to
	// host root), not what a spec claims.
	if j.Mapping.HostUID != 0 || j.Mapping.Size != 1 {
		t.Errorf("mapping %s, want the real 0:0:1", j.Mapping)
	}
	if got := describeMapping(j, []specs.LinuxIDMapping{{HostID: 1048576, Size: 65536}}); !strings.Contains(got, "real mapping") || !strings.Contains(got, "ignored") {
		t.Errorf("note %q does not show the real mapping next to the claimed one", got)
	}
}

// TestInspectJoinsExplicitHostOwned: a user namespace given by path is
// read through its process; joining one whose process is in the host's
// user namespace is denied.
func TestInspectJoinsExplicitHost(t *testing.T) {
	host := startIn(t, "--net")
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: "user", Path: fmt.Sprintf("/proc/%d/ns/user", host)},
	}}}
	if _, err := inspectJoins(s); err == nil || !strings.Contains(err.Error(), "host's user namespace") {
		t.Fatalf("err = %v, want the host's user namespace denied", err)
	}
}

// startMapped runs sleep in a new user namespace mapping 0-65535 to host
// uid and gid ranges (written by the Go runtime as root).
func startMapped(t *testing.T, uid, gid uint32) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: writes uid_map")
	}
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(uid), Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(gid), Size: 65536}},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// TestJoinedUsernsPath is bypass #5: a user namespace joined by path is
// judged by its real mapping, read from the namespace: kept in a trusted
// range (with the real mapping in the spec, not the decoy), joined when it
// is a range hardened-runc allocated, denied otherwise.
func TestJoinedUsernsPath(t *testing.T) {
	sub := filepath.Join(t.TempDir(), "subid")
	os.WriteFile(sub, []byte("hardened-runc:1048576:655360\ndockremap:165536:65536\n"), 0o644)
	opts := Options{SubUIDFile: sub, SubGIDFile: sub}
	run := t.TempDir()
	a := &Allocator{Dir: filepath.Join(run, stateDirName), Alive: allAlive}
	owner, err := a.Allocate(Request{ID: "sandbox", Pool: Pool{UID: SubIDRange{Start: 1048576, Count: 655360}, GID: SubIDRange{Start: 1048576, Count: 655360}}})
	if err != nil {
		t.Fatal(err)
	}
	decoy := []specs.LinuxIDMapping{{HostID: 1 << 30, Size: 65536}}
	for _, c := range []struct {
		name     string
		uid, gid uint32
		profile  *policy.Profile
		denied   bool
	}{
		{"trusted engine range", 165536, 165536, trusting("dockremap"), false},
		{"same range, not trusted", 165536, 165536, testProfile("enabled", "deny"), true},
		{"range hardened-runc allocated", owner.HostUID, owner.HostGID, testProfile("enabled", "deny"), false},
		{"range nobody allocated", 3 << 20, 3 << 20, testProfile("enabled", "deny"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pid := startMapped(t, c.uid, c.gid)
			s := &specs.Spec{Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{}, Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"},
					{Type: "user", Path: fmt.Sprintf("/proc/%d/ns/user", pid)}},
				UIDMappings: decoy, GIDMappings: decoy,
			}}
			ctx := &modifier.Context{ContainerID: "app", Bundle: t.TempDir(), RunDir: run, Profile: c.profile, DryRun: true}
			err := NewWithOptions(c.profile.Userns, opts).Modify(ctx, s, &modifier.Report{})
			if _, denied := modifier.AsDenial(err); denied != c.denied || (err != nil && !denied) {
				t.Fatalf("err = %v, want denied=%v", err, c.denied)
			}
			if c.denied {
				return
			}
			if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != c.uid {
				t.Errorf("spec mappings %v, want the namespace's real %d", m, c.uid)
			}
			if !slices.ContainsFunc(ctx.Notes, func(n string) bool { return strings.Contains(n, "real mapping") && strings.Contains(n, "ignored") }) {
				t.Errorf("record does not show the real mapping next to the decoy: %v", ctx.Notes)
			}
		})
	}
}
