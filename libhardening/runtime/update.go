package runtime

import (
	"fmt"
	"io"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/argv"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// ResourceClamp clamps resources to a profile's maxima, returning what it
// changed, or a *modifier.Denial when the update would remove a limit the
// policy requires.
type ResourceClamp func(p *policy.Profile, r *specs.LinuxResources) ([]modifier.Change, error)

// update clamps `runc update`: the --resources document (a file or "-" for
// stdin) is rewritten into an in-memory copy, and the individual resource
// flags are rewritten in place.
func (iv *invocation) update() int {
	id := iv.containerID()
	launch := &Launch{Verb: "update", Args: iv.args.Args(), ContainerID: id}
	bundle, container := iv.containerSpec(id)
	launch.Bundle = bundle
	h, err := iv.session(container, bundle)
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	h.fill(launch)
	args := iv.args.Args()
	if h.profile.Mode != policy.ModeOff && iv.rt.Clamp != nil {
		if src, ok := iv.args.Flag("resources"); ok {
			args, err = iv.clampResourcesDoc(h, src, launch)
		} else {
			args, err = iv.clampResourceFlags(h)
		}
	}
	h.fill(launch)
	if err != nil {
		return iv.failLaunch(launch, h.profile, err)
	}
	if err := iv.record(launch, h.profile); err != nil {
		return iv.fail(err)
	}
	return iv.exec(args)
}

func (iv *invocation) clampResourcesDoc(h *session, src string, l *Launch) ([]string, error) {
	var r io.Reader = iv.rt.Stdin
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("update --resources: %w", err)
		}
		defer f.Close()
		r = f
	}
	doc, err := spec.LoadResources(r)
	if err != nil {
		return nil, fmt.Errorf("update --resources %s: %w", src, err)
	}
	l.Original = doc.Original()
	if err := h.clamp(doc.Resources); err != nil {
		return nil, err
	}
	if h.profile.Mode == policy.ModeAudit {
		// The stdin was consumed: hand runc the exact bytes received.
		return iv.substituteResources(l.Original)
	}
	data, err := doc.Bytes()
	if err != nil {
		return nil, err
	}
	l.Hardened = data
	return iv.substituteResources(data)
}

func (iv *invocation) substituteResources(data []byte) ([]string, error) {
	p, err := memfdPath("hardened-runc-resources", data)
	if err != nil {
		return nil, fmt.Errorf("update: resources copy: %w", err)
	}
	return iv.args.ReplaceFlagValue("resources", p)
}

// clamp applies the profile's limits to r; in audit mode only records.
func (h *session) clamp(r *specs.LinuxResources) error {
	target := r
	if h.profile.Mode == policy.ModeAudit {
		cp := *spec.Clone(&specs.Spec{Linux: &specs.Linux{Resources: r}}).Linux.Resources
		target = &cp
		h.decision = Audited
	}
	changes, err := h.clampFn(h.profile, target)
	for _, c := range changes {
		h.report.Change(c)
	}
	if err != nil {
		if d, ok := modifier.AsDenial(err); ok {
			h.denial = d
			if h.profile.Mode == policy.ModeAudit {
				h.ctx.Note("audit: would deny: %s", d.Error())
				return nil
			}
			h.decision = Denied
			return fmt.Errorf("%s (profile %q)", d.Error(), h.profile.Name)
		}
		h.decision = Failed
		return err
	}
	if h.decision == "" {
		h.decision = Allowed
	}
	return nil
}

// resourceFlags maps runc update's flags onto the resources they set.
var resourceFlags = []struct {
	flag  string
	bytes bool
	set   func(r *specs.LinuxResources, v int64)
	get   func(r *specs.LinuxResources) (int64, bool)
}{
	{"memory", true,
		func(r *specs.LinuxResources, v int64) { mem(r).Limit = &v },
		func(r *specs.LinuxResources) (int64, bool) { return deref(mem(r).Limit) }},
	{"memory-swap", true,
		func(r *specs.LinuxResources, v int64) { mem(r).Swap = &v },
		func(r *specs.LinuxResources) (int64, bool) { return deref(mem(r).Swap) }},
	{"pids-limit", false,
		func(r *specs.LinuxResources, v int64) { r.Pids = &specs.LinuxPids{Limit: &v} },
		func(r *specs.LinuxResources) (int64, bool) {
			if r.Pids == nil {
				return 0, false
			}
			return deref(r.Pids.Limit)
		}},
	{"cpu-quota", false,
		func(r *specs.LinuxResources, v int64) { cpu(r).Quota = &v },
		func(r *specs.LinuxResources) (int64, bool) { return deref(cpu(r).Quota) }},
}

// clampResourceFlags builds resources from the flags given, clamps them and
// rewrites each flag whose value changed.
func (iv *invocation) clampResourceFlags(h *session) ([]string, error) {
	r := &specs.LinuxResources{}
	given := false
	for _, f := range resourceFlags {
		s, ok := iv.args.Flag(f.flag)
		if !ok {
			continue
		}
		v, err := parseFlagValue(s, f.bytes)
		if err != nil {
			return nil, fmt.Errorf("update --%s %q: %w", f.flag, s, err)
		}
		f.set(r, v)
		given = true
	}
	if !given {
		if h.decision == "" {
			h.decision = Allowed
		}
		return iv.args.Args(), nil
	}
	if err := h.clamp(r); err != nil {
		return nil, err
	}
	if h.profile.Mode == policy.ModeAudit {
		return iv.args.Args(), nil
	}
	args := iv.args.Args()
	for _, f := range resourceFlags {
		s, ok := iv.args.Flag(f.flag)
		if !ok {
			continue
		}
		if v, ok := f.get(r); ok {
			if old, _ := parseFlagValue(s, f.bytes); old != v {
				var err error
				if args, err = replaceFlagIn(args, f.flag, strconv.FormatInt(v, 10)); err != nil {
					return nil, err
				}
			}
		}
	}
	return args, nil
}

// replaceFlagIn replaces a flag's value in args, which may already carry
// earlier replacements: the parser re-reads args each time.
func replaceFlagIn(args []string, flag, value string) ([]string, error) {
	inv, err := argv.Parse(args)
	if err != nil {
		return nil, err
	}
	return inv.ReplaceFlagValue(flag, value)
}

func parseFlagValue(s string, bytes bool) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	if bytes {
		return policy.ParseBytes(s)
	}
	return strconv.ParseInt(s, 10, 64)
}

func mem(r *specs.LinuxResources) *specs.LinuxMemory {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	return r.Memory
}

func cpu(r *specs.LinuxResources) *specs.LinuxCPU {
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	return r.CPU
}

func deref(p *int64) (int64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}
