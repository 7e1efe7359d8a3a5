package seccomp

import (
	"slices"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Errno values used in profiles. ENOSYS makes libcs fall back to an older
// syscall (clone3 → clone) whose arguments a filter can inspect; EPERM is the
// answer for everything the profile does not allow.
const (
	errnoEPERM  uint = 1
	errnoENOSYS uint = 38
)

// cloneNamespaceFlags is CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|
// CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET (and CLONE_NEWTIME's
// neighbour bits Docker masks too): clone is allowed only when none is set.
const cloneNamespaceFlags uint64 = 0x7E020000

// denyList and strictCuts are the policy's syscall classes
// (policy.AttackSurfaceSyscalls, policy.StrictSyscalls): the profile's
// strictness check orders seccomp.allow by them too, so they live there.
var (
	denyList   = policy.AttackSurfaceSyscalls()
	strictCuts = policy.StrictSyscalls()
)

// argumentFiltered are syscalls the generated profile allows only with an
// argument rule (clone without namespace flags, personality with Docker's
// safe values, socket for the allowed address families): an unconditional
// allow for them from any source is removed.
var argumentFiltered = []string{"clone", "personality", "socket"}

// goRuntime is what a Go program (runc init is one) may call at any moment
// from another thread or a signal handler: preemption signals, the
// scheduler, the garbage collector, the netpoller. Missing one of them makes
// a launch fail once in a few dozen runs, not every time.
var goRuntime = []string{
	"futex", "nanosleep", "clock_nanosleep", "sched_yield", "rt_sigreturn", "rt_sigprocmask",
	"rt_sigaction", "sigaltstack", "tgkill", "tkill", "gettid", "getpid", "madvise", "mmap",
	"munmap", "mprotect", "brk", "epoll_pwait", "epoll_wait", "epoll_ctl", "clock_gettime",
	"restart_syscall", "exit", "exit_group",
}

// newerThanLibseccomp lists real syscalls that libseccomp 2.5.4 (Debian 12)
// does not know yet. A profile naming one of them is not a typo: runc drops
// them silently, so they get the default action (or ENOSYS from runc's
// stub). Validate reports them as Unsupported instead of failing.
var newerThanLibseccomp = []string{
	"cachestat", "fchmodat2", "futex_requeue", "futex_wait", "futex_wake", "getxattrat",
	"listmount", "listxattrat", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
	"map_shadow_stack", "mseal", "removexattrat", "riscv_hwprobe", "setxattrat", "statmount",
	"uretprobe", "open_tree_attr", "file_getattr", "file_setattr",
}

func isNewerThanLibseccomp(name string) bool { return slices.Contains(newerThanLibseccomp, name) }

// Control names the profile field that governs a cut syscall:
// "seccomp.attack_surface", "seccomp.strict", or "" for any other.
func Control(name string) string {
	switch {
	case slices.Contains(denyList, name):
		return "seccomp.attack_surface"
	case slices.Contains(strictCuts, name):
		return "seccomp.strict"
	}
	return ""
}
