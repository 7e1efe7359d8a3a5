package confine

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// ClampResources clamps a `runc update --resources` request (the JSON file
// or stdin) to the profile's maxima, in place. Fields the request leaves out
// stay unchanged in runc and are left alone here; removing a required limit
// (pids or memory -1) is refused with a *modifier.Denial.
func ClampResources(p *policy.Profile, res *specs.LinuxResources) ([]modifier.Change, error) {
	if p == nil || res == nil {
		return nil, fmt.Errorf("clamp resources: no profile or no resources")
	}
	lim, err := newLimits(p)
	if err != nil {
		return nil, err
	}
	ctx := &modifier.Context{Verb: "update", ProfileName: p.Name}
	r := &modifier.Report{}
	name := Cgroups(p).Name()
	if err := lim.apply(ctx, res, true, r); err != nil {
		return nil, as(name, err)
	}
	for i := range r.Changes {
		r.Changes[i].Modifier = name
	}
	return r.Changes, nil
}

// UpdateFlags are the resource flags of `runc update` this package checks,
// by flag name without dashes: "memory", "memory-swap", "pids-limit",
// "cpu-quota". Other flags (cpu-shares, cpuset-*, blkio-weight ...) cannot
// lift a required limit and pass through unchanged.
var UpdateFlags = []string{"memory", "memory-swap", "pids-limit", "cpu-quota"}

// ClampUpdateFlags clamps the resource flags of `runc update` (name without
// dashes → value as given on the command line) and returns the flags to pass
// on instead: values clamped to the profile's maxima, and memory-swap added
// equal to memory when memory is set (memory+swap = memory). Memory values
// in the result are plain byte counts, which runc accepts.
func ClampUpdateFlags(p *policy.Profile, flags map[string]string) (map[string]string, []modifier.Change, error) {
	res, err := resourcesFromFlags(flags)
	if err != nil {
		return nil, nil, err
	}
	changes, err := ClampResources(p, res)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]string, len(flags)+1)
	for k, v := range flags {
		out[k] = v
	}
	if len(changes) == 0 {
		return out, nil, nil
	}
	if res.Memory != nil && res.Memory.Limit != nil {
		out["memory"] = strconv.FormatInt(*res.Memory.Limit, 10)
	}
	if res.Memory != nil && res.Memory.Swap != nil {
		out["memory-swap"] = strconv.FormatInt(*res.Memory.Swap, 10)
	}
	if res.Pids != nil && res.Pids.Limit != nil {
		out["pids-limit"] = strconv.FormatInt(*res.Pids.Limit, 10)
	}
	return out, changes, nil
}

func resourcesFromFlags(flags map[string]string) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	for _, name := range UpdateFlags {
		v, ok := flags[name]
		if !ok || v == "" {
			continue
		}
		var n int64
		var err error
		if name == "memory" || name == "memory-swap" {
			n, err = parseMemoryFlag(v)
		} else {
			n, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("update --%s %q: %w", name, v, err)
		}
		switch name {
		case "memory":
			mem(res).Limit = ptr(n)
		case "memory-swap":
			mem(res).Swap = ptr(n)
		case "pids-limit":
			res.Pids = &specs.LinuxPids{Limit: ptr(n)}
		case "cpu-quota":
			res.CPU = &specs.LinuxCPU{Quota: ptr(n)}
		}
	}
	return res, nil
}

func mem(res *specs.LinuxResources) *specs.LinuxMemory {
	if res.Memory == nil {
		res.Memory = &specs.LinuxMemory{}
	}
	return res.Memory
}

// parseMemoryFlag parses runc's memory flag values: "-1" (unlimited) or a
// size such as "512m", "1g", "1073741824".
func parseMemoryFlag(v string) (int64, error) {
	if strings.TrimSpace(v) == "-1" {
		return -1, nil
	}
	return policy.ParseBytes(v)
}
