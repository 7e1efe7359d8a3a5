package confine

import (
	"fmt"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// RootfsModifier makes the root filesystem read-only and gives the paths
// the profile lists a small writable tmpfs, so ordinary images still start.
// Under rootfs.readonly = "audit" it leaves the root writable and notes
// that the writes are collected at delete (libhardening/audit).
type RootfsModifier struct{ p *policy.Profile }

// Rootfs returns the "rootfs" control of profile p.
func Rootfs(p *policy.Profile) *RootfsModifier { return &RootfsModifier{p: p} }

// Name implements modifier.Modifier.
func (*RootfsModifier) Name() string { return "rootfs" }

// Modify implements modifier.Modifier. The tmpfs mounts are added whenever
// the root is read-only under enforce or audit, also when the caller made
// it so (`runc spec` and `docker run --read-only`): they are small, noexec
// and private to the container, and without them ordinary images fail on
// their first write to /tmp. An existing mount at a listed destination (an
// engine's own tmpfs, containerd's /run, a volume) is kept.
func (m *RootfsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	switch m.p.Rootfs.Readonly {
	case policy.ControlEnforce:
		if root := spec.EnsureRoot(s); !root.Readonly {
			root.Readonly = true
			r.Set("root.readonly", false, true, "rootfs.readonly",
				"the image cannot be modified at run time; writable paths are tmpfs", ctlRootfs)
		}
	case policy.ControlAudit:
		if s.Root == nil || !s.Root.Readonly {
			ctx.Note("audit rootfs.readonly: root left writable; paths written outside tmpfs and volumes are collected at delete from the engine's writable layer")
			return nil
		}
		// The caller made the root read-only (docker run --read-only,
		// runc spec): it gets the scratch tmpfs as under enforce.
	default:
		return nil
	}
	i := tmpfsInsertIndex(s.Mounts)
	for _, dst := range m.p.Rootfs.Tmpfs {
		dst = path.Clean(dst)
		if hasMountAt(s.Mounts, dst) {
			continue
		}
		mt := specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: tmpfsOptions(m.p.Rootfs, ctx)}
		s.Mounts = slices.Insert(s.Mounts, i, mt)
		i++
		mt.Options = slices.Clone(mt.Options)
		r.Set(fmt.Sprintf("mounts[%s]", dst), nil, mt, "rootfs.tmpfs",
			"writable tmpfs on the read-only root", ctlRootfs)
	}
	return nil
}

// tmpfsOptions are the profile's options, always nosuid and nodev, and
// noexec under rootfs.tmpfs_noexec = "enforce" (an admin's explicit
// "noexec" in tmpfs_options stays whatever the control says).
func tmpfsOptions(r policy.Rootfs, ctx *modifier.Context) []string {
	out := slices.Clone(r.TmpfsOptions)
	want := []string{"nosuid", "nodev"}
	switch r.TmpfsNoexec {
	case policy.ControlEnforce:
		want = append(want, "noexec")
	case policy.ControlAudit:
		if !hasOption(out, "noexec") {
			ctx.Note("audit rootfs.tmpfs_noexec: scratch tmpfs mounts left executable (exec from them is not observable without an audit daemon)")
		}
	}
	for _, o := range want {
		if !hasOption(out, o) {
			out = append(out, o)
		}
	}
	if r.TmpfsSize != "" {
		out = append(out, "size="+r.TmpfsSize)
	}
	return out
}

func hasMountAt(mounts []specs.Mount, dst string) bool {
	return slices.ContainsFunc(mounts, func(m specs.Mount) bool { return path.Clean(m.Destination) == dst })
}

// tmpfsInsertIndex places the tmpfs mounts after the kernel filesystems
// (/proc, /dev, /sys and beneath) and before every other mount: a mount the
// engine puts beneath /run or /tmp (Kubernetes' service-account token under
// /var/run/secrets, Podman's /run/.containerenv) must stay visible on top of
// the tmpfs, and runc mounts in order.
func tmpfsInsertIndex(mounts []specs.Mount) int {
	for i, m := range mounts {
		d := path.Clean(m.Destination)
		if !under(d, "/proc") && !under(d, "/dev") && !under(d, "/sys") {
			return i
		}
	}
	return len(mounts)
}
