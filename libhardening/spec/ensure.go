package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The Ensure helpers make nil-safety boring and uniform: a modifier calls
// EnsureLinux(s) instead of repeating `if s.Linux == nil`.

// EnsureProcess returns s.Process, allocating it if needed.
func EnsureProcess(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	return s.Process
}

// EnsureLinux returns s.Linux, allocating it if needed.
func EnsureLinux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

// EnsureCapabilities returns p.Capabilities, allocating it if needed.
func EnsureCapabilities(p *specs.Process) *specs.LinuxCapabilities {
	if p.Capabilities == nil {
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	return p.Capabilities
}

// EnsureResources returns s.Linux.Resources, allocating it if needed.
func EnsureResources(s *specs.Spec) *specs.LinuxResources {
	l := EnsureLinux(s)
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	return l.Resources
}

// EnsureRoot returns s.Root, allocating it if needed.
func EnsureRoot(s *specs.Spec) *specs.Root {
	if s.Root == nil {
		s.Root = &specs.Root{}
	}
	return s.Root
}
