package apparmor

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

const (
	field   = "process.apparmorProfile"
	control = "CIS Docker 5.1: AppArmor profile"
)

// Modifier sets process.apparmorProfile to the generated profile (or the
// one the policy names). It reads the hardened capabilities, root.readonly
// and mounts, so it runs after the capability, rootfs, mount and namespace
// modifiers.
type Modifier struct {
	// Host is the kernel and apparmor_parser; nil means System{}.
	Host    Host
	profile *policy.Profile
}

// New returns the modifier for profile p (its [apparmor] section, and the
// template it names) on the running kernel.
func New(p *policy.Profile) *Modifier { return &Modifier{profile: p} }

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "apparmor" }

func (m *Modifier) host() Host {
	if m.Host == nil {
		return System{}
	}
	return m.Host
}

// Modify implements modifier.Modifier.
func (m *Modifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	cfg := m.profile.AppArmor
	if confine.MACLeftAlone(ctx, m.profile, s, cfg.Mode, "apparmor", "AppArmor profile") {
		return nil
	}
	h := m.host()
	if ok, why := h.Available(); !ok {
		return unavailable(ctx, cfg.Mode, s, r, why)
	}
	name, reason, text, err := m.profileFor(ctx, s, h)
	if errors.Is(err, ErrNotPermitted) {
		return notPermitted(ctx, cfg.Mode, s, err)
	}
	if err != nil {
		return err
	}
	p := spec.EnsureProcess(s)
	engine, change := p.ApparmorProfile, -1
	if p.ApparmorProfile != name {
		rule := "apparmor.template"
		if cfg.Profile != "" {
			rule = "apparmor.profile"
		}
		change = r.Len()
		r.Set(field, p.ApparmorProfile, name, rule, reason, control)
		p.ApparmorProfile = name
	}
	if text != "" {
		ctx.Effect(load(h, cfg.Mode, name, text, engine, change))
	}
	return nil
}

// load is the effect that loads the generated profile into the kernel if
// it does not have it yet. A runtime that may not load profiles leaves
// the engine's choice, as notPermitted says, and drops the change.
func load(h Host, mode policy.MACMode, name, text, engine string, change int) modifier.Effect {
	return func(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
		loaded, err := Ensure(h, filepath.Join(ctx.StateDir(), "apparmor"), name, text)
		if errors.Is(err, ErrNotPermitted) {
			spec.EnsureProcess(s).ApparmorProfile = engine
			if change >= 0 {
				r.Amend(change, nil)
			}
			return notPermitted(ctx, mode, s, err)
		}
		if errors.Is(err, ErrNoParser) {
			return modifier.Deny("apparmor.mode",
				fmt.Sprintf("AppArmor is enabled but profile %s cannot be loaded: %v", name, err),
				fmt.Sprintf("install the apparmor package, or set apparmor.mode = %q in profile %q", policy.MACOff, ctx.ProfileName))
		}
		if err != nil {
			return err
		}
		if loaded {
			ctx.Note("apparmor: loaded profile %s", name)
		}
		return nil
	}
}

// unavailable handles a kernel without AppArmor: required denies, and
// if-available runs the container without a profile and records that for
// forensics. What the caller asked for decides the rest, as runc would
// ("apparmor profile ... but AppArmor is not enabled": runc fails closed):
//   - nothing, or "unconfined": nothing to apply, nothing is lost;
//   - a profile hardened-runc generated itself (a spec hardened on another
//     host, e.g. restored from a checkpoint): dropped, as this host's
//     hardening would not have added it;
//   - any other profile is an explicit request for confinement this host
//     cannot give: denied, rather than run the container unconfined.
func unavailable(ctx *modifier.Context, mode policy.MACMode, s *specs.Spec, r *modifier.Report, why string) error {
	if mode == policy.MACRequired {
		return modifier.Deny("apparmor.mode",
			fmt.Sprintf("profile %q requires AppArmor, but %s", ctx.ProfileName, why),
			fmt.Sprintf("run on a kernel with AppArmor enabled, or set apparmor.mode = %q in profile %q", policy.MACIfAvailable, ctx.ProfileName))
	}
	asked := ""
	if s.Process != nil {
		asked = s.Process.ApparmorProfile
	}
	if asked != "" && asked != "unconfined" && !strings.HasPrefix(asked, NamePrefix) {
		return modifier.Deny("apparmor.mode",
			fmt.Sprintf("the caller asks for AppArmor profile %q, but %s (runc refuses such a spec too; running it unconfined would drop the confinement asked for)", asked, why),
			"drop process.apparmorProfile from the request (the engine sets it only where AppArmor is enabled), or run the container on a host with AppArmor")
	}
	ctx.Note("apparmor: not available on this host: %s; the container runs without an AppArmor profile", why)
	if asked != "" {
		reason := "AppArmor is not available on this host: \"unconfined\" is what the container gets, and runc cannot write it"
		if asked != "unconfined" {
			reason = "AppArmor is not available on this host: hardened-runc's own profile from an earlier hardening is dropped, as this host's hardening would not add it"
		}
		r.Set(field, asked, "", "apparmor.mode", reason, control)
		s.Process.ApparmorProfile = ""
	}
	return nil
}

