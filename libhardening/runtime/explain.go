package runtime

import (
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// ExplainOptions says which bundle to explain and how.
type ExplainOptions struct {
	Config   *policy.Config
	Pipeline func(*policy.Profile) modifier.List
	Bundle   string
	// Profile overrides the config's selection rules when set.
	Profile string
	// ContainerID is used for selection rules on the id ("" is fine).
	ContainerID string
	// Self is hardenctl's own binary, so a config whose runtime points at
	// hardened-runc is reported rather than probed.
	Self string
}

// Explanation is what the pipeline would do to a bundle.
type Explanation struct {
	Bundle      string            `json:"bundle"`
	Profile     string            `json:"profile"`
	ProfileRule string            `json:"profileRule"`
	ProfileHash string            `json:"profileHash"`
	Mode        policy.Mode       `json:"mode"`
	Lower       modifier.Lower    `json:"lower"`
	Decision    Decision          `json:"decision"`
	Denial      *modifier.Denial  `json:"denial,omitempty"`
	Error       string            `json:"error,omitempty"`
	Changes     []modifier.Change `json:"changes"`
	Notes       []string          `json:"notes,omitempty"`
}

// Explain runs the pipeline on a copy of the bundle's config.json in dry-run
// mode: the same modifiers the runtime runs, in the same order, without
// writing the file or touching the host. It is `hardenctl explain`.
func Explain(o ExplainOptions) (*Explanation, error) {
	doc, err := spec.Load(o.Bundle)
	if err != nil {
		return nil, err
	}
	if o.ContainerID == "" {
		// Modifiers that key host state by id (userns) need one; nothing
		// is allocated in explain.
		o.ContainerID = "explain"
	}
	lower, err := resolveLower(o.Config.Runtime, o.Self)
	if err != nil {
		lower = o.Config.Runtime
	}
	h, err := newSession(sessionBase{
		cfg: o.Config, pipeline: o.Pipeline, verb: "create", id: o.ContainerID,
		bundle: o.Bundle, lower: lower, profile: o.Profile,
	}, doc.Spec)
	if err != nil {
		return nil, err
	}
	h.ctx.DryRun = true
	if h.ctx.UnknownFields, err = doc.UnknownFields(); err != nil {
		return nil, err
	}
	e := &Explanation{Bundle: o.Bundle, Profile: h.profile.Name, ProfileRule: h.profileRule,
		ProfileHash: h.profile.Hash, Mode: h.profile.Mode, Lower: h.ctx.Lower}
	s := spec.Clone(doc.Spec)
	err = h.pipeline(h.profile).Modify(h.ctx, s, &h.report)
	switch d, isDenial := modifier.AsDenial(err); {
	case err == nil:
		e.Decision = Allowed
	case isDenial:
		e.Decision, e.Denial = Denied, d
	default:
		e.Decision, e.Error = Failed, err.Error()
	}
	if h.profile.Mode == policy.ModeAudit && e.Decision != Failed {
		e.Decision = Audited
	}
	if h.profile.Mode == policy.ModeOff {
		e.Decision, e.Changes = Unmanaged, nil
		return e, nil
	}
	e.Changes = h.report.Changes
	e.Notes = h.ctx.Notes
	return e, nil
}
