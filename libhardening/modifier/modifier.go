// Package modifier defines the hardening pipeline: a list of small, named
// modifiers, each owning one part of the OCI spec. A modifier either fixes the
// spec, recording every change with the policy rule and the reason, or denies
// the launch. The recorded changes are what `hardenctl explain` prints, what
// the runtime logs and what forensics stores, so all three read one list.
package modifier

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Change is one edit a modifier made (or, in audit mode, would make).
type Change struct {
	Modifier string `json:"modifier"`
	// Path is the JSON path of the field in the spec, e.g.
	// "process.capabilities.bounding" or "mounts[/tmp]".
	Path   string `json:"path"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	// Rule names the policy setting that asked for the change, e.g.
	// "capabilities.allow".
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Control names the external control where one applies, e.g.
	// "CIS Docker 5.3; PSS baseline: capabilities".
	Control string `json:"control,omitempty"`

	// dropped marks a change an effect could not make (Report.Amend).
	dropped bool
}

func (c Change) String() string {
	s := fmt.Sprintf("%s: %s: %s (rule %s", c.Modifier, c.Path, c.Reason, c.Rule)
	if c.Control != "" {
		s += "; " + c.Control
	}
	return s + ")"
}

// Denial is the error a modifier returns when policy forbids the launch and
// the spec must not be silently weakened. Callers branch on it with
// errors.As: a denial is not an I/O error.
type Denial struct {
	Modifier string `json:"modifier"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
	// Fix tells the admin how to allow it, e.g.
	// `set namespaces.allow_host = ["network"] in profile "default"`.
	Fix     string `json:"fix,omitempty"`
	Control string `json:"control,omitempty"`
}

func (d *Denial) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "denied by policy rule %s: %s", d.Rule, d.Reason)
	if d.Fix != "" {
		fmt.Fprintf(&b, "; to allow: %s", d.Fix)
	}
	return b.String()
}

// Deny builds a *Denial; modifiers return it from Modify.
func Deny(rule, reason, fix string) *Denial {
	return &Denial{Rule: rule, Reason: reason, Fix: fix}
}

// AsDenial reports whether err is (or wraps) a policy denial.
func AsDenial(err error) (*Denial, bool) {
	var d *Denial
	if errors.As(err, &d) {
		return d, true
	}
	return nil, false
}

// Lower describes the lower runtime the spec is handed to. Modifiers that
// depend on what runc supports (seccomp baseline, idmapped bind mounts) read
// it instead of exec'ing runc themselves.
type Lower struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"` // e.g. "1.1.5", "1.5.2"
	// Features is the parsed `runc features` output, nil where the runtime
	// has no features verb (runc < 1.1).
	Features *Features `json:"features,omitempty"`
}

// Features is the subset of `runc features` the pipeline uses.
type Features struct {
	MountOptions  []string `json:"mountOptions,omitempty"`
	IDMap         bool     `json:"idmap"`
	SeccompNotify bool     `json:"seccompNotify"`
	SeccompFlags  []string `json:"seccompFlags,omitempty"`
}

// Context carries what a modifier may need besides the spec. It is built once
// per launch by the runtime; modifiers never read os.Args or the environment.
type Context struct {
	Verb        string // create, run, restore, exec, update
	ContainerID string
	Bundle      string
	// Root is the lower runtime's --root (state directory), "" for default.
	Root        string
	ProfileName string
	// Profile is the session's profile. Modifiers do not read it: each is
	// built with the profile it enforces (pipeline.New).
	Profile *policy.Profile
	Lower   Lower
	// RunDir is hardened-runc's own state directory for this --root
	// (per-container mounts, ID-range table), e.g. /run/hardened-runc.
	RunDir string
	// SystemdCgroup is runc's --systemd-cgroup: cgroupsPath is then
	// slice:prefix:name, judged as such by the cgroups control.
	SystemdCgroup bool
	// StatePaths are the host paths of the runtime's own state (config,
	// profiles, forensics, run directory, the lower runtime's --root):
	// no mount or root.path may reach them (policy.Config.StatePaths).
	StatePaths []string
	// UnknownFields are the JSON paths of keys in the document as received
	// (config.json, or the process file of exec) that the typed spec cannot
	// show modifiers, from spec.Document.UnknownFields. They are written
	// back verbatim, so the "fields" control judges them.
	UnknownFields []string
	// DryRun is set when the hardened spec will not be launched
	// (`hardenctl explain`, a profile in audit mode): modifiers plan with
	// what they can read of the host and note what they cannot, instead of
	// failing on it. It is not what keeps them off the host: host work is
	// an Effect, and the effects of such a run are never run.
	DryRun bool
	// Audit is set, with DryRun, when the profile audits: the pipeline
	// runs on a copy to record what enforcing would change, and the spec
	// is launched as it came.
	Audit bool
	// Notes are facts for the forensic record that are not spec changes,
	// e.g. "apparmor: not available on this host".
	Notes []string
	// Mark, when set, is called as each modifier and each effect ends
	// (the runtime's phase marks, for scripts/breakdown); nil in
	// production.
	Mark func(phase string)
	// BeforeExec are actions an Effect needs right before the lower
	// runtime is exec'd, after config.json was written and the launch
	// recorded (e.g. the sysctls of a pod's network namespace). Only
	// effects add to it, so it is empty when effects do not run.
	BeforeExec []func() error

	// effects are the host work planned by Modify, in pipeline order.
	effects []effect
	// current is the modifier Modify is running, which owns the effects
	// it registers.
	current string
	// effected is set once RunEffects has started.
	effected bool
	// mounts is the mount table Mounts read, once.
	mounts     []*mountinfo.Info
	mountsErr  error
	mountsRead bool
}

