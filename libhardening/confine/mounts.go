package confine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// MountsModifier denies bind mounts that hand the container the host
// (engine sockets, host procfs, writable system directories), extra proc and
// sysfs mounts and shared propagation, and adds nosuid,nodev to bind mounts.
type MountsModifier struct{}

// Mounts returns the "mounts" control.
func Mounts() *MountsModifier { return &MountsModifier{} }

// Name implements modifier.Modifier.
func (*MountsModifier) Name() string { return "mounts" }

// Modify implements modifier.Modifier. Every denial names the mount as
// "source → destination".
func (*MountsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	p, err := profile(ctx)
	if err != nil {
		return err
	}
	if s.Linux != nil && isShared(s.Linux.RootfsPropagation) && !p.Mounts.AllowSharedPropagation {
		return deny("mounts.allow_shared_propagation",
			fmt.Sprintf("linux.rootfsPropagation %q propagates the container's mounts to the host", s.Linux.RootfsPropagation),
			fix(ctx, "set mounts.allow_shared_propagation = true"), ctlPropagation)
	}
	// The engine sockets present on the host, resolved once per spec.
	var socks []string
	if slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool { return isBind(&m) }) {
		socks = existingSockets(p.Mounts.EngineSockets)
	}
	for i := range s.Mounts {
		mt := &s.Mounts[i]
		if err := checkMount(ctx, p, mt, socks); err != nil {
			return err
		}
		if isBind(mt) {
			hardenBind(p, mt, r)
		}
	}
	return nil
}

func checkMount(ctx *modifier.Context, p *policy.Profile, mt *specs.Mount, socks []string) error {
	name := mountName(mt)
	if !p.Mounts.AllowSharedPropagation && slices.ContainsFunc(mt.Options, isShared) {
		return deny("mounts.allow_shared_propagation",
			fmt.Sprintf("mount %s has shared propagation: its mounts reach the host", name),
			fix(ctx, "set mounts.allow_shared_propagation = true"), ctlPropagation)
	}
	dst := path.Clean(mt.Destination)
	if (mt.Type == "proc" && dst != "/proc") || (mt.Type == "sysfs" && dst != "/sys") {
		if !slices.Contains(p.Mounts.AllowKernelFS, dst) {
			return deny("mounts.allow_kernel_fs",
				fmt.Sprintf("extra %s mount %s: only the container's own /proc and /sys are allowed", mt.Type, name),
				fix(ctx, "add %q to mounts.allow_kernel_fs", dst), ctlKernelFS)
		}
	}
	if !isBind(mt) {
		return nil
	}
	return checkBindSource(ctx, p, mt, name, socks)
}

func checkBindSource(ctx *modifier.Context, p *policy.Profile, mt *specs.Mount, name string, socks []string) error {
	src := mt.Source
	if !filepath.IsAbs(src) && ctx.Bundle != "" {
		src = filepath.Join(ctx.Bundle, src)
	}
	srcs := hostPaths(src)
	for _, hp := range srcs {
		if matchAny(p.Mounts.AllowSources, hp) != "" {
			return nil
		}
	}
	allowFix := fix(ctx, "add %q to mounts.allow_sources", filepath.Clean(src))
	for _, hp := range srcs {
		if pat := matchAny(p.Mounts.DenySources, hp); pat != "" {
			ctl := ctlSockets
			if under(hp, "/proc") {
				ctl = ctlKernelFS
			}
			return deny("mounts.deny_sources",
				fmt.Sprintf("bind mount %s: %s matches %q (read-only does not help: sockets still connect)", name, hp, pat),
				allowFix, ctl)
		}
		if sock := socketBeneath(socks, hp); sock != "" {
			return deny("mounts.engine_sockets",
				fmt.Sprintf("bind mount %s exposes the container-engine socket %s", name, sock),
				allowFix, ctlSockets)
		}
	}
	if isReadonly(mt) {
		return nil
	}
	for _, hp := range srcs {
		if pat := matchAny(p.Mounts.DenyWritableSources, hp); pat != "" {
			return deny("mounts.deny_writable_sources",
				fmt.Sprintf("writable bind mount %s of a sensitive host path (%q)", name, pat),
				fmt.Sprintf("mount it read-only (add \"ro\"), or %s", allowFix), ctlSensitive)
		}
	}
	return nil
}

// existingSockets returns the engine sockets that exist on the host, each
// under its own path and its symlink-resolved one.
func existingSockets(socks []string) []string {
	var out []string
	for _, sock := range socks {
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		for _, hp := range hostPaths(sock) {
			if !slices.Contains(out, hp) {
				out = append(out, hp)
			}
		}
	}
	return out
}

// socketBeneath returns the first engine socket at or beneath dir ("" if
// none): binding /run or /var/run read-only still hands the container
// /run/docker.sock.
func socketBeneath(socks []string, dir string) string {
	for _, s := range socks {
		if under(s, dir) {
			return s
		}
	}
	return ""
}

// hardenBind adds nosuid and nodev to a bind mount: setuid binaries and
// device nodes from a host directory must not work inside. A device path the
// profile allows (devices.allow) keeps working without nodev.
func hardenBind(p *policy.Profile, mt *specs.Mount, r *modifier.Report) {
	want := []string{"nosuid", "nodev"}
	if matchAny(p.Devices.Allow, filepath.Clean(mt.Source)) != "" {
		want = []string{"nosuid"}
	}
	add := missing(mt.Options, want)
	drop := slices.ContainsFunc(mt.Options, func(o string) bool { return o == "suid" || o == "dev" })
	if len(add) == 0 && !drop {
		return
	}
	before := slices.Clone(mt.Options)
	opts, _ := filter(mt.Options, func(o string) bool { return o != "suid" && o != "dev" })
	if opts == nil {
		opts = []string{}
	}
	mt.Options = append(opts, add...)
	r.Set("mounts["+path.Clean(mt.Destination)+"].options", before, slices.Clone(mt.Options), "mounts",
		"bind mounts get nosuid,nodev: no setuid binaries or device nodes from the host", ctlSensitive)
}

func mountName(mt *specs.Mount) string {
	src := mt.Source
	if src == "" {
		src = mt.Type
	}
	return src + " → " + mt.Destination
}

func isBind(mt *specs.Mount) bool {
	return mt.Type == "bind" || hasOption(mt.Options, "bind") || hasOption(mt.Options, "rbind")
}

// isReadonly reports whether the last of ro/rw in the options is ro, as
// runc applies them in order.
func isReadonly(mt *specs.Mount) bool {
	ro := false
	for _, o := range mt.Options {
		switch o {
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	return ro
}

func isShared(o string) bool { return o == "shared" || o == "rshared" }
