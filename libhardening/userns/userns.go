// Package userns puts every container in its own user namespace with its
// own ID range, and keeps the image usable in it: the root filesystem is
// remounted idmapped (the engine's overlay replaced in place by one on
// idmapped layers, an idmapped bind mount for a plain directory) so files
// keep the image's ownership, the engine's bind mounts and named volumes get runc's idmap
// option, and the rest of the spec (sysfs, mqueue, ping_group_range) is
// fitted to the namespaces the container owns.
//
// Ranges are carved from the `hardened-runc` entry of /etc/subuid and
// /etc/subgid and recorded in <RunDir>/userns/ranges.json, under a file
// lock, before anything is mounted. Mounts live in <RunDir>/userns/<id>/
// and are removed by Cleanup (at `delete`) or by GC (after a failed create).
//
// Order in the pipeline: after the namespaces and rootfs modifiers (this one
// reads the namespace list and root.readonly), before seccomp.
package userns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// DefaultSubIDUser is the subordinate-ID entry ranges come from.
const DefaultSubIDUser = "hardened-runc"

// Options are host settings of the modifier; the zero value is the
// production configuration.
type Options struct {
	// SubUIDFile and SubGIDFile default to /etc/subuid and /etc/subgid.
	SubUIDFile, SubGIDFile string
	// Alive overrides the liveness check of GC (tests).
	Alive func(Entry) bool
}

// Modifier is the userns modifier: Modifier, ProcessModifier and Cleaner.
type Modifier struct {
	opts Options
	cfg  policy.Userns
}

var (
	_ modifier.ProcessModifier = (*Modifier)(nil)
	_ modifier.Cleaner         = (*Modifier)(nil)
)

// New returns the userns modifier for a profile's [userns] section, with
// the host's subordinate-ID files.
func New(c policy.Userns) *Modifier { return NewWithOptions(c, Options{}) }

// Cleaner returns the modifier as delete's cleaner: Cleanup reads no
// profile, so any profile's ranges and mounts are released.
func Cleaner() *Modifier { return New(policy.Userns{}) }

// NewWithOptions returns the userns modifier for c with o.
func NewWithOptions(c policy.Userns, o Options) *Modifier {
	if o.SubUIDFile == "" {
		o.SubUIDFile = DefaultSubUIDFile
	}
	if o.SubGIDFile == "" {
		o.SubGIDFile = DefaultSubGIDFile
	}
	return &Modifier{opts: o, cfg: withDefaults(c)}
}

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "userns" }

