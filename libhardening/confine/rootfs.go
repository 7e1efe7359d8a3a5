package confine

import (
	"fmt"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// RootfsModifier makes the root filesystem read-only and gives the paths
// the profile lists a small writable tmpfs, so ordinary images still start.
type RootfsModifier struct{}

// Rootfs returns the "rootfs" control.
func Rootfs() *RootfsModifier { return &RootfsModifier{} }

// Name implements modifier.Modifier.
func (*RootfsModifier) Name() string { return "rootfs" }

// Modify implements modifier.Modifier. The tmpfs mounts are added whenever
// the root is read-only, also when the caller made it so (`runc spec` and
// `docker run --read-only`): they are small, noexec and private to the
// container, and without them ordinary images fail on their first write to
// /tmp. An existing mount at a listed destination (an engine's own tmpfs,
// containerd's /run, a volume) is kept.
func (*RootfsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	p, err := profile(ctx)
	if err != nil {
		return err
	}
	if !p.Rootfs.Readonly {
		return nil
	}
	root := spec.EnsureRoot(s)
	if !root.Readonly {
		root.Readonly = true
		r.Set("root.readonly", false, true, "rootfs.readonly",
			"the image cannot be modified at run time; writable paths are tmpfs", ctlRootfs)
	}
	i := tmpfsInsertIndex(s.Mounts)
	for _, dst := range p.Rootfs.Tmpfs {
		dst = path.Clean(dst)
		if hasMountAt(s.Mounts, dst) {
			continue
		}
		m := specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: tmpfsOptions(p.Rootfs.TmpfsOptions, p.Rootfs.TmpfsSize)}
		s.Mounts = slices.Insert(s.Mounts, i, m)
		i++
		m.Options = slices.Clone(m.Options)
		r.Set(fmt.Sprintf("mounts[%s]", dst), nil, m, "rootfs.tmpfs",
			"writable tmpfs on the read-only root", ctlRootfs)
	}
	return nil
}

func tmpfsOptions(opts []string, size string) []string {
	out := slices.Clone(opts)
	for _, o := range []string{"nosuid", "nodev"} {
		if !hasOption(out, o) {
			out = append(out, o)
		}
	}
	if size != "" {
		out = append(out, "size="+size)
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
