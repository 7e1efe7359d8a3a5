package confine

import (
	"os"
	"path"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// thermalThrottleGlob is the per-CPU sysfs directory Docker masks where the
// host has it (GHSA-6fw5-f8r9-fgfm): its writable files reach host hardware.
const thermalThrottleGlob = "/sys/devices/system/cpu/cpu*/thermal_throttle"

// PathsModifier adds the profile's masked and read-only paths to the
// caller's (never removing any) and makes /sys and the cgroup mount
// read-only.
type PathsModifier struct {
	// sysRoot is "/" except in tests; the thermal_throttle glob runs under it.
	sysRoot string
	p       *policy.Profile
}

// Paths returns the "paths" control of profile p.
func Paths(p *policy.Profile) *PathsModifier { return &PathsModifier{sysRoot: "/", p: p} }

// Name implements modifier.Modifier.
func (*PathsModifier) Name() string { return "paths" }

// Modify implements modifier.Modifier. A privileged container the profile
// allows keeps its unmasked /proc and writable /sys: that is what
// privileged means, and masking them would make the spec stop looking
// privileged on the next run.
func (m *PathsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if PrivilegedAllowed(m.p, s) {
		return nil
	}
	l := spec.EnsureLinux(s)
	masked := append(slices.Clone(m.p.Paths.Masked), m.thermalThrottle()...)
	if add := missing(l.MaskedPaths, masked); len(add) > 0 {
		before := slices.Clone(l.MaskedPaths)
		l.MaskedPaths = append(l.MaskedPaths, add...)
		r.Set("linux.maskedPaths", before, slices.Clone(l.MaskedPaths), "paths.masked",
			"host information and hardware interfaces hidden from the container", ctlPaths)
	}
	if add := missing(l.ReadonlyPaths, m.p.Paths.Readonly); len(add) > 0 {
		before := slices.Clone(l.ReadonlyPaths)
		l.ReadonlyPaths = append(l.ReadonlyPaths, add...)
		r.Set("linux.readonlyPaths", before, slices.Clone(l.ReadonlyPaths), "paths.readonly",
			"kernel settings under /proc are read-only (core_pattern, sysrq)", ctlPaths)
	}
	for i := range s.Mounts {
		hardenKernelFS(&s.Mounts[i], r)
	}
	return nil
}

// thermalThrottle globs the host's sysfs; it only reads, so it runs in
// DryRun as well. The result is sorted (Glob sorts) so reruns are stable.
func (m *PathsModifier) thermalThrottle() []string {
	root := m.sysRoot
	if root == "" {
		root = "/"
	}
	// Every CPU of a host has the directory or none has (it comes with the
	// thermal-throttle driver); checking cpu0 first spares a stat per CPU on
	// the common host without it.
	if _, err := os.Stat(filepath.Join(root, "/sys/devices/system/cpu/cpu0/thermal_throttle")); err != nil {
		return nil
	}
	found, _ := filepath.Glob(filepath.Join(root, thermalThrottleGlob))
	out := make([]string, 0, len(found))
	for _, f := range found {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			continue
		}
		out = append(out, "/"+filepath.ToSlash(rel))
	}
	return out
}

// hardenKernelFS makes the container's sysfs and cgroup mounts read-only
// (writable cgroupfs is the CVE-2022-0492 release_agent path, writable sysfs
// reaches host devices) and gives them and /proc nosuid,noexec,nodev, as
// Docker does (`runc spec` leaves /proc without options).
func hardenKernelFS(mt *specs.Mount, r *modifier.Report) {
	dst := path.Clean(mt.Destination)
	isProc := mt.Type == "proc" && dst == "/proc"
	isSys := mt.Type == "sysfs" && dst == "/sys"
	isCgroup := mt.Type == "cgroup" || mt.Type == "cgroup2" || (dst == "/sys/fs/cgroup" && mt.Type != "bind")
	if !isProc && !isSys && !isCgroup {
		return
	}
	add := missing(mt.Options, []string{"nosuid", "noexec", "nodev"})
	makeRO := !isProc && (!hasOption(mt.Options, "ro") || hasOption(mt.Options, "rw"))
	if len(add) == 0 && !makeRO {
		return
	}
	before := slices.Clone(mt.Options)
	opts := slices.Clone(mt.Options)
	if makeRO {
		opts, _ = filter(opts, func(o string) bool { return o != "rw" && o != "ro" })
		add = append(add, "ro")
	}
	if opts == nil {
		opts = []string{}
	}
	mt.Options = append(opts, add...)
	reason := "the container's " + mt.Type + " gets nosuid,noexec,nodev"
	ctl := ctlPaths
	if makeRO {
		reason = "the container's " + mt.Type + " is read-only (release_agent, host devices)"
		ctl = ctlSysRO
	}
	r.Set("mounts["+dst+"].options", before, slices.Clone(mt.Options), "paths.readonly", reason, ctl)
}