// withDefaults fills what a profile's [userns] section leaves unset.
func withDefaults(c policy.Userns) policy.Userns {
	if c.Mode == "" {
		c.Mode = policy.UsernsEnabled
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.SubIDUser == "" {
		c.SubIDUser = DefaultSubIDUser
	}
	if c.Fallback == "" {
		c.Fallback = "deny"
	}
	return c
}

func (u *Modifier) allocator(ctx *modifier.Context) *Allocator {
	dir := filepath.Join(ctx.StateDir(), stateDirName)
	// What the GC of an allocation fails to release is left for the next
	// one and `hardenctl gc`; the allocation itself goes on.
	return (&dirRetirer{dir: dir}).allocator(u.opts.Alive)
}

// Modify implements modifier.Modifier. It plans the container's user
// namespace and writes the plan into the spec; the range is allocated and
// the root mounted by the effect it registers (effect.go), which fills in
// the host IDs only the allocation can tell.
func (u *Modifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if err := refuseOwnAnnotation(s); err != nil {
		return err
	}
	cfg := u.cfg
	if cfg.Mode == policy.UsernsDisabled {
		if err := u.refusePoolOverlap(s, cfg); err != nil {
			return err
		}
		ctx.Note("userns: disabled by profile %q (userns.mode = \"disabled\"): container root is host root", ctx.ProfileName)
		return nil
	}
	if err := ValidID(ctx.ContainerID); err != nil {
		return err
	}
	trusted, err := u.trustedPools(cfg)
	if err != nil {
		return fmt.Errorf("userns: trusted_subid_users: %w", err)
	}
	replaced := false
	if hasUserMappings(s) && !hasPath(s) {
		if u.ownRewrite(ctx, cfg, s) {
			ctx.Note("userns: the spec is already hardened for this container (its range %s, root %s); kept", fmtIDMap(s.Linux.UIDMappings), s.Root.Path)
			return nil
		}
		if p, ok := trustedCovering(trusted, s.Linux.UIDMappings, s.Linux.GIDMappings); ok {
			keepTrusted(ctx, s, nil, p, r)
			return nil
		}
		replaceCallerMappings(s, r)
		replaced = true
	}
	j, err := inspectJoins(s)
	if _, denied := modifier.AsDenial(err); err != nil && !denied && ctx.DryRun {
		// explain on a spec that joins a process of another host (a CRI
		// sandbox recorded elsewhere): say so and plan as if it were
		// foreign.
		ctx.Note("userns: %v; assuming the joined namespaces are not owned by the container", err)
		j, err = foreignJoins(s), nil
	}
	if err != nil {
		return err
	}
	if t, ok := j.joinedForeign(s); ok && j.UsernsPath != "" && joinsUserFirst(ctx.Lower.Version) {
		if j.Explicit {
			return modifier.Deny(ruleMode, fmt.Sprintf("runc %s joins the user namespace %s first and then cannot join the %s namespace, which another user namespace owns", ctx.Lower.Version, j.UsernsPath, t),
				"use runc >= 1.2 as the lower runtime, or do not join that user namespace")
		}
		ctx.Note("userns: runc %s joins a user namespace before the others and could not then join the %s namespace owned by another one; the container gets its own user namespace and range instead of pid %d's", ctx.Lower.Version, t, j.Pid)
		j.ownUserns(s)
	}
	if j.UsernsPath != "" {
		ctx.Note("userns: %s", describeMapping(j, spec.EnsureLinux(s).UIDMappings))
		if p, ok := trustedCovering(trusted, j.Mapping.uidMappings(), j.Mapping.gidMappings()); ok {
			setUserNamespace(s, j.UsernsPath, j.Mapping, r)
			keepTrusted(ctx, s, j, p, r)
			return nil
		}
	}
	if j.Foreign[specs.PIDNamespace] {
		if err := foreignProc(ctx, s, j, r); err != nil {
			return err
		}
	}
	mounts, err := ctx.Mounts()
	if err != nil {
		return fmt.Errorf("userns: read the mount table: %w", err)
	}
	plan, err := planRootfs(rootPath(ctx, s), mounts, staleRecords(ctx))
	if err != nil && ctx.DryRun {
		// explain on a bundle whose rootfs is not there (yet): say what
		// would be done for a plain directory.
		ctx.Note("userns: %v; assuming a plain directory rootfs", err)
		plan, err = &rootfsPlan{Source: rootPath(ctx, s)}, nil
	}
	if err != nil && replaced {
		// The engine built the root for the caller's mapping (containerd
		// 2.x: an overlay on idmapped layers it has already unmounted),
		// so it cannot be rebuilt for a range of hardened-runc's own.
		return modifier.Deny(ruleMode, fmt.Sprintf("the caller's user namespace mapping is not in a range the profile trusts, and the root filesystem the engine prepared for it cannot be remapped (%v)", err),
			"list the engine's subordinate-ID entry (e.g. \"kubelet\" for hostUsers: false pods) in userns.trusted_subid_users")
	}
	if err != nil {
		return fmt.Errorf("userns: %w", err)
	}
	c, pool, err := u.plan(ctx, cfg, j)
	if err != nil {
		return err
	}
	w := u.rewrite(ctx, cfg, s, r, plan, c, j)
	ctx.Effect(u.effect(cfg, plan, j, pool, w))
	return nil
}

func rootPath(ctx *modifier.Context, s *specs.Spec) string {
	p := spec.EnsureRoot(s).Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(ctx.Bundle, p)
	}
	return p
}

