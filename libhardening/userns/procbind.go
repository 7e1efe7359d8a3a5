package userns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// foreignProc makes /proc work for a container that joins another
// container's PID namespace but cannot share its user namespace. A user
// namespace may only mount procfs for a PID namespace it owns, so runc's
// proc mount would fail; the joined container's own /proc is the same PID
// namespace's procfs, so it is bound instead (runc accepts a bind of a
// procfs at /proc, and masks and read-only paths go on top as usual).
//
// It is what makes pods start on runc 1.1 under containerd 1.6: app
// containers join the sandbox's PID, IPC, UTS and network namespaces, and
// runc 1.1 joins a user namespace before the others, so an app container
// cannot be in the sandbox's user namespace and also join the CNI network
// namespace the host's user namespace owns; it gets a user namespace of its
// own, and the sandbox's PID namespace is foreign to it.
//
// The sandbox's own /proc is in its mount namespace, which a bind mount
// cannot reach (EINVAL), so hardened-runc mounts a procfs of that PID
// namespace in the container's directory, as host root, right before runc
// runs, and runc binds that. Only a procfs mounted from inside a PID
// namespace shows it, so nsenter joins it (for its child) and mount(8)
// mounts. The host's PID namespace, or one not reached through a process,
// is still denied.
func foreignProc(ctx *modifier.Context, s *specs.Spec, j *joined, r *modifier.Report) error {
	n, ok := namespace(s, specs.PIDNamespace)
	deny := func(why string) error {
		return modifier.Deny(ruleMode, "a container in a user namespace cannot mount /proc for a PID namespace its user namespace does not own ("+why+")",
			`set userns.mode = "disabled" in a profile for this workload, or give it its own PID namespace`)
	}
	if !ok || n.Path == "" || j.Host[specs.PIDNamespace] {
		return deny("the host's PID namespace")
	}
	if _, ok := procPid(n.Path); !ok {
		return deny(n.Path + " is not reached through a process")
	}
	// The namespace judged now is the one whose procfs is mounted later:
	// its identity is kept, not its path (the pid in the path could be
	// reused meanwhile by a process of another namespace, the host's).
	want, err := nsIdentity(n.Path)
	if err != nil {
		return deny(err.Error())
	}
	if host, err := nsIdentity("/proc/self/ns/pid"); err != nil || host == want {
		return deny("the host's PID namespace")
	}
	src := filepath.Join(containerDir(ctx.StateDir(), ctx.ContainerID), procDirName)
	nsPath := n.Path
	ctx.Effect(func(ctx *modifier.Context, _ *specs.Spec, _ *modifier.Report) error {
		ctx.BeforeExec = append(ctx.BeforeExec, func() error { return mountProcOf(nsPath, want, src) })
		return nil
	})
	for i, m := range s.Mounts {
		if m.Type != "proc" || filepath.Clean(m.Destination) != "/proc" {
			continue
		}
		b := specs.Mount{Destination: "/proc", Type: "bind", Source: src, Options: []string{"bind", "nosuid", "noexec", "nodev"}}
		r.Set("mounts[/proc]", m, b, ruleMode,
			fmt.Sprintf("the joined PID namespace (%s) is owned by another user namespace, which alone may mount its procfs: bind that container's /proc instead", n.Path), "")
		s.Mounts[i] = b
	}
	return nil
}

// procDirName is where a joined PID namespace's procfs is mounted in the
// container's directory.
const procDirName = "proc"

// mountPath is mount(8), absolute: PATH is the caller's.
const mountPath = "/bin/mount"

// mountProcOf mounts a procfs of the PID namespace at nsPath on dir and
// checks it is the namespace want, the one judged at create.
func mountProcOf(nsPath string, want nsID, dir string) error {
	if err := os.Mkdir(dir, 0o555); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("userns: %w", err)
	}
	cmd := exec.Command(nsenterPath, "--pid="+nsPath, "--", mountPath, "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", dir)
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("userns: procfs of the PID namespace %s: %v: %s", nsPath, err, out)
	}
	if err := sameProcfs(dir, want); err != nil {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		return fmt.Errorf("userns: %w", err)
	}
	return nil
}

// sameProcfs checks that dir is a procfs mount of the PID namespace want:
// its PID 1 is in that namespace.
func sameProcfs(dir string, want nsID) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not a procfs", dir)
	}
	got, err := nsIdentity(filepath.Join(dir, "1", "ns", "pid"))
	if err != nil || got != want {
		return fmt.Errorf("the procfs at %s is not of the PID namespace judged at create", dir)
	}
	return nil
}

// ExecUnjoinable names a namespace of the running container that a lower
// runtime of this version cannot join for `exec`: runc before 1.2 joins the
// container's user namespace first and then lacks the privilege to join a
// namespace another user namespace owns (a pod's CNI network namespace, its
// sandbox's PID namespace). pid is asked for only for such a runc, so an
// exec on a current runc (the liveness-probe hot path) reads nothing more.
// It reports false when the exec can go ahead, or when it cannot tell (the
// lower runtime's own error then stands).
func ExecUnjoinable(version string, pid func() int) (string, bool) {
	if !joinsUserFirst(version) {
		return "", false
	}
	p := pid()
	if p <= 0 {
		return "", false
	}
	own, err := nsIdentity(fmt.Sprintf("/proc/%d/ns/user", p))
	if err != nil {
		return "", false
	}
	for _, t := range []string{"net", "ipc", "uts", "pid", "cgroup", "mnt"} {
		owner, err := ownerOf(fmt.Sprintf("/proc/%d/ns/%s", p, t))
		if err == nil && owner != own {
			return t, true
		}
	}
	return "", false
}
