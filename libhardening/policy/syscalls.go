package policy

// AttackSurfaceSyscalls are what the generated profile denies beyond
// Docker's default under seccomp.attack_surface, whatever capabilities the container keeps:
// namespace and mount manipulation, kernel keyrings, eBPF, perf,
// userfaultfd and io_uring (the syscalls most kernel exploits of the last
// years went through), process inspection of other processes, module and
// kexec loading, host-global administration, and legacy or niche entry
// points with a record of kernel bugs that no ordinary server calls. clone
// and personality are handled by argument rules.
func AttackSurfaceSyscalls() []string {
	return []string{
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
		// legacy and niche entry points with a record of kernel bugs:
		// epoll_*_old were never implemented on x86_64; 32-bit TLS and LDT
		// (CVE-2015-5157, CVE-2017-17053); remap_file_pages (deprecated,
		// emulated); vmsplice (CVE-2008-0600 and the pipe-buffer family);
		// memfd_secret; name_to_handle_at (half of "shocker");
		// process_mrelease and get_robust_list reach into another process;
		// fanotify_mark is useless without fanotify_init.
		"epoll_ctl_old", "epoll_wait_old", "get_thread_area", "set_thread_area", "modify_ldt",
		"remap_file_pages", "vmsplice", "memfd_secret", "name_to_handle_at", "process_mrelease",
		"get_robust_list", "fanotify_mark",
	}
}

// StrictSyscalls are syscalls Docker allows that ordinary container workloads
// rarely call, governed by seccomp.strict: legacy entry points glibc and
// musl no longer use (futimesat, the old signalfd and eventfd), new or niche
// interfaces (futex2, cachestat, memory protection keys, POSIX and System V
// message queues, io_pgetevents, tee), and knobs a container seldom turns
// (I/O priority, fsuid, clock adjustment, queued signals, readahead,
// sync_file_range). The default profile leaves them to Docker's default
// (strict = "off"): postgres' checkpointer needs sync_file_range, V8 the
// pkey calls, libaio io_pgetevents. A profile learns which of them an image
// calls under strict = "audit", and `hardenctl image profile` cuts the rest
// under strict = "enforce".
func StrictSyscalls() []string {
	return []string{
		"futimesat", "signalfd", "eventfd",
		"futex_requeue", "futex_wait", "futex_wake", "futex_waitv", "cachestat", "io_pgetevents",
		"pkey_alloc", "pkey_free", "pkey_mprotect", "tee",
		"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
		"msgctl", "msgget", "msgrcv", "msgsnd",
		"adjtimex", "clock_adjtime", "setfsuid", "setfsgid", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
		"sched_rr_get_interval", "ioprio_get", "ioprio_set", "readahead", "sync_file_range",
	}
}
