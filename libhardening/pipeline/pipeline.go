// Package pipeline assembles the hardening pipeline: the ordered list of
// modifiers that hardened-runc runs on every container. Reading New is
// reading the policy's order of operations.
package pipeline

import (
	"github.com/hardened-runc/hardened-runc/libhardening/apparmor"
	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/seccomp"
	"github.com/hardened-runc/hardened-runc/libhardening/selinux"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// New returns the modifiers for profile p, in the order they must run;
// each is built with the part of the profile it enforces.
//
// The order matters:
//   - fields and hooks before anything else: they judge the spec as the
//     engine wrote it (every field classified, unknown keys, hook
//     executables) and only deny;
//   - confinement next: namespaces (others depend on which are private),
//     then capabilities (read by seccomp and AppArmor), no-new-privileges
//     (read by the seccomp baseline), rootfs, paths, mounts, devices,
//     sysctls, process and cgroups (which also refuses a cgroupsPath
//     naming a cgroup that holds other processes);
//   - the user namespace after namespaces and rootfs: it reads which
//     namespaces are private and whether the root is read-only, and
//     replaces root.path with the idmapped one;
//   - seccomp after capabilities and no-new-privileges;
//   - AppArmor and SELinux: they read the final capabilities, the
//     read-only root and the mounts;
//   - audit last: it changes nothing, and records for the controls a
//     profile audits what their evidence will need at delete (the final
//     mounts, user-ID range and seccomp filter).
//
// Modifiers only plan: what they need done on the host (the ID range, the
// idmapped root, the MCS pair, the AppArmor profile, the audit state) is
// registered as an effect, run in the same order by the runtime once the
// spec is final, and only for a launch that enforces. What releases it is
// package cleanup's list.
func New(p *policy.Profile) modifier.List {
	l := modifier.List{}
	l = append(l, confine.Modifiers(p)...)
	return append(l,
		userns.New(p.Userns),
		seccomp.New(p.Seccomp, p.Dir),
		apparmor.New(p),
		selinux.New(p),
		audit.New(p, seccomp.AuditSyscalls{}),
	)
}
