package wrapper

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/argv"
	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// update clamps `runc update`: the --resources document (a file or "-" for
// stdin) is rewritten into an in-memory copy, and the individual resource
// flags are rewritten in place.
func (iv *invocation) update() int {
	launch, _, h, err := iv.runningContainerSession()
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	args := iv.args.Args()
	if h.profile.Mode != policy.ModeOff {
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
	unknown, err := doc.UnknownFields()
	if err != nil {
		return nil, fmt.Errorf("update --resources %s: %w", src, err)
	}
	if err := confine.CheckUnknownFields(h.profile, unknown); err != nil {
		return nil, h.judge(err)
	}
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
	changes, err := confine.ClampResources(h.profile, target)
	for _, c := range changes {
		h.report.Change(c)
	}
	if err != nil {
		return h.judge(err)
	}
	if h.decision == "" {
		h.decision = Allowed
	}
	return nil
}

// clampResourceFlags clamps the individual resource flags (--memory,
// --pids-limit ...) and rewrites the command line: changed values in place,
// and flags the clamp adds (memory-swap equal to memory) inserted.
func (iv *invocation) clampResourceFlags(h *session) ([]string, error) {
	given := map[string]string{}
	for _, f := range confine.UpdateFlags {
		if v, ok := iv.args.Flag(f); ok {
			given[f] = v
		}
	}
	if len(given) == 0 {
		if h.decision == "" {
			h.decision = Allowed
		}
		return iv.args.Args(), nil
	}
	clamped, changes, err := confine.ClampUpdateFlags(h.profile, given)
	for _, c := range changes {
		h.report.Change(c)
	}
	if err != nil {
		return nil, h.judge(err)
	}
	if h.decision == "" {
		h.decision = Allowed
	}
	if h.profile.Mode == policy.ModeAudit {
		h.decision = Audited
		return iv.args.Args(), nil
	}
	args := iv.args.Args()
	for _, f := range confine.UpdateFlags {
		v, ok := clamped[f]
		if !ok || v == given[f] {
			continue
		}
		if _, had := given[f]; had {
			if args, err = replaceFlagIn(args, f, v); err != nil {
				return nil, err
			}
			continue
		}
		if args, err = insertFlagIn(args, f, v); err != nil {
			return nil, err
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

// insertFlagIn adds a flag the caller did not give (memory-swap when the
// clamp ties it to memory).
func insertFlagIn(args []string, flag, value string) ([]string, error) {
	inv, err := argv.Parse(args)
	if err != nil {
		return nil, err
	}
	return inv.InsertFlag(flag, value)
}
