package policy

import (
	"fmt"
	"path/filepath"
)

// The [seccomp] section is owned by libhardening/seccomp.

// SeccompMode chooses where the container's seccomp filter comes from.
type SeccompMode string

const (
	// SeccompGenerated builds a minimal profile from the container's spec.
	SeccompGenerated SeccompMode = "generated"
	// SeccompProfile loads the file named by the profile field.
	SeccompProfile SeccompMode = "profile"
	// SeccompLearn records every syscall through the seccomp agent.
	SeccompLearn SeccompMode = "learn"
	// SeccompKeep validates and keeps the caller's profile.
	SeccompKeep SeccompMode = "keep"
	// SeccompUnconfined runs the container without a filter.
	SeccompUnconfined SeccompMode = "unconfined"
)

// Seccomp chooses the container's seccomp filter.
type Seccomp struct {
	// Mode: "generated" (default: a minimal profile built from the
	// container's spec), "profile" (the file named by Profile, from the
	// profiles directory's seccomp/), "learn" (record every syscall and
	// allow it), "keep" (validate and keep what the caller sent, still
	// denying unconfined), or "unconfined" (no filter at all).
	Mode SeccompMode `toml:"mode"`
	// AttackSurface is the strict control for the syscalls the generated
	// profile cuts beyond Docker's default because they expose kernel
	// attack surface (namespaces, mounts, keyrings, eBPF, perf,
	// userfaultfd, io_uring, ptrace and other processes' memory, modules,
	// kexec, legacy LDT/TLS, vmsplice): enforce denies them (EPERM), audit
	// allows and logs them (SCMP_ACT_LOG; the kernel's audit records are
	// collected at delete), off allows what Docker's default allows.
	AttackSurface ControlMode `toml:"attack_surface"`
	// Strict is the strict control for the syscalls Docker allows that
	// ordinary servers rarely call (message queues, futex2, pkeys,
	// readahead, sync_file_range, ...): enforce denies them, audit allows
	// and logs them, off allows them as Docker does.
	Strict ControlMode `toml:"strict"`
	// OnRequest is what happens when the engine explicitly asked for no
	// filter (`docker run --security-opt seccomp=unconfined`, read from
	// Docker's hostconfig.json) and mode is not "unconfined": deny refuses
	// the launch, drop applies the profile's filter and records that.
	OnRequest OnRequest `toml:"on_request"`
	// Profile is a file name under <profiles>/seccomp/ (Docker-format JSON).
	Profile string `toml:"profile"`
	// CompatArches allows the 32-bit sub-architectures (x86, x32); off by
	// default because they bypass argument filters.
	CompatArches bool `toml:"compat_arches"`
	// Allow and Deny adjust the generated profile by syscall name.
	Allow []string `toml:"allow"`
	Deny  []string `toml:"deny"`
	// LearnSocket is the seccomp agent's socket for mode "learn".
	LearnSocket string `toml:"learn_socket"`
}

func (s *Seccomp) validate() error {
	if err := oneOf("seccomp.mode", string(s.Mode), string(SeccompGenerated), string(SeccompProfile),
		string(SeccompLearn), string(SeccompKeep), string(SeccompUnconfined)); err != nil {
		return err
	}
	if err := s.AttackSurface.validate("seccomp.attack_surface"); err != nil {
		return err
	}
	if err := s.Strict.validate("seccomp.strict"); err != nil {
		return err
	}
	if err := s.OnRequest.validate("seccomp.on_request"); err != nil {
		return err
	}
	if s.Mode == SeccompProfile && s.Profile == "" {
		return fmt.Errorf("field seccomp.profile: required with mode \"profile\" (a file under <profiles>/seccomp/)")
	}
	if s.Profile != "" && s.Profile != filepath.Base(s.Profile) {
		return fmt.Errorf("field seccomp.profile: %q: a file name under <profiles>/seccomp/, not a path", s.Profile)
	}
	// Empty means <run_dir>/seccomp-learn.sock.
	if s.LearnSocket != "" && !filepath.IsAbs(s.LearnSocket) {
		return fmt.Errorf("field seccomp.learn_socket: %q: an absolute path", s.LearnSocket)
	}
	return nil
}
