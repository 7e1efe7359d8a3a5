package wrapper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/enginestate"
	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// create hardens <bundle>/config.json for create, run and restore, writes it
// back atomically, records the launch and execs runc with the caller's argv.
func (iv *invocation) create() int {
	bundle, err := iv.bundleDir()
	if err != nil {
		return iv.fail(err)
	}
	launch := &Launch{Verb: iv.args.Verb(), Args: iv.args.Args(), ContainerID: iv.containerID(), Bundle: bundle}
	// The lower runtime refuses an ID it already has under this --root,
	// and so does hardened-runc, before anything is set up: a second
	// create of a live ID must neither touch nor, failing, release what
	// the live container holds (its MCS pair, its audit state).
	// An ID runc would refuse (a path like "../x") names no state of it
	// and is left to runc's own error.
	if id := iv.containerID(); userns.ValidID(id) == nil {
		// The delete of a container of the same ID (a restart) returns
		// before all it held is released: that finishes first.
		if err := inflight.Wait(iv.cfg.RunDir, id, inflight.Patience); err != nil {
			iv.log.WithError(err).Warn("hardened-runc: create: waiting for the release of the container's previous delete")
		}
		if _, err := os.Lstat(iv.stateDir(id)); err == nil {
			return iv.failLaunch(launch, nil, fmt.Errorf("container with id exists: %s (the lower runtime has it under %s; delete it first)", id, iv.lowerRoot()))
		}
	}
	doc, err := spec.Load(bundle)
	if err != nil {
		return iv.failLaunch(launch, nil, fmt.Errorf("%w (config.json left as it was)", err))
	}
	iv.mark("spec-load")
	// asCame is config.json as this invocation found it: what a launch
	// that does not go ahead leaves in place.
	asCame := doc.Original()
	launch.Original = asCame
	rerun, err := iv.restoreRewrite(doc, bundle)
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	if rerun != nil {
		launch.Original = rerun.Original
	}
	launch.Annotations = doc.Spec.Annotations

	h, err := iv.session(doc.Spec, bundle)
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	launch.Annotations = enginestate.WithImage(launch.Annotations, h.image)
	if h.ctx.UnknownFields, err = doc.UnknownFields(); err != nil {
		return iv.failLaunch(launch, h.profile, fmt.Errorf("list unknown fields: %w (config.json left as it was)", err))
	}
	if rerun != nil {
		h.ctx.Note("rerun: config.json is what hardened-runc wrote for container %s at %s; hardened again from the caller's original kept in the run directory",
			rerun.ID, rerun.Written.Format("2006-01-02T15:04:05Z"))
	}
	if err := iv.checkPreserveFDs(h); err != nil {
		h.fill(launch)
		return iv.failLaunch(launch, h.profile, err)
	}
	iv.mark("profile")
	if _, err := h.apply(doc.Spec); err != nil {
		h.fill(launch)
		iv.cleanup(h.ctx)
		return iv.failLaunch(launch, h.profile, err)
	}
	h.fill(launch)
	iv.mark("pipeline")
	written := false
	if h.profile.Mode == policy.ModeEnforce {
		// Encoded once: the re-run memory and the file get the same bytes.
		enc, err := doc.Encode()
		if err == nil {
			// Without the record the bundle cannot simply be run again;
			// the launch itself does not depend on it.
			if rerr := userns.RememberRewrite(iv.cfg.RunDir, iv.containerID(), bundle, launch.Original, enc.Bytes()); rerr != nil {
				iv.log.WithError(rerr).Warn("hardened-runc: the bundle will not be re-runnable as it is")
			}
			written, err = doc.WriteEncoded(enc)
		}
		if err != nil {
			iv.cleanup(h.ctx)
			return iv.failLaunch(launch, h.profile, fmt.Errorf("write hardened config.json: %w (the original is intact)", err))
		}
		// The bytes just written, as they are: the record hashes and
		// stores them without encoding the spec again.
		launch.Hardened = doc.Stored()
	}
	// From here a failure must also put config.json back as it came.
	undo := func() {
		iv.cleanup(h.ctx)
		if written {
			if err := doc.Restore(asCame); err != nil {
				iv.log.WithError(err).Warn("hardened-runc: restoring config.json after a failed launch")
			}
		}
	}
	iv.mark("encode-write")
	if err := iv.record(launch, h.profile); err != nil {
		undo()
		return iv.fail(err)
	}
	iv.mark("record")
	for _, f := range h.ctx.BeforeExec {
		if err := f(); err != nil {
			undo()
			return iv.fail(err)
		}
	}
	iv.logChanges(h)
	code := iv.exec(iv.args.Args())
	// exec only returns when it failed: nothing will use what the
	// modifiers set up (idmapped rootfs, ID range). config.json stays
	// hardened: the launch was allowed, only the lower runtime is missing.
	iv.cleanup(h.ctx)
	return code
}

