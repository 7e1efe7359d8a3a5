package wrapper

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

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
	// LowerVersion overrides the probed lower runtime version (the
	// seccomp baseline depends on it), e.g. to generate for another host.
	LowerVersion string
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
	// Spec is the hardened spec: what the lower runtime is given under an
	// enforcing profile, what it would be given under an auditing one; nil
	// when the launch is denied or fails, or the profile is off.
	Spec *specs.Spec `json:"spec,omitempty"`
}

// Explain runs the pipeline on a copy of the bundle's config.json through
// the runtime's own apply path: the same modifiers, in the same order, with
// the same handling of audit and off profiles, without writing the file or
// touching the host: its session launches nothing, so the modifiers'
// effects never run, and the spec shows the values they planned (the range
// the next allocation would most likely get). It is `hardenctl explain`, and what
// `hardenctl seccomp generate` and `apparmor show` print from.
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
	if o.LowerVersion != "" {
		h.ctx.Lower.Version = o.LowerVersion
	}
	if h.ctx.UnknownFields, err = doc.UnknownFields(); err != nil {
		return nil, err
	}
	e := &Explanation{Bundle: o.Bundle, Profile: h.profile.Name, ProfileRule: h.profileRule,
		ProfileHash: h.profile.Hash, Mode: h.profile.Mode, Lower: h.ctx.Lower}
	hardened, err := h.apply(spec.Clone(doc.Spec))
	e.Decision, e.Denial = h.decision, h.denial
	if err != nil && h.denial == nil {
		e.Error = err.Error()
	}
	if e.Decision == Allowed || (e.Decision == Audited && e.Denial == nil) {
		e.Spec = hardened
	}
	if e.Decision != Unmanaged {
		e.Changes = h.report.Changes
	}
	e.Notes = h.ctx.Notes
	return e, nil
}