// Effect is host work a modifier's plan needs: allocating an ID range,
// mounting the idmapped root, loading a MAC profile. Modify registers it
// with Context.Effect and leaves in the spec the value it plans (a range
// picked from the table, a label); the effect does the work once the whole
// pipeline has run and the spec is final, and fills in what only the host
// can tell (the range really allocated), recording it in r. The runtime
// runs effects only for a launch that enforces and before config.json is
// written; `hardenctl explain` and audit-mode launches never run them, so
// they touch nothing on the host by construction.
type Effect func(ctx *Context, s *specs.Spec, r *Report) error

type effect struct {
	modifier string
	run      Effect
}

// Effect registers host work for the modifier that is running. Modify
// must not do host work itself.
func (c *Context) Effect(f Effect) {
	c.effects = append(c.effects, effect{modifier: c.current, run: f})
}

// RunEffects runs the registered effects in the order they were registered
// (pipeline order) on the final spec s, and stops at the first error,
// wrapped with the modifier's name (denials keep their type). What the
// effects that ran set up is released by the Cleaners.
func (c *Context) RunEffects(s *specs.Spec, r *Report) error {
	c.effected = true
	effects := c.effects
	c.effects = nil // each runs once
	defer func() {
		r.current = ""
		r.compact()
	}()
	for _, e := range effects {
		r.current = e.modifier
		if err := e.run(c, s, r); err != nil {
			return wrap(e.modifier, err)
		}
		c.mark("effect/" + e.modifier)
	}
	return nil
}

// mark ends a sub-phase of the pipeline (one modifier, one effect) for
// scripts/breakdown; nothing when Mark is nil, as in production.
func (c *Context) mark(phase string) {
	if c.Mark != nil {
		c.Mark(phase)
	}
}

// Effected reports whether RunEffects has started: whether host state may
// need releasing after a failed launch.
func (c *Context) Effected() bool { return c.effected }

// Mounts is the mount table of hardened-runc's mount namespace as this
// launch found it, read on first use and then shared: every modifier that
// judges or plans by mounts (the mounts and cgroups controls, the user
// namespace's root) reads the same table, once. A read of mountinfo costs
// 0.3 ms here, more on a node with hundreds of mounts. Effects, which
// change mounts, read the table again themselves.
func (c *Context) Mounts() ([]*mountinfo.Info, error) {
	if !c.mountsRead {
		c.mounts, c.mountsErr = mountinfo.GetMounts(nil)
		c.mountsRead = true
	}
	return c.mounts, c.mountsErr
}

// StateDir is RunDir, or the default run directory when the context has
// none (hardenctl, tests): where modifiers keep per-container host state.
func (c *Context) StateDir() string {
	if c.RunDir == "" {
		return policy.DefaultRunDir
	}
	return c.RunDir
}

// Note adds a fact for the forensic record.
func (c *Context) Note(format string, args ...any) {
	c.Notes = append(c.Notes, fmt.Sprintf(format, args...))
}

// Modifier owns one concern of the container spec.
type Modifier interface {
	// Name is short and stable ("capabilities", "seccomp"); it appears in
	// every Change and Denial the modifier produces.
	Name() string
	// Modify fixes s in place, recording each edit with r.Change, or returns
	// a *Denial (via Deny) when policy forbids the launch.
	Modify(ctx *Context, s *specs.Spec, r *Report) error
}

// ProcessModifier is implemented by modifiers that also harden the process of
// `runc exec`: container is the container's (already hardened) spec, p the
// process to run in it.
type ProcessModifier interface {
	Modifier
	ModifyProcess(ctx *Context, container *specs.Spec, p *specs.Process, r *Report) error
}