// restoreRewrite puts the caller's original spec in doc when config.json
// is exactly what hardened-runc wrote for this bundle before (a re-run):
// the pipeline then hardens the original again, so nothing restored skips
// a check. The memory is the run directory's, never the spec's.
func (iv *invocation) restoreRewrite(doc *spec.Document, bundle string) (*userns.Rewrite, error) {
	w, ok, err := userns.RestoreRewrite(iv.cfg.RunDir, bundle, doc.Original())
	if err != nil || !ok {
		return nil, err
	}
	orig, err := spec.Parse(w.Original)
	if err != nil {
		return nil, fmt.Errorf("the original config.json kept for this bundle: %w", err)
	}
	doc.Spec = orig.Spec
	return &w, nil
}

// checkPreserveFDs refuses --preserve-fds N unless fds 3…3+N-1 are the
// caller's and none reaches the host's tree (confine.CheckPreserveFDs).
func (iv *invocation) checkPreserveFDs(h *session) error {
	v, _ := iv.args.Flag("preserve-fds")
	if h.profile.Mode == policy.ModeOff {
		return nil
	}
	if err := confine.CheckPreserveFDs(h.ctx, h.profile, v); err != nil {
		return h.judge(err)
	}
	return nil
}

// bundleDir is the bundle as an absolute path: runc takes a relative
// --bundle (and root.path and bind sources) against the working directory,
// and the modifiers resolve them the same way.
func (iv *invocation) bundleDir() (string, error) {
	b := iv.args.Bundle()
	if b == "" {
		// runc's default bundle is the working directory.
		return os.Getwd()
	}
	abs, err := filepath.Abs(b)
	if err != nil {
		return "", fmt.Errorf("bundle %s: %w", b, err)
	}
	return abs, nil
}

// session is one run of the pipeline for one container.
type session struct {
	pipeline    func(*policy.Profile) modifier.List
	profile     *policy.Profile
	profileRule string
	// image is the container's image as selection saw it ("" unknown).
	image    string
	ctx      *modifier.Context
	report   modifier.Report
	decision Decision
	denial   *modifier.Denial
	// caller and engine are who asked for the container, as selection
	// judged them; the record keeps the same facts.
	caller *forensics.Caller
	engine *forensics.Engine
	// launch is set when the spec apply returns is what the lower runtime
	// runs (the runtime's own sessions, not explain): only then do the
	// modifiers' effects run.
	launch bool
}

// sessionBase is what a session needs besides the container's spec.
type sessionBase struct {
	cfg      *policy.Config
	pipeline func(*policy.Profile) modifier.List
	verb     string
	id       string
	bundle   string
	root     string
	lower    string
	systemd  bool
	// profile overrides selection (hardenctl explain --profile).
	profile string
}

