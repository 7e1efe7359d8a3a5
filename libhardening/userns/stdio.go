package userns

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// PrepareStdio hands the pipes and sockets on fds 0-2 to the container's
// mapped root (uid, gid) before the runtime execs runc, as containerd's
// IoUid/IoGid does: runc's own fixStdioPermissions gives up on EPERM, and
// a process that reopens /dev/stdout or /proc/self/fd/1 (nginx, many
// entrypoints) then gets EACCES on a pipe owned by host root. Terminals,
// /dev/null and regular files are left alone: they are not the engine's to
// give away. Closed fds are skipped.
func PrepareStdio(uid, gid int) error {
	var errs []error
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			errs = append(errs, fmt.Errorf("stdio fd %d: %w", fd, err))
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFIFO, unix.S_IFSOCK:
		default:
			continue
		}
		if int(st.Uid) == uid && int(st.Gid) == gid {
			continue
		}
		if err := unix.Fchown(fd, uid, gid); err != nil {
			errs = append(errs, fmt.Errorf("stdio fd %d: fchown %d:%d: %w", fd, uid, gid, err))
		}
	}
	return errors.Join(errs...)
}

// HostRoot returns the host uid and gid of the container's root from the
// (hardened) spec's mappings; ok is false without a user namespace. The
// runtime passes them to PrepareStdio.
func HostRoot(s *specs.Spec) (uid, gid int, ok bool) {
	if s == nil || s.Linux == nil {
		return 0, 0, false
	}
	if _, ok := namespace(s, specs.UserNamespace); !ok {
		return 0, 0, false
	}
	u, uok := hostOf(s.Linux.UIDMappings, 0)
	g, gok := hostOf(s.Linux.GIDMappings, 0)
	return int(u), int(g), uok && gok
}

func hostOf(ms []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range ms {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}
