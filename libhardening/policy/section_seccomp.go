package policy

import (
	"fmt"
	"path/filepath"
)

// The [seccomp] section is owned by libhardening/seccomp.

// Seccomp chooses the container's seccomp filter.
type Seccomp struct {
	// Mode: "generated" (default: a minimal profile built from the
	// container's spec), "profile" (the file named by Profile, from the
	// profiles directory's seccomp/), "learn" (record every syscall and
	// allow it), "keep" (validate and keep what the caller sent, still
	// denying unconfined), or "unconfined" (no filter at all).
	Mode string `toml:"mode"`
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
	if err := oneOf("seccomp.mode", s.Mode, "generated", "profile", "learn", "keep", "unconfined"); err != nil {
		return err
	}
	if s.Mode == "profile" && s.Profile == "" {
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