// newSession selects the profile for the container whose spec is s and
// builds the modifier context.
func newSession(b sessionBase, s *specs.Spec) (*session, error) {
	t := policy.Target{ContainerID: b.id}
	if s != nil {
		t.Annotations = s.Annotations
		if s.Process != nil {
			t.Args = s.Process.Args
		}
	}
	// Selection may trust only the annotations the engine wrote itself,
	// and the engine is decided from its own process, never from them.
	caller := forensics.ReadCaller("/proc", os.Getppid())
	engine := forensics.EngineFrom(t.Annotations, b.bundle, caller)
	t.Trusted = engine.TrustedSet()
	t.Image = enginestate.Image(s, b.id)
	dockerImage(engine, s, b.id)
	name, rule, err := b.cfg.SelectProfile(t)
	if b.profile != "" {
		name, rule, err = b.profile, "--profile", nil
	}
	if err != nil {
		return nil, fmt.Errorf("select profile: %w", err)
	}
	p, err := policy.Store{Dir: b.cfg.ProfilesDir}.Load(name)
	if err != nil {
		return nil, fmt.Errorf("profile %q (chosen by %s): %w", name, rule, err)
	}
	ctx := &modifier.Context{
		Verb:          b.verb,
		ContainerID:   b.id,
		Bundle:        b.bundle,
		Root:          b.root,
		ProfileName:   name,
		Profile:       p,
		Lower:         lower.Cached(b.lower, b.cfg.RunDir),
		RunDir:        b.cfg.RunDir,
		SystemdCgroup: b.systemd,
		StatePaths:    b.cfg.StatePaths(b.root),
	}
	return &session{pipeline: b.pipeline, profile: p, profileRule: rule, image: t.Image, ctx: ctx, caller: caller, engine: engine}, nil
}

// dockerImage records, for a container Docker made, the image dockerd keeps
// in its own root-owned config.v2.json: Docker passes no image to the
// runtime, and an annotation naming one is the user's claim, not Docker's.
func dockerImage(e *forensics.Engine, s *specs.Spec, id string) {
	if e == nil || e.Name != provenance.Docker || e.Image != "" {
		return
	}
	if d, err := enginestate.DockerContainer(s, id); err == nil && d.Image != "" {
		e.Image = d.Image
		e.Evidence += "; image from dockerd's config.v2.json"
	}
}

// session builds the session for this invocation.
func (iv *invocation) session(s *specs.Spec, bundle string) (*session, error) {
	g := iv.args.Global()
	h, err := newSession(sessionBase{
		cfg: iv.cfg, pipeline: iv.rt.Pipeline,
		verb: iv.args.Verb(), id: iv.containerID(), bundle: bundle,
		root: iv.lowerRoot(), lower: iv.lower, systemd: g.SystemdCgroup,
	}, s)
	if err != nil {
		return nil, err
	}
	h.launch = true
	h.ctx.Mark = iv.rt.Mark
	return h, nil
}

// apply runs the pipeline on s according to the profile's mode and returns
// the spec enforcement produces: s itself, hardened in place, when the
// profile enforces; a hardened copy when it audits (s, which the runtime
// launches, stays as it came); s untouched when the profile is off. Only
// an enforcing profile runs the modifiers' effects (their host work); in
// audit mode a denial or an error is recorded but not enforced. The runtime
// and `hardenctl explain` both decide through apply, so they cannot
// disagree; explain runs it with a profile that enforces on a copy, and
// keeps it off the host by not being a launch: a session that launches
// nothing never runs effects.
func (h *session) apply(s *specs.Spec) (*specs.Spec, error) {
	list := h.pipeline(h.profile)
	// Modifiers plan with what they can read where the result will not be
	// launched as it is, instead of failing on what they cannot.
	h.ctx.DryRun = !h.launch
	switch h.profile.Mode {
	case policy.ModeOff:
		h.decision = Unmanaged
		return s, nil
	case policy.ModeAudit:
		h.ctx.DryRun, h.ctx.Audit = true, true
		h.decision = Audited
		would := spec.Clone(s)
		if err := list.Modify(h.ctx, would, &h.report); err != nil {
			if d, ok := modifier.AsDenial(err); ok {
				h.denial = d
				h.ctx.Note("audit: would deny: %s", d.Error())
				return would, nil
			}
			h.ctx.Note("audit: pipeline error: %v", err)
		}
		return would, nil
	}
	if err := list.Modify(h.ctx, s, &h.report); err != nil {
		return s, h.judge(err)
	}
	if err := h.effects(s); err != nil {
		return s, err
	}
	h.decision = Allowed
	return s, nil
}

