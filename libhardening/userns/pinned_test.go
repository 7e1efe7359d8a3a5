package userns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// TestJoinPinned: a user namespace kept alive only by a bind mount of its
// nsfs file (containerd 2.x's pinned-namespaces/user) is judged by its
// real mapping, read from the kernel after its last process is gone; a
// file that is not a user namespace, and the host's, are refused.
func TestJoinPinned(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command("unshare", "--user", "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	defer cmd.Process.Kill()
	dir := t.TempDir()
	pinned := filepath.Join(dir, "user")
	if err := os.WriteFile(pinned, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid)
	host, err := nsIdentity("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if id, err := nsIdentity(src); err == nil && id != host {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The mapping is written from outside, as an engine does.
	for _, f := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", cmd.Process.Pid, f), []byte("0 3000000 65536\n"), 0); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if err = unix.Mount(src, pinned, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("pin %s: %v", src, err)
	}
	defer unix.Unmount(pinned, unix.MNT_DETACH)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	var j joined
	if err := j.joinPinned(pinned, host); err != nil {
		t.Fatalf("pinned namespace: %v", err)
	}
	if want := (Mapping{HostUID: 3000000, HostGID: 3000000, Size: 65536}); j.Mapping != want || j.UsernsPath != pinned || !j.Explicit {
		t.Errorf("joined %+v, want mapping %+v at %s", j, want, pinned)
	}

	for name, path := range map[string]string{"a plain file": filepath.Join(dir, "plain"), "a network namespace": "/proc/self/ns/net", "the host's": "/proc/1/ns/user"} {
		_ = os.WriteFile(filepath.Join(dir, "plain"), nil, 0o600)
		if err := (&joined{}).joinPinned(path, host); err == nil {
			t.Errorf("%s (%s): joined", name, path)
		} else if _, ok := modifier.AsDenial(err); !ok {
			t.Errorf("%s: %v is not a denial", name, err)
		}
	}
}
