package confine

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// maxPreserveFDs bounds --preserve-fds: every fd is inspected, and no
// engine passes more than a handful.
const maxPreserveFDs = 1024

// fdInfo is what CheckPreserveFDs needs to know of one fd.
type fdInfo struct {
	open    bool
	cloexec bool
	mode    uint32 // st_mode
	target  string // readlink /proc/self/fd/N
	err     error  // fstat or readlink failed
}

// CheckPreserveFDs checks `--preserve-fds N` (value as given, "" when
// absent): runc hands the container fds 3 … 3+N-1 of its own process, so
// each must be an fd the caller really passed, and none may reach the
// host's filesystem tree. runc 1.1 with nothing open there passes its own
// fd on the host's /sys/fs/cgroup, and /proc/self/fd/3/../../.. is then
// the host's root: a directory fd is that escape whoever opened it. p is
// the session's profile, whose host system paths no fd may be on.
func CheckPreserveFDs(ctx *modifier.Context, p *policy.Profile, value string) error {
	return checkPreserveFDs(ctx, p, value, inspectFD)
}

func checkPreserveFDs(ctx *modifier.Context, p *policy.Profile, value string, inspect func(fd int) fdInfo) error {
	if value == "" {
		return nil
	}
	const rule = "process.preserve_fds"
	n, err := strconv.ParseInt(value, 0, 64)
	if err != nil || n < 0 || n > maxPreserveFDs {
		return as("process", deny(rule, fmt.Sprintf("--preserve-fds %q is not a count between 0 and %d", value, maxPreserveFDs),
			"pass --preserve-fds with the number of fds the caller really hands over", ctlCwd))
	}
	for fd := 3; fd < 3+int(n); fd++ {
		if why := badFD(ctx, p, inspect(fd)); why != "" {
			return as("process", deny(rule, fmt.Sprintf("--preserve-fds %d: fd %d %s", n, fd, why),
				"pass only open pipes, sockets, terminals or files outside host system directories (no profile setting allows this)", ctlCwd))
		}
	}
	return nil
}

// nsLink is readlink of a namespace fd ("net:[4026531840]"): joining it
// leaves the container's namespaces.
var nsLink = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(cgroup|ipc|mnt|net|pid|pid_for_children|time|time_for_children|user|uts):\[`)
})

// badFD returns why an fd may not be handed to the container under profile
// prof, "" when it may.
func badFD(ctx *modifier.Context, prof *policy.Profile, f fdInfo) string {
	switch {
	case !f.open:
		return "is not open: runc would hand the container whatever it opened there itself"
	case f.cloexec:
		// The caller's fds survived exec into hardened-runc, so they are
		// not close-on-exec; one that is was opened by hardened-runc.
		return "was not passed by the caller (it is close-on-exec): runc would hand the container one of its own"
	case f.err != nil:
		return fmt.Sprintf("cannot be inspected: %v", f.err)
	}
	switch f.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fmt.Sprintf("is the directory %s: a directory fd reaches the host's tree (..)", f.target)
	case unix.S_IFBLK:
		return fmt.Sprintf("is the block device %s", f.target)
	case unix.S_IFCHR:
		if !safeCharDevice(f.target) {
			return fmt.Sprintf("is the device %s", f.target)
		}
		return ""
	case unix.S_IFSOCK, unix.S_IFIFO:
		return ""
	}
	if nsLink().MatchString(f.target) {
		return fmt.Sprintf("is the namespace %s", f.target)
	}
	for _, a := range []string{"anon_inode:bpf", "anon_inode:[io_uring]", "anon_inode:[userfaultfd]", "anon_inode:[perf_event]", "anon_inode:[fanotify]"} {
		if strings.HasPrefix(f.target, a) {
			return fmt.Sprintf("is a kernel object the container may not use (%s)", f.target)
		}
	}
	if !strings.HasPrefix(f.target, "/") {
		return "" // other anonymous objects: eventfd, memfd, pidfd
	}
	p := strings.TrimSuffix(f.target, " (deleted)")
	for _, sp := range statePaths(ctx) {
		if under(p, sp) {
			return fmt.Sprintf("is %s, in the runtime's own state", p)
		}
	}
	if isSystemPath(prof, p) || under(p, "/proc") || under(p, "/sys") {
		return fmt.Sprintf("is %s, a file on a host system path", p)
	}
	return ""
}

// safeCharDevice: the character devices every container gets anyway, and
// terminals.
func safeCharDevice(p string) bool {
	switch p {
	case "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/console":
		return true
	}
	return strings.HasPrefix(p, "/dev/pts/")
}

// inspectFD reads an fd of this process. It only looks.
func inspectFD(fd int) fdInfo {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		return fdInfo{}
	}
	f := fdInfo{open: true, cloexec: flags&unix.FD_CLOEXEC != 0}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.err = fmt.Errorf("fstat: %w", err)
		return f
	}
	f.mode = st.Mode
	if f.target, err = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err != nil {
		f.err = err
	}
	return f
}