// effects runs the host work the modifiers planned (ID range, idmapped
// root, MCS pair, AppArmor profile...) on the final spec s, which they
// fill in with what only the host can tell, before anything is written.
// Only an enforcing launch reaches it: apply returns before it for audit
// and off, and a session that launches nothing (explain) runs none, so
// neither touches the host.
func (h *session) effects(s *specs.Spec) error {
	if !h.launch {
		return nil
	}
	if err := h.ctx.RunEffects(s, &h.report); err != nil {
		return h.judge(err)
	}
	return nil
}

// judge turns a pipeline error into the session's decision: a denial is
// enforced (or, in audit mode, only noted), anything else fails the launch.
func (h *session) judge(err error) error {
	if d, ok := modifier.AsDenial(err); ok {
		h.denial = d
		if h.profile.Mode == policy.ModeAudit {
			h.decision = Audited
			h.ctx.Note("audit: would deny: %s", d.Error())
			return nil
		}
		h.decision = Denied
		msg := d.Error()
		if !strings.Contains(msg, fmt.Sprintf("profile %q", h.profile.Name)) {
			msg += fmt.Sprintf(" (profile %q)", h.profile.Name)
		}
		return errors.New(msg)
	}
	h.decision = Failed
	return fmt.Errorf("harden (profile %q): %w", h.profile.Name, err)
}

// fill copies the session's outcome into the forensic record.
func (h *session) fill(l *Launch) {
	l.Lower = h.ctx.Lower
	l.Profile = h.profile
	l.ProfileRule = h.profileRule
	l.Changes = h.report.Changes
	l.Notes = h.ctx.Notes
	l.Decision = h.decision
	l.Denial = h.denial
	l.Caller, l.Engine = h.caller, h.engine
}

// cleanup releases what the modifiers' effects set up for a launch that
// will not happen (mounts, ID ranges). Without effects there is nothing to
// release. Errors are logged: the launch already failed.
func (iv *invocation) cleanup(ctx *modifier.Context) {
	if ctx == nil || !ctx.Effected() || iv.rt.Cleaners == nil {
		return
	}
	if err := iv.rt.Cleaners().Cleanup(ctx); err != nil {
		iv.log.WithError(err).Warn("hardened-runc: cleanup after failed launch")
	}
}

// failLaunch records a launch that is not going ahead, then fails.
func (iv *invocation) failLaunch(l *Launch, p *policy.Profile, err error) int {
	if l.Decision == "" {
		l.Decision = Failed
	}
	l.Error = iv.errorLine(err)
	if rerr := iv.record(l, p); rerr != nil {
		iv.log.WithError(rerr).Warn("hardened-runc: forensic record of a failed launch")
	}
	return iv.fail(err)
}

// record stores the forensic record. When that fails, the profile's
// forensics.on_failure decides: fail-closed (the default) denies the launch
// ("no record, no launch"), fail-open logs the error and goes on.
func (iv *invocation) record(l *Launch, p *policy.Profile) error {
	err := iv.recorder().Record(l)
	if err == nil {
		return nil
	}
	if !forensics.FailClosed(p, l.Verb) {
		iv.log.WithError(err).Error("hardened-runc: forensic record failed; going on (forensics.on_failure = fail-open)")
		return nil
	}
	if l.Decision == Denied || l.Decision == Failed {
		return err
	}
	return forensics.FailureDenial(p, iv.cfg.ForensicsDir, err)
}

func (iv *invocation) logChanges(h *session) {
	lv := iv.log.WithField("profile", h.profile.Name).WithField("id", h.ctx.ContainerID)
	lv.Infof("hardened-runc: %s %d changes (%s)", h.decision, len(h.report.Changes), h.ctx.Verb)
	for _, c := range h.report.Changes {
		lv.Debug(c.String())
	}
}
