package confine

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// CgroupsModifier sets the resource limits every container must have (pids,
// memory without swap) and the CPU and block I/O defaults, and clamps what
// the caller asked for to the profile's maxima. The spec fields are the same
// for cgroup v1 and v2 and for the cgroupfs and systemd drivers (runc
// converts them); on v2 the linux.resources.unified map could override them,
// so the keys that would lift a required limit are checked as well.
//
// It also refuses a linux.cgroupsPath that names an existing cgroup holding
// processes (see cgrouppath.go): runc would write the container's limits
// into it, join it and leave them there after delete.
type CgroupsModifier struct {
	// hostRoot prefixes every host path read (/proc/self/mountinfo, the
	// cgroup hierarchies); "" is the real host. Tests point it at a tree.
	hostRoot string
	p        *policy.Profile
}

// Cgroups returns the "cgroups" control of profile p.
func Cgroups(p *policy.Profile) *CgroupsModifier { return &CgroupsModifier{p: p} }

// Name implements modifier.Modifier.
func (*CgroupsModifier) Name() string { return "cgroups" }

// Modify implements modifier.Modifier.
func (m *CgroupsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if err := m.checkPath(ctx, s); err != nil {
		return err
	}
	lim, err := newLimits(m.p)
	if err != nil {
		return err
	}
	return lim.apply(ctx, spec.EnsureResources(s), false, r)
}

// limits is the cgroups section with sizes parsed.
type limits struct {
	c              policy.Cgroups
	memory, memMax int64
}

func newLimits(p *policy.Profile) (*limits, error) {
	l := &limits{c: p.Cgroups}
	var err error
	if p.Cgroups.Memory != "" {
		if l.memory, err = policy.ParseBytes(p.Cgroups.Memory); err != nil {
			return nil, fmt.Errorf("cgroups.memory: %w", err)
		}
	}
	if p.Cgroups.MemoryMax != "" {
		if l.memMax, err = policy.ParseBytes(p.Cgroups.MemoryMax); err != nil {
			return nil, fmt.Errorf("cgroups.memory_max: %w", err)
		}
	}
	return l, nil
}

// apply fixes res. With update set, res is a `runc update` request: absent
// fields mean "unchanged" and are left alone, and a negative value (runc's
// "unlimited") for a required limit is refused rather than replaced.
func (l *limits) apply(ctx *modifier.Context, res *specs.LinuxResources, update bool, r *modifier.Report) error {
	if err := l.pids(ctx, res, update, r); err != nil {
		return err
	}
	if err := l.mem(ctx, res, update, r); err != nil {
		return err
	}
	if err := l.cpu(ctx, res, update, r); err != nil {
		return err
	}
	if !update {
		l.blkio(res, r)
	}
	return l.unified(ctx, res)
}

func (l *limits) pids(ctx *modifier.Context, res *specs.LinuxResources, update bool, r *modifier.Report) error {
	const path = "linux.resources.pids.limit"
	if update {
		if res.Pids == nil || res.Pids.Limit == nil || *res.Pids.Limit == 0 {
			return nil
		}
		if *res.Pids.Limit < 0 {
			return deny("cgroups.pids_limit", "removing the pids limit (-1: unlimited)",
				fix(ctx, "a pids limit is always required; ask for at most cgroups.pids_max (%d)", l.c.PidsMax), ctlPids)
		}
	}
	if res.Pids == nil {
		res.Pids = &specs.LinuxPids{}
	}
	before := deref(res.Pids.Limit)
	switch {
	case res.Pids.Limit == nil || *res.Pids.Limit <= 0:
		res.Pids.Limit = ptr(l.c.PidsLimit)
		r.Set(path, before, l.c.PidsLimit, "cgroups.pids_limit", "a container never has unlimited processes (fork bomb)", ctlPids)
	case l.c.PidsMax > 0 && *res.Pids.Limit > l.c.PidsMax:
		res.Pids.Limit = ptr(l.c.PidsMax)
		r.Set(path, before, l.c.PidsMax, "cgroups.pids_max", "clamped to the profile's maximum", ctlPids)
	}
	return nil
}

func (l *limits) mem(ctx *modifier.Context, res *specs.LinuxResources, update bool, r *modifier.Report) error {
	const path = "linux.resources.memory"
	if update {
		if res.Memory == nil || (res.Memory.Limit == nil && res.Memory.Swap == nil) {
			return nil
		}
		if v := res.Memory.Limit; v != nil && *v < 0 {
			return deny("cgroups.memory", "removing the memory limit (-1: unlimited)",
				fix(ctx, "a memory limit is always required; ask for at most cgroups.memory_max (%s)", l.c.MemoryMax), ctlMemory)
		}
		if res.Memory.Limit == nil || *res.Memory.Limit == 0 {
			return l.swapOnly(ctx, res.Memory, r)
		}
	}
	if l.memory == 0 && l.memMax == 0 {
		return nil
	}
	if res.Memory == nil {
		res.Memory = &specs.LinuxMemory{}
	}
	m := res.Memory
	before := deref(m.Limit)
	switch {
	case (m.Limit == nil || *m.Limit <= 0) && l.memory > 0:
		m.Limit = ptr(l.memory)
		r.Set(path+".limit", before, l.memory, "cgroups.memory", "a container never has unlimited memory", ctlMemory)
	case m.Limit != nil && l.memMax > 0 && *m.Limit > l.memMax:
		m.Limit = ptr(l.memMax)
		r.Set(path+".limit", before, l.memMax, "cgroups.memory_max", "clamped to the profile's maximum", ctlMemory)
	}
	if m.Limit != nil && *m.Limit > 0 && (m.Swap == nil || *m.Swap != *m.Limit) {
		before := deref(m.Swap)
		m.Swap = ptr(*m.Limit)
		r.Set(path+".swap", before, *m.Limit, "cgroups.memory",
			"memory+swap = memory: the limit is not escaped through swap", ctlMemory)
	}
	return nil
}

