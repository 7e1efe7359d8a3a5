package policy

// AppArmor and SELinux are owned by libhardening/apparmor and
// libhardening/selinux.

// AppArmor selects the container's AppArmor profile.
type AppArmor struct {
	// Mode: "if-available" (default: confine where AppArmor is enabled,
	// record that it is not elsewhere), "required" (deny the launch where
	// it is not enabled) or "off".
	Mode string `toml:"mode"`
	// Template is a file under <profiles>/apparmor/ (default
	// "default.tmpl"); Profile names an already-loaded profile instead.
	Template string `toml:"template"`
	Profile  string `toml:"profile"`
}

func (a *AppArmor) validate() error {
	return oneOf("apparmor.mode", a.Mode, "if-available", "required", "off")
}

// SELinux sets the container's SELinux labels.
type SELinux struct {
	// Mode: "if-available", "required" or "off", as for AppArmor.
	Mode string `toml:"mode"`
	// Type is the process type (default container_t).
	Type string `toml:"type"`
}

func (s *SELinux) validate() error {
	return oneOf("selinux.mode", s.Mode, "if-available", "required", "off")
}