// claim is the container's range: joined from the container whose
// namespaces it shares, or its own.
type claim struct {
	Mapping
	// UsernsPath is the joined user namespace, "" for a new one.
	UsernsPath string
}

// plan is the range the spec is written with until the effect claims it.
// explain and audit show the one the next allocation would most likely
// get, read from the table, and a joined namespace only once the table
// shows it is one hardened-runc allocated. A launch plans only the size:
// its effect allocates under the table's lock, collecting dead entries
// first, and fills in the host IDs. pool is the range's source (nil when
// joining).
func (u *Modifier) plan(ctx *modifier.Context, cfg policy.Userns, j *joined) (claim, *Pool, error) {
	if j.UsernsPath != "" {
		c := claim{Mapping: j.Mapping, UsernsPath: j.UsernsPath}
		if j.Mapping.HostUID == 0 || j.Mapping.HostGID == 0 {
			return claim{}, nil, notOurs(j)
		}
		if !ctx.DryRun {
			return c, nil, nil
		}
		t, err := ReadTable(ctx.StateDir())
		if err != nil {
			return claim{}, nil, err
		}
		if _, ok := t.Covering(idRanges(j.Mapping.uidMappings()), idRanges(j.Mapping.gidMappings())); !ok {
			return claim{}, nil, notOurs(j)
		}
		return c, nil, nil
	}
	pool, err := LoadPool(u.opts.SubUIDFile, u.opts.SubGIDFile, cfg.SubIDUser)
	if err != nil {
		return claim{}, nil, fmt.Errorf("userns: %w", err)
	}
	if pool.Builtin {
		ctx.Note("userns: no %q entry in %s/%s; using the built-in pool %d-%d (see docs/userns.md)",
			cfg.SubIDUser, u.opts.SubUIDFile, u.opts.SubGIDFile, pool.UID.Start, pool.UID.End()-1)
	}
	if !ctx.DryRun {
		return claim{Mapping: Mapping{Size: cfg.Size}}, &pool, nil
	}
	t, err := ReadTable(ctx.StateDir())
	if err != nil {
		return claim{}, nil, err
	}
	uid, gid, err := t.pick(pool, uint64(cfg.Size))
	if err != nil {
		return claim{}, nil, err
	}
	return claim{Mapping: Mapping{HostUID: uint32(uid.Start), HostGID: uint32(gid.Start), Size: cfg.Size}}, &pool, nil
}

// notOurs denies joining a user namespace whose range hardened-runc did not
// allocate; the range is decided on the mapping read from the namespace,
// never the spec's.
func notOurs(j *joined) error {
	return modifier.Deny(ruleMode, fmt.Sprintf("the user namespace joined through %s (real mapping %s) is not one hardened-runc allocated, nor in a range the profile trusts", j.through(), j.Mapping),
		"join only namespaces of containers hardened-runc created, or list the engine's subordinate-ID entry in userns.trusted_subid_users")
}

// written is where rewrite left the planned values an effect fills in:
// indexes of the changes and note that show them, and the bind mounts to
// replace by idmapped copies.
type written struct {
	planned              claim
	method               Method
	uidChange, gidChange int
	rootChange, note     int
	copies               []copyPlan
}

