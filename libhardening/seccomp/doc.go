// Package seccomp owns linux.seccomp: it generates a minimal profile for each
// container from the container's own (already hardened) spec, loads the
// per-workload profiles admins drop into <profiles>/seccomp/, validates every
// profile against libseccomp before runc sees it, and writes the profile of
// learning mode (seccomp user notification) and the profiles learned from it.
// The agent that records what a workload really calls lives in the learn
// subpackage, which only hardenctl imports.
//
// Every profile hardened-runc hands to runc has the runc baseline merged in:
// the syscalls the lower runc makes between loading the filter and execve of
// the container's process, which differ by runc version and by
// noNewPrivileges (see baseline.go).
package seccomp
