package userns

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// A user namespace the caller brings (uidMappings/gidMappings, or a path
// to join) decides which host IDs the container's root is. The caller
// (an engine's user, a pod author) is not trusted with that choice: the
// range must be one hardened-runc allocated, or one the profile explicitly
// trusts (userns.trusted_subid_users, e.g. Docker's userns-remap
// "dockremap" entry). Mappings outside both are replaced by a range of
// our own; a path outside both is denied (a namespace cannot be replaced).

// trustedPools are the subordinate-ID entries of the profile's
// trusted_subid_users.
func (u *Modifier) trustedPools(cfg policy.Userns) ([]Pool, error) {
	if len(cfg.TrustedSubIDUsers) == 0 {
		return nil, nil
	}
	uids, err := ReadSubIDFile(u.opts.SubUIDFile)
	if err != nil {
		return nil, err
	}
	gids, err := ReadSubIDFile(u.opts.SubGIDFile)
	if err != nil {
		return nil, err
	}
	var out []Pool
	for _, name := range cfg.TrustedSubIDUsers {
		uid, uok := findSubID(uids, name)
		gid, gok := findSubID(gids, name)
		if !uok || !gok {
			// A trusted user without entries trusts nothing.
			continue
		}
		out = append(out, Pool{UID: uid, GID: gid})
	}
	return out, nil
}

// trustedCovering returns the trusted pool holding every host ID of the
// mappings.
func trustedCovering(pools []Pool, uids, gids []specs.LinuxIDMapping) (Pool, bool) {
	u, g := idRanges(uids), idRanges(gids)
	for _, p := range pools {
		if covers(p.UID, u) && covers(p.GID, g) {
			return p, true
		}
	}
	return Pool{}, false
}

func idRanges(ms []specs.LinuxIDMapping) []SubIDRange {
	out := make([]SubIDRange, 0, len(ms))
	for _, m := range ms {
		out = append(out, SubIDRange{Start: uint64(m.HostID), Count: uint64(m.Size)})
	}
	return out
}

// replaceCallerMappings drops the caller's new user namespace and its
// mappings, so Modify gives the container a range of its own.
func replaceCallerMappings(s *specs.Spec, r *modifier.Report) {
	l := spec.EnsureLinux(s)
	r.Set("linux.uidMappings", l.UIDMappings, nil, ruleMode,
		"the caller's mappings ("+fmtIDMap(l.UIDMappings)+") are not in a range hardened-runc allocated for this container nor in one the profile trusts; replaced by the container's own range", control)
	r.Set("linux.gidMappings", l.GIDMappings, nil, ruleMode, "replaced with the uid mappings", control)
	l.UIDMappings, l.GIDMappings = nil, nil
}

// keepTrusted keeps a user namespace the engine set up in a range the
// profile trusts: the engine owns that range and the rootfs it prepared
// for it. A joined namespace keeps its real mapping (read from it), which
// replaces whatever the spec claimed.
func keepTrusted(ctx *modifier.Context, s *specs.Spec, j *joined, p Pool, r *modifier.Report) {
	l := spec.EnsureLinux(s)
	if j != nil && j.UsernsPath != "" {
		if want := j.Mapping.uidMappings(); fmtIDMap(l.UIDMappings) != fmtIDMap(want) || fmtIDMap(l.GIDMappings) != fmtIDMap(j.Mapping.gidMappings()) {
			r.Set("linux.uidMappings", l.UIDMappings, want, ruleMode, "the joined user namespace's real mapping, read from pid "+fmt.Sprint(j.Pid), control)
			r.Set("linux.gidMappings", l.GIDMappings, j.Mapping.gidMappings(), ruleMode, "the joined user namespace's real mapping", control)
			l.UIDMappings, l.GIDMappings = want, j.Mapping.gidMappings()
		}
	}
	ensureMountPoints(ctx, rootPath(ctx, s), s)
	ctx.Note("userns: kept the user namespace the engine configured (uid %s, gid %s): inside %q's subordinate IDs (%d-%d), which the profile trusts (userns.trusted_subid_users); its ranges and rootfs are the engine's and are not tracked in hardened-runc's table",
		fmtIDMap(l.UIDMappings), fmtIDMap(l.GIDMappings), p.UID.Name, p.UID.Start, p.UID.End()-1)
}

