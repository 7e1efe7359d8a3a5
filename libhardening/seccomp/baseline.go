package seccomp

import (
	"slices"
	"strings"
)

// The runc baselines: what runc init calls between loading the filter and
// execve of the container's process, measured with strace over the init's
// whole thread group (20 launches each, busybox bundle, x86_64, kernel 6.18):
//
//	runc 1.1.5 (Debian 12), NNP on:  9 syscalls
//	runc 1.1.5,             NNP off: 24 (finalizeNamespace runs after the load)
//	runc 1.5.2,             NNP on:  12
//	runc 1.5.2,             NNP off: 28
//
// The Go runtime set (goRuntime) is merged into every baseline: those calls
// come from other threads and signal handlers and show up only now and then.
var (
	runc11NNP = []string{
		"close", "epoll_ctl", "execve", "fstatfs", "futex", "getdents64", "getpid", "openat", "write",
	}
	runc11NoNNP = []string{
		"capget", "capset", "chdir", "faccessat2", "fcntl", "fstat", "getcwd", "getppid",
		"newfstatat", "prctl", "read", "setgid", "setgroups", "setuid",
	}
	runc15NNP = []string{
		"close", "execve", "fcntl", "fstat", "fstatfs", "futex", "getdents64", "openat",
		"openat2", "statx", "write",
	}
	runc15NoNNP = []string{
		"capget", "capset", "chdir", "close_range", "epoll_ctl", "faccessat2", "getcwd", "getpid",
		"getppid", "newfstatat", "prctl", "read", "setgid", "setgroups", "setuid", "tgkill",
	}
	// execFallbacks covers the other ways a runc may start the process or
	// close descriptors, so a point release that switches (execveat for
	// the exec fifo trick, close_range vs a /proc/self/fd walk) does not
	// break every container.
	execFallbacks = []string{"execveat", "close_range", "getdents64", "fstat", "newfstatat", "statx", "read", "fcntl"}
)

// Baseline is the set of syscalls the lower runc needs after loading the
// filter, for its version and the container's noNewPrivileges.
type Baseline struct {
	// Key is the runc series the set was derived for: "1.1", "1.5", or
	// "union" when the version is unknown and every measured set is merged.
	Key      string
	Syscalls []string
}

// RuncBaseline returns the baseline for a runc version ("1.1.5",
// "1.1.5+ds1", "1.5.2"; "" when unknown) and noNewPrivileges. Unknown
// versions get the union of every measured set, which is safe but larger.
func RuncBaseline(version string, noNewPrivileges bool) Baseline {
	var key string
	var sets [][]string
	switch series(version) {
	case "1.0", "1.1":
		key, sets = "1.1", [][]string{runc11NNP}
		if !noNewPrivileges {
			sets = append(sets, runc11NoNNP)
		}
	case "1.5":
		key, sets = "1.5", [][]string{runc15NNP}
		if !noNewPrivileges {
			sets = append(sets, runc15NoNNP)
		}
	default:
		key, sets = "union", [][]string{runc11NNP, runc11NoNNP, runc15NNP, runc15NoNNP}
	}
	sets = append(sets, goRuntime, execFallbacks)
	return Baseline{Key: key, Syscalls: union(sets...)}
}

// series returns "major.minor" of a runc version string.
func series(version string) string {
	version = strings.TrimPrefix(version, "v")
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// union returns the sorted, de-duplicated union of the lists.
func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
