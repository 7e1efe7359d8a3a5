package seccomp

import "slices"

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

// denyList is what the generated profile denies beyond Docker's default,
// whatever capabilities the container keeps: namespace and mount
// manipulation, kernel keyrings, eBPF, perf, userfaultfd and io_uring (the
// syscalls most kernel exploits of the last years went through), process
// inspection of other processes, module and kexec loading, and host-global
// administration. clone and personality are handled by argument rules.
var denyList = []string{
	// namespaces
	"unshare", "setns",
	// mounts, old and new API
	"mount", "umount", "umount2", "pivot_root",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	// keyrings
	"keyctl", "add_key", "request_key",
	// eBPF, perf, userfaultfd, io_uring
	"bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	// other processes' memory
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
	// kernel code
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"create_module", "get_kernel_syms", "query_module",
	// file handles bypass the mount namespace (shocker)
	"open_by_handle_at",
	// host-global administration
	"acct", "swapon", "swapoff", "syslog", "reboot", "quotactl", "quotactl_fd",
	"lookup_dcookie", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl",
	"iopl", "ioperm", "settimeofday", "stime", "clock_settime", "vhangup", "fanotify_init",
}

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

// DenyList returns the syscalls every generated profile denies.
func DenyList() []string { return slices.Clone(denyList) }

// strictCuts are syscalls Docker's default allows that the generated
// profile also cuts under seccomp.strict = "enforce", on top of denyList.
// Each is either a legacy or x86-only entry point no 64-bit libc calls, or an
// interface with a record of kernel bugs and no use by ordinary servers; the
// compatibility corpus (COMPAT.md) runs with all of them cut:
//
//	epoll_ctl_old, epoll_wait_old   never implemented on x86_64 (ENOSYS)
//	get/set_thread_area, modify_ldt 32-bit TLS and LDT (CVE-2015-5157, CVE-2017-17053)
//	remap_file_pages, futimesat     deprecated, emulated
//	futex_wait/wake/requeue/waitv   futex2, unused by glibc and musl
//	cachestat, memfd_secret         new, niche
//	vmsplice                        page-cache and pipe-buffer bugs (CVE-2008-0600, Dirty Pipe's family)
//	fanotify_mark                   useless without fanotify_init (denied)
//	name_to_handle_at               half of the "shocker" file-handle pair
//	process_mrelease                reaps another process's memory
//	get_robust_list                 reads another thread's robust-futex list (an ASLR leak)
//
// Restored from earlier releases because ordinary servers call them
// (issue 13): sync_file_range (postgres' checkpointer; without it every
// checkpoint PANICs), readahead, ioprio_get/ioprio_set, signalfd, eventfd,
// the POSIX and System V message queues, tee, io_pgetevents (libaio),
// pkey_* (V8 and Node.js), adjtimex and clock_adjtime (read-only without
// CAP_SYS_TIME: ntp_gettime), setfsuid/setfsgid (file servers),
// rt_sigqueueinfo/rt_tgsigqueueinfo (sigqueue, pthread_sigqueue) and
// sched_rr_get_interval. A workload that needs a cut one gets it back with
// `allow` in its profile's [seccomp] section, or learns it under
// seccomp.strict = "audit".
var strictCuts = []string{
	"epoll_ctl_old", "epoll_wait_old", "get_thread_area", "set_thread_area", "modify_ldt",
	"remap_file_pages", "futimesat",
	"futex_requeue", "futex_wait", "futex_wake", "futex_waitv", "cachestat", "memfd_secret",
	"vmsplice", "fanotify_mark", "name_to_handle_at", "process_mrelease", "get_robust_list",
}

// StrictCuts returns every syscall seccomp.strict governs: the deny list
// and the strict cuts.
func StrictCuts() []string { return union(denyList, strictCuts) }
