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
}

var (
	_ modifier.ProcessModifier = (*Modifier)(nil)
	_ modifier.Cleaner         = (*Modifier)(nil)
)

// New returns the userns modifier with the host's subordinate-ID files.
func New() modifier.Modifier { return NewWithOptions(Options{}) }

// NewWithOptions returns the userns modifier with o.
func NewWithOptions(o Options) *Modifier {
	if o.SubUIDFile == "" {
		o.SubUIDFile = DefaultSubUIDFile
	}
	if o.SubGIDFile == "" {
		o.SubGIDFile = DefaultSubGIDFile
	}
	return &Modifier{opts: o}
}

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "userns" }

func config(p *policy.Profile) policy.Userns {
	var c policy.Userns
	if p != nil {
		c = p.Userns
	}
	if c.Mode == "" {
		c.Mode = "enabled"
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
	return &Allocator{Dir: dir, Alive: u.opts.Alive, Released: func(e Entry) {
		_ = removeContainerDir(filepath.Join(dir, e.ID))
	}}
}

// hostEffects reports whether Modify may allocate and mount: not for
// `hardenctl explain`, and not when the profile only audits.
func hostEffects(ctx *modifier.Context) bool {
	return !ctx.DryRun && (ctx.Profile == nil || ctx.Profile.Mode == policy.ModeEnforce)
}

// Modify implements modifier.Modifier.
func (u *Modifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if err := refuseOwnAnnotation(s); err != nil {
		return err
	}
	cfg := config(ctx.Profile)
	if cfg.Mode == "disabled" {
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
	if _, denied := modifier.AsDenial(err); err != nil && !denied && !hostEffects(ctx) {
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
	plan, err := planRootfs(rootPath(ctx, s))
	if err != nil && !hostEffects(ctx) {
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
	c, err := u.claim(ctx, cfg, j)
	if err != nil {
		return err
	}
	method := plan.method()
	var binder sourceBinder
	if hostEffects(ctx) {
		ns, err := openUserns(c)
		if err != nil {
			return errors.Join(fmt.Errorf("userns: %w", err), u.Cleanup(ctx))
		}
		defer ns.Close()
		if method, err = u.mount(ctx, cfg, plan, c, ns); err != nil {
			return errors.Join(err, u.Cleanup(ctx))
		}
		binder = &idmappedSources{dir: containerDir(ctx.StateDir(), ctx.ContainerID), userns: ns}
		// The runtime's stdio becomes the container's when it execs runc.
		if err := PrepareStdio(int(c.HostUID), int(c.HostGID)); err != nil {
			ctx.Note("userns: %v", err)
		}
	}
	u.rewrite(ctx, cfg, s, r, plan, c, j, method, binder)
	if method == MethodUnmapped {
		// The nobody-owned root is not container root's to write.
		ensureMountPoints(ctx, plan.Source, s)
	}
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
// namespaces it shares, freshly allocated, or (explain, audit) the one the
// next allocation would most likely get.
type claim struct {
	Mapping
	// UsernsPath is the joined user namespace, "" for a new one.
	UsernsPath string
	Tracked    bool
}

func (u *Modifier) claim(ctx *modifier.Context, cfg policy.Userns, j *joined) (claim, error) {
	if j.UsernsPath != "" {
		return u.joinClaim(ctx, j)
	}
	pool, err := LoadPool(u.opts.SubUIDFile, u.opts.SubGIDFile, cfg.SubIDUser)
	if err != nil {
		return claim{}, fmt.Errorf("userns: %w", err)
	}
	if pool.Builtin {
		ctx.Note("userns: no %q entry in %s/%s; using the built-in pool %d-%d (see docs/userns.md)",
			cfg.SubIDUser, u.opts.SubUIDFile, u.opts.SubGIDFile, pool.UID.Start, pool.UID.End()-1)
	}
	if !hostEffects(ctx) {
		t, err := ReadTable(ctx.StateDir())
		if err != nil {
			return claim{}, err
		}
		uid, gid, err := t.pick(pool, uint64(cfg.Size))
		if err != nil {
			return claim{}, err
		}
		return claim{Mapping: Mapping{HostUID: uint32(uid.Start), HostGID: uint32(gid.Start), Size: cfg.Size}}, nil
	}
	e, err := u.allocator(ctx).Allocate(Request{ID: ctx.ContainerID, Root: ctx.Root, Pool: pool, Size: cfg.Size})
	if err != nil {
		return claim{}, fmt.Errorf("userns: %w", err)
	}
	return claim{Mapping: Mapping{HostUID: e.HostUID, HostGID: e.HostGID, Size: e.Size}, Tracked: true}, nil
}

// joinClaim is the range of a joined user namespace: it must be one
// hardened-runc allocated (to the container whose namespace it is), decided
// on the mapping read from the namespace, never the spec's.
func (u *Modifier) joinClaim(ctx *modifier.Context, j *joined) (claim, error) {
	c := claim{Mapping: j.Mapping, UsernsPath: j.UsernsPath}
	notOurs := func() error {
		return modifier.Deny(ruleMode, fmt.Sprintf("the user namespace joined through %s (real mapping %s) is not one hardened-runc allocated, nor in a range the profile trusts", j.through(), j.Mapping),
			"join only namespaces of containers hardened-runc created, or list the engine's subordinate-ID entry in userns.trusted_subid_users")
	}
	if j.Mapping.HostUID == 0 || j.Mapping.HostGID == 0 {
		return claim{}, notOurs()
	}
	if !hostEffects(ctx) {
		t, err := ReadTable(ctx.StateDir())
		if err != nil {
			return claim{}, err
		}
		if _, ok := t.Covering(idRanges(j.Mapping.uidMappings()), idRanges(j.Mapping.gidMappings())); !ok {
			return claim{}, notOurs()
		}
		return c, nil
	}
	_, ok, err := u.allocator(ctx).Join(Request{ID: ctx.ContainerID, Root: ctx.Root}, j.Mapping)
	if err != nil {
		return claim{}, fmt.Errorf("userns: %w", err)
	}
	if !ok {
		return claim{}, notOurs()
	}
	c.Tracked = true
	return c, nil
}

// mount builds the container's root under <RunDir>/userns/<id>/rootfs.
func (u *Modifier) mount(ctx *modifier.Context, cfg policy.Userns, plan *rootfsPlan, c claim, ns *os.File) (Method, error) {
	dir := containerDir(ctx.StateDir(), ctx.ContainerID)
	if err := makeContainerDir(ctx.StateDir(), dir, c.Mapping); err != nil {
		return "", fmt.Errorf("userns: %w", err)
	}
	err := mountRootfs(plan, dir, ns, c.Mapping)
	var ie *IdmapError
	if !errors.As(err, &ie) {
		if err != nil {
			return "", fmt.Errorf("userns: rootfs: %w", err)
		}
		return plan.method(), nil
	}
	switch cfg.Fallback {
	case "unmapped":
		ctx.Note("userns: %v; fallback %q: the image's files appear owned by nobody", ie, cfg.Fallback)
		if err := bindUnmapped(plan, dir); err != nil {
			return "", fmt.Errorf("userns: rootfs: %w", err)
		}
		return MethodUnmapped, nil
	case "chown":
		ctx.Note("userns: %v; fallback %q: the container runs on a copy of its rootfs owned by its range (writes to it are discarded at delete)", ie, cfg.Fallback)
		if err := chownCopy(plan, dir, c.Mapping); err != nil {
			return "", fmt.Errorf("userns: rootfs: %w", err)
		}
		return MethodChown, nil
	default:
		return "", modifier.Deny(ruleFallback, ie.Error(), `set userns.fallback = "unmapped" to run with a nobody-owned rootfs, or use a filesystem with idmapped mounts (ext4, xfs, btrfs, tmpfs; overlay layers on them)`)
	}
}

func openUserns(c claim) (*os.File, error) {
	if c.UsernsPath != "" {
		return os.Open(c.UsernsPath)
	}
	return usernsFD(c.Mapping)
}

// rewrite edits the spec for the claimed range and the mounted rootfs.
func (u *Modifier) rewrite(ctx *modifier.Context, cfg policy.Userns, s *specs.Spec, r *modifier.Report, plan *rootfsPlan, c claim, j *joined, method Method, binder sourceBinder) {
	// What is replaced here is remembered outside the spec, by the runtime
	// (RememberRewrite), so a re-run starts again from the caller's own.
	setUserNamespace(s, c.UsernsPath, c.Mapping, r)
	root := spec.EnsureRoot(s)
	newRoot := filepath.Join(containerDir(ctx.StateDir(), ctx.ContainerID), rootfsDirName)
	r.Set("root.path", root.Path, newRoot, ruleMode, rootReason(method), control)
	root.Path = newRoot
	fixNamespacedMounts(s, j, hostHasMqueue(), r)
	dropForeignHostname(s, j, r)
	foreignNetSysctls(ctx, s, j, r)
	clampPingGroupRange(s, c.Size, r)
	rule := volumeRule{containerID: ctx.ContainerID, dockerRoots: dockerRoots(plan), profileGlobs: cfg.IdmapVolumes}
	idmapMounts(s, rule, ctx.Lower.Features != nil && ctx.Lower.Features.IDMap, binder, ctx, r)
	ctx.Note("userns: %s; rootfs %s (%s)", c.Mapping, method, plan.Source)
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
	if uid, gid, ok := HostRoot(container); ok && hostEffects(ctx) {
		if err := PrepareStdio(uid, gid); err != nil {
			ctx.Note("userns: %v", err)
		}
	}
	return nil
}

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
	var errs []error
	a := u.allocator(ctx)
	a.Released = func(e Entry) {
		dir := containerDir(ctx.StateDir(), e.ID)
		if err := removeContainerDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", dir, err))
		}
	}
	if _, _, err := a.Release(ctx.Root, ctx.ContainerID, owned); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
