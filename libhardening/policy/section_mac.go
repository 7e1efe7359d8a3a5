package policy

import (
	"fmt"
	"path/filepath"
	"strings"
)

// AppArmor and SELinux are owned by libhardening/apparmor and
// libhardening/selinux.

// MACMode is the mode of the [apparmor] and [selinux] sections.
type MACMode string

// Modes of the [apparmor] and [selinux] sections.
const (
	// MACIfAvailable confines where the kernel enforces the LSM and
	// records that it does not elsewhere.
	MACIfAvailable MACMode = "if-available"
	// MACRequired denies the launch where the kernel does not enforce it.
	MACRequired MACMode = "required"
	// MACOff leaves the spec's labels alone.
	MACOff MACMode = "off"
)

// AppArmor selects the container's AppArmor profile.
type AppArmor struct {
	// Mode: "if-available" (default: confine where AppArmor is enabled,
	// record that it is not elsewhere), "required" (deny the launch where
	// it is not enabled) or "off".
	Mode MACMode `toml:"mode"`
	// Template is a file under <profiles>/apparmor/ (default
	// "default.tmpl"); Profile names an already-loaded profile instead.
	Template string `toml:"template"`
	Profile  string `toml:"profile"`
}

func (a *AppArmor) validate() error {
	if err := oneOf("apparmor.mode", string(a.Mode), string(MACIfAvailable), string(MACRequired), string(MACOff)); err != nil {
		return err
	}
	if t := a.Template; t != "" && (t != filepath.Base(t) || strings.HasPrefix(t, ".")) {
		return fmt.Errorf("field apparmor.template: %q must be a file name in the profiles' apparmor/ directory", t)
	}
	if strings.ContainsAny(a.Profile, " \t\n\"") {
		return fmt.Errorf("field apparmor.profile: %q is not an AppArmor profile name", a.Profile)
	}
	return nil
}

// SELinux sets the container's SELinux labels.
type SELinux struct {
	// Mode: "if-available", "required" or "off", as for AppArmor.
	Mode MACMode `toml:"mode"`
	// Type is the process type (default container_t).
	Type string `toml:"type"`
}

func (s *SELinux) validate() error {
	if err := oneOf("selinux.mode", string(s.Mode), string(MACIfAvailable), string(MACRequired), string(MACOff)); err != nil {
		return err
	}
	if s.Type != "" && !selinuxType(s.Type) {
		return fmt.Errorf("field selinux.type: %q is not an SELinux type (e.g. container_t)", s.Type)
	}
	return nil
}

// selinuxType reports whether t looks like an SELinux type: letters,
// digits and underscores, ending in _t.
func selinuxType(t string) bool {
	if !strings.HasSuffix(t, "_t") {
		return false
	}
	return strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}