// describeMapping is the forensic note for a joined namespace: what the
// kernel says, next to what the spec claimed.
func describeMapping(j *joined, claimed []specs.LinuxIDMapping) string {
	s := fmt.Sprintf("joined user namespace %s: real mapping %s", j.UsernsPath, j.Mapping)
	if len(claimed) > 0 && fmtIDMap(claimed) != fmtIDMap(j.Mapping.uidMappings()) {
		s += fmt.Sprintf(" (the spec claimed uid %s: ignored)", fmtIDMap(claimed))
	}
	return s
}

// ownRewrite reports, for `hardenctl explain`, a spec this runtime already
// rewrote for this very container: root.path is the container's idmapped
// root in this run directory and the mappings are exactly the range
// allocated for it (the table's entry for --root and id, or the range the
// allocator would hand out). A launch never takes this shortcut: a spec
// that arrives with mappings is the caller's, and hardened-runc's own
// rewrites come back through the run directory (RestoreRewrite); nor does
// audit, whose record must say what enforcing would change.
func (u *Modifier) ownRewrite(ctx *modifier.Context, cfg policy.Userns, s *specs.Spec) bool {
	explain := ctx.DryRun && !ctx.Audit
	l := s.Linux
	if !explain || s.Root == nil || l == nil || s.Root.Path != filepath.Join(containerDir(ctx.StateDir(), ctx.ContainerID), rootfsDirName) {
		return false
	}
	t, err := ReadTable(ctx.StateDir())
	if err != nil {
		return false
	}
	var m Mapping
	if e, ok := t.LookupKey(ctx.Root, ctx.ContainerID); ok {
		m = Mapping{HostUID: e.HostUID, HostGID: e.HostGID, Size: e.Size}
	} else {
		pool, err := LoadPool(u.opts.SubUIDFile, u.opts.SubGIDFile, cfg.SubIDUser)
		if err != nil {
			return false
		}
		uid, gid, err := t.pick(pool, uint64(cfg.Size))
		if err != nil {
			return false
		}
		m = Mapping{HostUID: uint32(uid.Start), HostGID: uint32(gid.Start), Size: cfg.Size}
	}
	return fmtIDMap(l.UIDMappings) == fmtIDMap(m.uidMappings()) && fmtIDMap(l.GIDMappings) == fmtIDMap(m.gidMappings())
}

// refusePoolOverlap applies where the profile disables hardened-runc's own
// user namespaces: a user namespace the caller brings is the engine's
// business there, except that it may not use hardened-runc's pool, whose
// ranges belong to other containers (two containers in one range could
// signal and read each other's processes and files).
func (u *Modifier) refusePoolOverlap(s *specs.Spec, cfg policy.Userns) error {
	n, ok := namespace(s, specs.UserNamespace)
	if !ok {
		return nil
	}
	uids, gids := spec.EnsureLinux(s).UIDMappings, spec.EnsureLinux(s).GIDMappings
	if pid, isProc := procPid(n.Path); isProc {
		if m, err := readMapping(pid); err == nil {
			uids, gids = m.uidMappings(), m.gidMappings()
		}
	}
	pool, err := LoadPool(u.opts.SubUIDFile, u.opts.SubGIDFile, cfg.SubIDUser)
	if err != nil {
		return nil
	}
	for _, r := range idRanges(uids) {
		if r.overlaps(pool.UID) {
			return modifier.Deny(ruleMode, fmt.Sprintf("the spec's user namespace (uid %s) uses hardened-runc's ID pool %d-%d, whose ranges belong to other containers", fmtIDMap(uids), pool.UID.Start, pool.UID.End()-1),
				"map the container outside the pool, or enable userns in its profile")
		}
	}
	for _, r := range idRanges(gids) {
		if r.overlaps(pool.GID) {
			return modifier.Deny(ruleMode, fmt.Sprintf("the spec's user namespace (gid %s) uses hardened-runc's ID pool %d-%d, whose ranges belong to other containers", fmtIDMap(gids), pool.GID.Start, pool.GID.End()-1),
				"map the container outside the pool, or enable userns in its profile")
		}
	}
	return nil
}
