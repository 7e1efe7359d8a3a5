// Package seccomp owns linux.seccomp: it generates a minimal profile for each
// container from the container's own (already hardened) spec, loads the
// per-workload profiles admins drop into <profiles>/seccomp/, validates every
// profile against libseccomp before runc sees it, and records what a workload
// really calls (learning mode) through seccomp user notification.
//
// Every profile hardened-runc hands to runc has the runc baseline merged in:
// the syscalls the lower runc makes between loading the filter and execve of
// the container's process, which differ by runc version and by
// noNewPrivileges (see baseline.go).
package seccomp