// Cleaner is implemented by modifiers whose effects leave host state
// behind (mounts, ID ranges, reservations) that must be released when the
// container is deleted or its launch fails. Cleanup must be idempotent and
// must work without a profile: delete has none.
type Cleaner interface {
	Name() string
	Cleanup(ctx *Context) error
}

// Settler is a Cleaner whose release changes what the engine reads once
// delete has returned (userns: the owners in the writable layer). A split
// delete runs the Settlers before the call returns and the other Cleaners
// after it (wrapper's delete).
type Settler interface {
	Cleaner
	SettlesEngineView()
}

// Cleaners releases the host state of a container; it is the pipeline's
// cleanup list, built without a profile.
type Cleaners []Cleaner

// Partition splits l into its Settlers and the rest, each in l's order.
func (l Cleaners) Partition() (settle, rest Cleaners) {
	for _, c := range l {
		if _, ok := c.(Settler); ok {
			settle = append(settle, c)
		} else {
			rest = append(rest, c)
		}
	}
	return settle, rest
}

// Cleanup runs every Cleaner, in reverse pipeline order, and returns all
// errors joined: one failing cleaner must not keep the others from
// releasing their state.
func (l Cleaners) Cleanup(ctx *Context) error {
	var errs []error
	for i := len(l) - 1; i >= 0; i-- {
		if err := l[i].Cleanup(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l[i].Name(), err))
		}
		ctx.mark("cleanup/" + l[i].Name())
	}
	return errors.Join(errs...)
}

// Report collects the changes of one pipeline run.
type Report struct {
	current string
	Changes []Change `json:"changes"`
}

// Change records one edit by the running modifier. The modifier name is
// filled in by the pipeline.
func (r *Report) Change(c Change) {
	if c.Modifier == "" {
		c.Modifier = r.current
	}
	r.Changes = append(r.Changes, c)
}

// Amend replaces the change at index i (from Len before it was recorded)
// with what an effect found on the host: the range really allocated
// instead of the one planned. A nil c drops the change (the effect could
// not do what was planned and noted why).
func (r *Report) Amend(i int, c *Change) {
	if i < 0 || i >= len(r.Changes) {
		return
	}
	if c == nil {
		r.Changes[i].dropped = true
		return
	}
	c.Modifier = r.Changes[i].Modifier
	r.Changes[i] = *c
}

// Len is the number of changes recorded so far: the index the next one
// gets, for Amend.
func (r *Report) Len() int { return len(r.Changes) }

// compact removes the changes Amend dropped.
func (r *Report) compact() {
	kept := r.Changes[:0]
	for _, c := range r.Changes {
		if !c.dropped {
			kept = append(kept, c)
		}
	}
	r.Changes = kept
}

// Set is the common case of Change.
func (r *Report) Set(path string, before, after any, rule, reason, control string) {
	r.Change(Change{Path: path, Before: before, After: after, Rule: rule, Reason: reason, Control: control})
}

// List is an ordered pipeline; it is itself a Modifier.
type List []Modifier

func (l List) Name() string { return "pipeline" }

// Modify runs each modifier in order and stops at the first error, which is
// wrapped with the modifier's name. Denials keep their type.
func (l List) Modify(ctx *Context, s *specs.Spec, r *Report) error {
	for _, m := range l {
		if m == nil {
			continue
		}
		r.current, ctx.current = m.Name(), m.Name()
		if err := m.Modify(ctx, s, r); err != nil {
			return wrap(m.Name(), err)
		}
		ctx.mark("pipeline/" + m.Name())
	}
	r.current, ctx.current = "", ""
	return nil
}

// Apply runs the list's Modify and then, unless ctx.DryRun, the effects the
// modifiers registered: one enforcing launch's pipeline, for a caller that
// holds no session (the tests of one modifier and its host work).
func (l List) Apply(ctx *Context, s *specs.Spec, r *Report) error {
	if err := l.Modify(ctx, s, r); err != nil {
		return err
	}
	if ctx.DryRun {
		return nil
	}
	return ctx.RunEffects(s, r)
}

// ModifyProcess runs the ProcessModifiers of the list in order.
func (l List) ModifyProcess(ctx *Context, container *specs.Spec, p *specs.Process, r *Report) error {
	for _, m := range l {
		pm, ok := m.(ProcessModifier)
		if !ok {
			continue
		}
		r.current, ctx.current = m.Name(), m.Name()
		if err := pm.ModifyProcess(ctx, container, p, r); err != nil {
			return wrap(m.Name(), err)
		}
	}
	r.current, ctx.current = "", ""
	return nil
}

func wrap(name string, err error) error {
	if d, ok := AsDenial(err); ok {
		if d.Modifier == "" {
			d.Modifier = name
		}
		return d
	}
	return fmt.Errorf("%s: %w", name, err)
}