// notPermitted handles a runtime that may not load profiles (rootless):
// required denies; if-available records it and leaves the engine's choice,
// which runc can still apply if that profile is loaded.
func notPermitted(ctx *modifier.Context, mode policy.MACMode, s *specs.Spec, err error) error {
	if mode == policy.MACRequired {
		return modifier.Deny("apparmor.mode",
			fmt.Sprintf("profile %q requires AppArmor, but the container's profile cannot be loaded: %v", ctx.ProfileName, err),
			fmt.Sprintf("run the runtime as root (loading needs CAP_MAC_ADMIN), or set apparmor.mode = %q in profile %q", policy.MACIfAvailable, ctx.ProfileName))
	}
	engine := ""
	if s.Process != nil {
		engine = s.Process.ApparmorProfile
	}
	ctx.Note("apparmor: cannot load the generated profile (%v); the container keeps its engine's profile %q", err, engine)
	return nil
}

// profileFor returns the profile the container runs under and, for a
// generated one, its text, which the effect loads if the kernel does not
// have it yet.
func (m *Modifier) profileFor(ctx *modifier.Context, s *specs.Spec, h Host) (name, reason, text string, err error) {
	if named := m.profile.AppArmor.Profile; named != "" {
		ok, err := h.Loaded(named)
		if err != nil {
			return "", "", "", fmt.Errorf("check profile %s: %w", named, err)
		}
		if !ok {
			return "", "", "", modifier.Deny("apparmor.profile",
				fmt.Sprintf("AppArmor profile %q named by profile %q is not loaded", named, ctx.ProfileName),
				fmt.Sprintf("load it (apparmor_parser -r /etc/apparmor.d/<file>) or unset apparmor.profile in profile %q", ctx.ProfileName))
		}
		return named, "confine the container with the AppArmor profile the policy names", "", nil
	}
	name, text, err = Generate(m.profile, s, h)
	if err != nil {
		return "", "", "", err
	}
	if ctx.DryRun {
		ctx.Note("apparmor: profile %s would be loaded if the kernel does not have it", name)
	}
	return name, "confine the container with a profile generated from its hardened spec", text, nil
}

// Generate renders the profile's AppArmor template for a spec; h tells which
// includes the host has. It returns the profile name and text.
func Generate(p *policy.Profile, s *specs.Spec, h Host) (name, text string, err error) {
	t, err := LoadTemplate(p)
	if err != nil {
		return "", "", err
	}
	d, err := DataFor(s)
	if err != nil {
		return "", "", err
	}
	d.Tunables = h.HasInclude("tunables/global")
	d.Base = h.HasInclude("abstractions/base")
	return t.Render(d)
}

// ModifyProcess implements modifier.ProcessModifier: an exec'd process runs
// under the container's profile. A process.json asking for another profile,
// or for "unconfined", is clamped to the container's, not denied: engines
// copy the container's profile into every exec, so a difference is either
// stale or an attempt to leave the confinement.
func (m *Modifier) ModifyProcess(ctx *modifier.Context, container *specs.Spec, p *specs.Process, r *modifier.Report) error {
	if m.profile.AppArmor.Mode == policy.MACOff || confine.PrivilegedAllowed(m.profile, container) {
		return nil
	}
	want := ""
	if container != nil && container.Process != nil {
		want = container.Process.ApparmorProfile
	}
	if p.ApparmorProfile != want {
		r.Set(field, p.ApparmorProfile, want, "apparmor.mode",
			"an exec'd process runs under the container's AppArmor profile", control)
		p.ApparmorProfile = want
	}
	return nil
}

var _ modifier.ProcessModifier = (*Modifier)(nil)
