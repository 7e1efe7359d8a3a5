package userns

import (
	"fmt"
	"os"
	"os/exec"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// nsenter and cat read a namespace's mapping from inside it (mappingOf).
// Absolute paths: PATH is the caller's.
const (
	nsenterPath = "/usr/bin/nsenter"
	catPath     = "/bin/cat"
)

// joinPinned handles a user namespace the spec names by an nsfs file that
// an engine bind-mounted to keep it alive with no process in it
// (containerd 2.x pins a `hostUsers: false` pod's namespace at
// .../pinned-namespaces/user). The file must be a user namespace and not
// the host's; its mapping is read from the kernel through the open file,
// so the path cannot be swapped between the check and the read.
func (j *joined) joinPinned(path string, host nsID) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the user namespace at %s, which cannot be opened: %v", path, err),
			"give a path to a live user namespace (/proc/<pid>/ns/user, or an engine's bind-mounted nsfs file)")
	}
	defer f.Close()
	typ, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil || typ != unix.CLONE_NEWUSER {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the user namespace at %s, which is not a user namespace file (nsfs)", path),
			"give a path to a live user namespace (/proc/<pid>/ns/user, or an engine's bind-mounted nsfs file)")
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("user namespace %s: %w", path, err)
	}
	id := nsID{dev: st.Dev, ino: st.Ino}
	if id == host {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the host's user namespace (%s)", path),
			"remove the user namespace path, or use a profile with userns.mode = \"disabled\"")
	}
	m, err := mappingOf(f, path)
	if err != nil {
		return err
	}
	j.UsernsPath, j.Mapping, j.userns, j.Explicit = path, m, id, true
	return nil
}

// mappingOf reads the uid_map and gid_map of the user namespace open as f,
// as a process inside it sees them (the second column is then the host's
// ID). A Go process cannot join a user namespace (it has threads), so
// nsenter does, through its inherited fd 3, and cat prints its own maps.
func mappingOf(f *os.File, path string) (Mapping, error) {
	read := func(file string) ([]specs.LinuxIDMapping, error) {
		cmd := exec.Command(nsenterPath, "--user=/proc/self/fd/3", "--preserve-credentials", "--", catPath, "/proc/self/"+file)
		cmd.ExtraFiles = []*os.File{f}
		cmd.Env = []string{}
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("read the %s of user namespace %s: %w", file, path, err)
		}
		return parseIDMap(out, path+" "+file)
	}
	u, err := read("uid_map")
	if err != nil {
		return Mapping{}, err
	}
	g, err := read("gid_map")
	if err != nil {
		return Mapping{}, err
	}
	if len(u) != 1 || len(g) != 1 || u[0].ContainerID != 0 || g[0].ContainerID != 0 || u[0].Size != g[0].Size {
		return Mapping{}, modifier.Deny(ruleMode, fmt.Sprintf("the user namespace at %s has a mapping hardened-runc cannot judge (uid %s, gid %s)", path, fmtIDMap(u), fmtIDMap(g)),
			"join only user namespaces with one mapping from container ID 0, in a range the profile trusts (userns.trusted_subid_users)")
	}
	return Mapping{HostUID: u[0].HostID, HostGID: g[0].HostID, Size: u[0].Size}, nil
}

// through names how the user namespace is reached, for messages.
func (j *joined) through() string {
	if j.Pid != 0 {
		return fmt.Sprintf("pid %d", j.Pid)
	}
	return j.UsernsPath
}
