package confine

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// hostTopDirs are host directories that are never a container's root
// filesystem, whatever the profile says: the root itself and the top of
// the filesystem hierarchy. Below them (a bundle in /root/b or
// /var/tmp/b) is the caller's business; these themselves are the host.
var hostTopDirs = []string{
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
	"/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
	"/usr", "/var", "/var/lib", "/var/run", "/var/tmp",
}

// isSystemPath reports whether p is a host system path: one of hostTopDirs,
// or a path the profile's deny_sources or deny_writable_sources name.
func isSystemPath(p *policy.Profile, n string) bool {
	return slices.Contains(hostTopDirs, n) ||
		matchAny(p.Mounts.DenySources, n) != "" || matchAny(p.Mounts.DenyWritableSources, n) != ""
}

// checkRoot judges root.path with the source rules of a bind mount (runc
// binds it recursively), resolved the same way (a relative path against
// the bundle), and more: it must be a directory, and never "/" or a host
// system directory, even read-only, since with an idmapped root the
// container's root would read what only host root may (bypass: root.path
// "/" or "../../..").
func (j *judge) checkRoot(s *specs.Spec, _ *modifier.Report) error {
	const rule = "root.path"
	ctx := j.ctx
	if s.Root == nil || s.Root.Path == "" {
		return deny(rule, "the spec names no root filesystem (root.path is empty)",
			"set root.path to the container's root filesystem", ctlRootfs)
	}
	what := "root.path " + s.Root.Path
	// A config.json that hardened-runc rewrote on an earlier run names
	// the idmapped root in the run directory: say so, whether or not it
	// still exists.
	if err := j.inState(spelled(s.Root.Path, ctx.Bundle), what,
		"set root.path to the bundle's own root filesystem (a config.json rewritten by an earlier run names the runtime's copy); no profile setting allows this"); err != nil {
		return err
	}
	o, err := j.tbl.Resolve(s.Root.Path, ctx.Bundle)
	if err != nil {
		return deny(rule, fmt.Sprintf("%s cannot be resolved to a host directory: %v", what, err),
			"set root.path to the container's root filesystem (relative paths are taken against the bundle)", ctlRootfs)
	}
	if !o.IsDir() {
		return deny(rule, fmt.Sprintf("%s resolves to %s, which is not a directory", what, o.Path),
			"set root.path to the container's root filesystem directory", ctlRootfs)
	}
	allowed := false
	for _, n := range o.Names() {
		allowed = allowed || matchAny(j.p.Mounts.AllowSources, n) != ""
	}
	for _, n := range o.Names() {
		if n == "/" || slices.Contains(hostTopDirs, n) || (!allowed && isSystemPath(j.p, n)) {
			fixText := "set root.path to the container's own root filesystem (no profile setting allows the host's root or a top-level host directory)"
			if !slices.Contains(hostTopDirs, n) {
				fixText = fix(ctx, "set root.path to the container's own root filesystem, or add %q to mounts.allow_sources", o.Path)
			}
			return deny(rule, fmt.Sprintf("%s is the host system directory %s", what, n), fixText, ctlRootfs)
		}
	}
	// No walk for socket files: an image cannot carry one (tar and the
	// layer formats have no socket type), a host directory that might is
	// refused above, and sockets listening beneath the root are still
	// found. Walking every image's files would cost each create
	// milliseconds.
	if err := j.check(o, use{what: what, writable: !s.Root.Readonly, recursive: true, noWalk: true}); err != nil {
		return err
	}
	j.root = o
	return nil
}

// rewriteRoot sets root.path to its canonical path where it was spelled
// through a symlink, for the reason rewriteSource gives. A relative path
// that names the same directory without symlinks is left as the engine
// wrote it.
func (j *judge) rewriteRoot(s *specs.Spec, r *modifier.Report) {
	if j.root == nil || j.root.Spelled == j.root.Path {
		return
	}
	r.Set("root.path", s.Root.Path, j.root.Path, "root.path",
		"the root's canonical path (symlinks and .. resolved): runc binds the directory that was judged", ctlRootfs)
	s.Root.Path = j.root.Path
}
