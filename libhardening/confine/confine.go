// Package confine holds the confinement controls of the hardening pipeline:
// capabilities, no-new-privileges, the read-only root filesystem, masked and
// read-only paths, namespaces, mounts, devices, sysctls, the process and
// cgroup limits. Each control is one small modifier.Modifier built with the
// profile it enforces: it reads its own section of it, fixes the spec where
// policy can be met by tightening it, and denies the launch where tightening
// would silently change what the caller explicitly asked for (a host
// namespace, an engine socket, a privileged container, a host device).
//
// The package also checks what `runc exec` and `runc update` ask for
// (ModifyProcess, CheckExecFlags, ClampResources, ClampUpdateFlags), so an
// exec'd process or a resource update never gets more than the container.
package confine

import (
	"fmt"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Modifiers returns the confinement controls of profile p, each built with
// it, in the order they must run:
// fields and hooks first, on the spec as the engine wrote it (they only
// deny, and what later controls add must not be mistaken for the caller's
// request); then namespaces (other controls, e.g. sysctls and mounts, depend on which
// namespaces are private), capabilities before anything that reads them or
// that would hide a privileged spec (paths adds masked paths, devices rewrites
// device rules; the seccomp and MAC modifiers should also run after
// capabilities for the same reason).
func Modifiers(p *policy.Profile) []modifier.Modifier {
	return []modifier.Modifier{
		Fields(p),
		Hooks(p),
		Namespaces(p),
		Capabilities(p),
		NoNewPrivileges(p),
		Rootfs(p),
		Paths(p),
		Mounts(p),
		Devices(p),
		Sysctls(p),
		Process(p),
		Cgroups(p),
	}
}

// External controls named in every Change and Denial.
const (
	ctlCaps        = "CIS Docker 5.3; PSS baseline/restricted: capabilities"
	ctlPrivileged  = "CIS Docker 5.4; PSS baseline: privileged"
	ctlNNP         = "CIS Docker 5.25; PSS restricted: allowPrivilegeEscalation"
	ctlRootfs      = "CIS Docker 5.12"
	ctlPaths       = "PSS baseline: procMount"
	ctlSysRO       = "CIS Docker 5.4 (read-only /sys and cgroupfs)"
	ctlSockets     = "CIS Docker 5.31"
	ctlSensitive   = "CIS Docker 5.5; PSS baseline: hostPath volumes"
	ctlPropagation = "CIS Docker 5.19"
	ctlDevices     = "CIS Docker 5.17"
	ctlSysctls     = "PSS baseline: sysctls"
	ctlRlimits     = "CIS Docker 5.18"
	ctlCwd         = "CVE-2024-21626"
	ctlNonRoot     = "PSS restricted: runAsNonRoot; CIS Docker 5.23"
	ctlPids        = "CIS Docker 5.28"
	ctlMemory      = "CIS Docker 5.10"
	ctlCPU         = "CIS Docker 5.11"
	ctlKernelFS    = "CIS Docker 5.4; PSS baseline: procMount"
	ctlExecPriv    = "CIS Docker 5.22"
)

// deny builds a policy denial naming the external control.
func deny(rule, reason, fixText, control string) error {
	d := modifier.Deny(rule, reason, fixText)
	d.Control = control
	return d
}

// fix formats the "to allow" half of a Denial.
func fix(ctx *modifier.Context, format string, args ...any) string {
	return fmt.Sprintf(format, args...) + fmt.Sprintf(" in profile %q", profileName(ctx))
}

func profileName(ctx *modifier.Context) string {
	if ctx == nil {
		return policy.DefaultProfile
	}
	if ctx.ProfileName != "" {
		return ctx.ProfileName
	}
	return policy.DefaultProfile
}