// rewrite edits the spec for the planned range and rootfs.
func (u *Modifier) rewrite(ctx *modifier.Context, cfg policy.Userns, s *specs.Spec, r *modifier.Report, plan *rootfsPlan, c claim, j *joined) *written {
	// What is replaced here is remembered outside the spec, by the runtime
	// (RememberRewrite), so a re-run starts again from the caller's own.
	method := plan.method()
	w := &written{planned: c, method: method, uidChange: r.Len() + 1, gidChange: r.Len() + 2}
	setUserNamespace(s, c.UsernsPath, c.Mapping, r)
	root := spec.EnsureRoot(s)
	newRoot := filepath.Join(containerDir(ctx.StateDir(), ctx.ContainerID), rootfsDirName)
	w.rootChange = r.Len()
	r.Set("root.path", root.Path, newRoot, ruleMode, rootReason(method), control)
	root.Path = newRoot
	fixNamespacedMounts(s, j, hostHasMqueue(), r)
	dropForeignHostname(s, j, r)
	foreignNetSysctls(ctx, s, j, r)
	clampPingGroupRange(s, c.Size, r)
	rule := volumeRule{containerID: ctx.ContainerID, dockerRoots: dockerRoots(plan), profileGlobs: cfg.IdmapVolumes}
	w.copies = idmapMounts(s, rule, ctx.Lower.Features != nil && ctx.Lower.Features.IDMap, r)
	w.note = len(ctx.Notes)
	ctx.Note("userns: %s; rootfs %s (%s)", c.Mapping, method, plan.Source)
	return w
}

func rootReason(m Method) string {
	switch m {
	case MethodOverlay:
		return "the engine's overlay replaced in place by one with the same upper on idmapped image layers, so files keep the image's ownership inside the user namespace and the engine sees the container's files (an overlay that is already mounted cannot be idmapped)"
	case MethodUnmapped:
		return "the rootfs bound where the mapped root can reach it; idmapping is not supported here (fallback \"unmapped\")"
	}
	return "an idmapped bind mount of the rootfs, so files keep the image's ownership inside the user namespace"
}

// dockerRoots are the engine data roots whose containers/<id>/ files and
// volumes/ are idmapped: Docker's default, and the one the overlay2 layers
// of this rootfs live in.
func dockerRoots(p *rootfsPlan) []string {
	roots := []string{"/var/lib/docker"}
	if p.Overlay != nil && filepath.Base(p.Parent) == "overlay2" {
		if d := filepath.Dir(p.Parent); d != roots[0] {
			roots = append(roots, d)
		}
	}
	return roots
}

// ModifyProcess implements modifier.ProcessModifier: a `runc exec` user
// must be inside the container's mapping.
func (u *Modifier) ModifyProcess(ctx *modifier.Context, container *specs.Spec, p *specs.Process, r *modifier.Report) error {
	if container == nil || container.Linux == nil || len(container.Linux.UIDMappings) == 0 {
		return nil
	}
	if _, ok := namespace(container, specs.UserNamespace); !ok {
		return nil
	}
	if err := checkProcessIDs(p, container.Linux.UIDMappings, container.Linux.GIDMappings); err != nil {
		return err
	}
	// The exec'd process inherits the runtime's stdio (the engine's pipes).
	if uid, gid, ok := HostRoot(container); ok {
		ctx.Effect(stdioEffect(uid, gid))
	}
	return nil
}

// SettlesEngineView implements modifier.Settler: Cleanup moves back what
// host processes wrote through the engine's view, and the engine reads
// the layer as soon as delete returns.
func (*Modifier) SettlesEngineView() {}

// Cleanup implements modifier.Cleaner: it unmounts the container's rootfs
// and frees its range. It needs no profile and is idempotent. What it
// releases is keyed by (--root, id): `delete` frees the range of the
// container deleted from the same root (runc has already removed its
// state), a failed create frees only what this process allocated, so a
// foreign or failed command never releases a live container's range.
func (u *Modifier) Cleanup(ctx *modifier.Context) error {
	if err := ValidID(ctx.ContainerID); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(ctx.StateDir(), stateDirName)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	owned := OwnedBySelf
	if ctx.Verb == "delete" {
		owned = CreatorGone
	}
	d := &dirRetirer{dir: filepath.Join(ctx.StateDir(), stateDirName)}
	_, _, err := d.allocator(u.opts.Alive).Release(ctx.Root, ctx.ContainerID, owned)
	return errors.Join(d.err(), err)
}