// swapOnly handles an update that changes swap without the memory limit:
// the current limit is unknown here, so only a negative (unlimited) swap is
// refused and a value above memory_max is clamped.
func (l *limits) swapOnly(ctx *modifier.Context, m *specs.LinuxMemory, r *modifier.Report) error {
	if m.Swap == nil || *m.Swap == 0 {
		return nil
	}
	if *m.Swap < 0 {
		return deny("cgroups.memory", "removing the memory+swap limit (-1: unlimited swap)",
			fix(ctx, "update --memory and --memory-swap to the same value"), ctlMemory)
	}
	if l.memMax > 0 && *m.Swap > l.memMax {
		before := *m.Swap
		m.Swap = ptr(l.memMax)
		r.Set("linux.resources.memory.swap", before, l.memMax, "cgroups.memory_max", "clamped to the profile's maximum", ctlMemory)
	}
	return nil
}

func (l *limits) cpu(ctx *modifier.Context, res *specs.LinuxResources, update bool, r *modifier.Report) error {
	const path = "linux.resources.cpu"
	if update {
		if res.CPU != nil && res.CPU.Quota != nil && *res.CPU.Quota < 0 && l.c.CPUQuota > 0 {
			return deny("cgroups.cpu_quota", "removing the CPU quota (-1: unlimited)",
				fix(ctx, "keep a CPU quota, or set cgroups.cpu_quota = 0"), ctlCPU)
		}
		return nil
	}
	if l.c.CPUShares == 0 && l.c.CPUQuota <= 0 {
		return nil
	}
	if res.CPU == nil {
		res.CPU = &specs.LinuxCPU{}
	}
	c := res.CPU
	if l.c.CPUShares > 0 && (c.Shares == nil || *c.Shares == 0) {
		before := deref(c.Shares)
		c.Shares = ptr(l.c.CPUShares)
		r.Set(path+".shares", before, l.c.CPUShares, "cgroups.cpu_shares", "CPU priority set", ctlCPU)
	}
	if l.c.CPUQuota > 0 && (c.Quota == nil || *c.Quota <= 0) {
		before := deref(c.Quota)
		c.Quota = ptr(l.c.CPUQuota)
		r.Set(path+".quota", before, l.c.CPUQuota, "cgroups.cpu_quota", "CPU time capped", ctlCPU)
		if (c.Period == nil || *c.Period == 0) && l.c.CPUPeriod > 0 {
			c.Period = ptr(l.c.CPUPeriod)
			r.Set(path+".period", nil, l.c.CPUPeriod, "cgroups.cpu_period", "period of the CPU quota", ctlCPU)
		}
	}
	return nil
}

func (l *limits) blkio(res *specs.LinuxResources, r *modifier.Report) {
	if l.c.BlkioWeight == 0 {
		return
	}
	if res.BlockIO == nil {
		res.BlockIO = &specs.LinuxBlockIO{}
	}
	if res.BlockIO.Weight != nil && *res.BlockIO.Weight != 0 {
		return
	}
	before := deref(res.BlockIO.Weight)
	res.BlockIO.Weight = ptr(l.c.BlkioWeight)
	r.Set("linux.resources.blockIO.weight", before, l.c.BlkioWeight, "cgroups.blkio_weight", "block I/O share set", "")
}

// unified checks the cgroup v2 keys that runc writes after (and so over) the
// structured limits: a "max" there would silently lift a required limit.
func (l *limits) unified(ctx *modifier.Context, res *specs.LinuxResources) error {
	checks := []struct {
		key, rule, ctl string
		max            int64
	}{
		{"pids.max", "cgroups.pids_max", ctlPids, l.c.PidsMax},
		{"memory.max", "cgroups.memory_max", ctlMemory, l.memMax},
	}
	for _, c := range checks {
		v, ok := res.Unified[c.key]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil && n > 0 && (c.max <= 0 || n <= c.max) {
			continue
		}
		return deny(c.rule, fmt.Sprintf("linux.resources.unified %q = %q lifts a required limit", c.key, v),
			fix(ctx, "remove the unified %s entry (the structured limit applies)", c.key), c.ctl)
	}
	if v, ok := res.Unified["memory.swap.max"]; ok && v != "0" && l.memory > 0 {
		return deny("cgroups.memory", fmt.Sprintf("linux.resources.unified %q = %q allows swap beyond the memory limit", "memory.swap.max", v),
			fix(ctx, "remove the unified memory.swap.max entry"), ctlMemory)
	}
	return nil
}
