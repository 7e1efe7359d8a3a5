package userns

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// The host side of the modifier. Modify only plans; the effect registered
// here claims the range (allocated, or joined and recorded), builds the
// container's root under <RunDir>/userns/<id>/, binds idmapped copies of
// volumes for a runc without idmap, and hands the engine's stdio to the
// container's root. It runs once the whole pipeline has run, and only for
// a launch that enforces: explain and audit never reach it.

// effect is the host work of the plan Modify wrote into the spec.
func (u *Modifier) effect(cfg policy.Userns, plan *rootfsPlan, j *joined, pool *Pool, w *written) modifier.Effect {
	return func(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
		c, err := u.claim(ctx, cfg, j, pool)
		if err != nil {
			return err
		}
		ns, err := openUserns(c)
		if err != nil {
			return errors.Join(fmt.Errorf("userns: %w", err), u.Cleanup(ctx))
		}
		defer ns.Close()
		method, err := u.mount(ctx, cfg, plan, c, ns)
		if err != nil {
			return errors.Join(err, u.Cleanup(ctx))
		}
		// The runtime's stdio becomes the container's when it execs runc.
		if err := PrepareStdio(int(c.HostUID), int(c.HostGID)); err != nil {
			ctx.Note("userns: %v", err)
		}
		w.fill(ctx, s, r, c, method, plan)
		binder := &idmappedSources{dir: containerDir(ctx.StateDir(), ctx.ContainerID), userns: ns}
		if err := bindCopies(ctx, s, w.copies, binder, r); err != nil {
			return errors.Join(err, u.Cleanup(ctx))
		}
		if method == MethodUnmapped {
			// The nobody-owned root is not container root's to write.
			scheduleMountPoints(ctx, plan.Source, s)
		}
		return nil
	}
}

// claim takes the planned range for the container: allocates it under the
// table's lock, or records the container as a user of the joined
// namespace's, which must be one hardened-runc allocated.
func (u *Modifier) claim(ctx *modifier.Context, cfg policy.Userns, j *joined, pool *Pool) (claim, error) {
	if j.UsernsPath != "" {
		_, ok, err := u.allocator(ctx).Join(Request{ID: ctx.ContainerID, Root: ctx.Root}, j.Mapping)
		if err != nil {
			return claim{}, fmt.Errorf("userns: %w", err)
		}
		if !ok {
			return claim{}, notOurs(j)
		}
		return claim{Mapping: j.Mapping, UsernsPath: j.UsernsPath}, nil
	}
	e, err := u.allocator(ctx).Allocate(Request{ID: ctx.ContainerID, Root: ctx.Root, Pool: *pool, Size: cfg.Size})
	if err != nil {
		return claim{}, fmt.Errorf("userns: %w", err)
	}
	return claim{Mapping: Mapping{HostUID: e.HostUID, HostGID: e.HostGID, Size: e.Size}}, nil
}

// fill replaces the planned values in the spec, its changes and its note
// with the range claimed and the rootfs method the mount ended with.
func (w *written) fill(ctx *modifier.Context, s *specs.Spec, r *modifier.Report, c claim, method Method, plan *rootfsPlan) {
	if c.Mapping != w.planned.Mapping {
		l := spec.EnsureLinux(s)
		l.UIDMappings, l.GIDMappings = c.uidMappings(), c.gidMappings()
		amendAfter(r, w.uidChange, c.uidMappings())
		amendAfter(r, w.gidChange, c.gidMappings())
	}
	if method != w.method && w.rootChange < len(r.Changes) {
		ch := r.Changes[w.rootChange]
		ch.Reason = rootReason(method)
		r.Amend(w.rootChange, &ch)
	}
	if w.note < len(ctx.Notes) {
		ctx.Notes[w.note] = fmt.Sprintf("userns: %s; rootfs %s (%s)", c.Mapping, method, plan.Source)
	}
}

func amendAfter(r *modifier.Report, i int, after any) {
	if i >= len(r.Changes) {
		return
	}
	ch := r.Changes[i]
	ch.After = after
	r.Amend(i, &ch)
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

// stdioEffect hands the runtime's stdio (the engine's pipes), which the
// lower runtime and then the container inherit, to the container's root.
func stdioEffect(uid, gid int) modifier.Effect {
	return func(ctx *modifier.Context, _ *specs.Spec, _ *modifier.Report) error {
		if err := PrepareStdio(uid, gid); err != nil {
			ctx.Note("userns: %v", err)
		}
		return nil
	}
}

// copyPlan is a bind mount whose source is to be replaced by an idmapped
// copy (runc without idmap): s.Mounts[mount], and the change that shows
// the placeholder.
type copyPlan struct {
	mount     int
	dest, src string
	recursive bool
	why       string
	change    int
}

// bindCopies makes the idmapped copies planned by idmapMounts and binds
// them in place of the sources. A source that cannot be copied stays
// unmapped (noted, its change dropped). A mount that is no longer the one
// planned fails the launch rather than bind a copy elsewhere.
func bindCopies(ctx *modifier.Context, s *specs.Spec, copies []copyPlan, b sourceBinder, r *modifier.Report) error {
	var unmapped []string
	for _, c := range copies {
		if c.mount >= len(s.Mounts) || s.Mounts[c.mount].Destination != c.dest || s.Mounts[c.mount].Source != c.src {
			return fmt.Errorf("userns: the mount at %s changed after its idmapped copy was planned", c.dest)
		}
		src, err := b.bind(c.src, c.recursive)
		if err != nil {
			unmapped = append(unmapped, fmt.Sprintf("%s (%v)", c.dest, err))
			r.Amend(c.change, nil)
			continue
		}
		r.Amend(c.change, &modifier.Change{Path: "mounts[" + c.dest + "].source", Before: c.src, After: src, Rule: ruleVolumes,
			Reason: c.why + ": the lower runc cannot idmap mounts; an idmapped copy made by hardened-runc is bound instead"})
		s.Mounts[c.mount].Source = src
	}
	if len(unmapped) > 0 {
		ctx.Note("userns: could not idmap %s: they stay owned by nobody inside the container (readable, writable only where the mode allows others)",
			strings.Join(unmapped, ", "))
	}
	return nil
}
