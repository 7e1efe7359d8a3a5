package wrapper

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// probe is a modifier whose Modify plans a value and whose effect fills in
// what only the host could tell, counting every run of the effect: the
// stand-in for userns' range allocation. fail makes the effect deny.
type probe struct {
	effects *int
	fail    bool
}

const planned, effected = "planned", "from the host"

func (probe) Name() string { return "probe" }

func (p probe) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	i := r.Len()
	r.Set("annotations[probe]", nil, planned, "probe", "planned by Modify", "")
	s.Annotations["probe"] = planned
	ctx.Effect(func(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
		*p.effects++
		if p.fail {
			return modifier.Deny("probe", "the host says no", "do not")
		}
		s.Annotations["probe"] = effected
		c := r.Changes[i]
		c.After = effected
		r.Amend(i, &c)
		return nil
	})
	return nil
}

// cleaner counts the cleanups of a launch.
type cleaner struct{ calls *int }

func (cleaner) Name() string                      { return "cleaner" }
func (c cleaner) Cleanup(*modifier.Context) error { *c.calls++; return nil }

type probed struct {
	effects, cleanups int
	fail              bool
}

func (p *probed) pipeline(pr *policy.Profile) modifier.List {
	return append(pipeline.New(pr), probe{effects: &p.effects, fail: p.fail})
}

func (p *probed) cleaners() modifier.Cleaners { return modifier.Cleaners{cleaner{&p.cleanups}} }

func (w *world) runProbed(p *probed, args ...string) int {
	rt := &Runtime{ConfigPath: w.cfg, Self: "/proc/self/exe", Stdin: strings.NewReader(""),
		Stdout: &bytes.Buffer{}, Stderr: &w.stderr, Exec: w.exec, Pipeline: p.pipeline, Cleaners: p.cleaners, Recorder: w.rec}
	return rt.Run(args)
}

func (w *world) profile(t *testing.T, mode policy.Mode) {
	must(t, os.WriteFile(filepath.Join(w.dir, "profiles", "default.toml"),
		[]byte("mode = \""+string(mode)+"\"\n[userns]\nmode = \"disabled\"\n[apparmor]\nmode = \"off\"\n[selinux]\nmode = \"off\"\n"), 0o644))
}

// TestEffectsRunOnlyForEnforcingLaunch: the effect phase runs once for a
// launch that enforces, before config.json is written (the value it fills
// in is what the lower runtime gets, in the spec and in the record), and
// never for explain (whatever the mode) nor for an audit-mode launch.
func TestEffectsRunOnlyForEnforcingLaunch(t *testing.T) {
	t.Run("enforce launch", func(t *testing.T) {
		w, p := newWorld(t), &probed{}
		w.runProbed(p, "--root", w.root, "create", "--bundle", w.bundle, "c1")
		if p.effects != 1 || w.exec.calls != 1 {
			t.Fatalf("effects %d, exec calls %d; stderr %s", p.effects, w.exec.calls, w.stderr.String())
		}
		var s specs.Spec
		must(t, json.Unmarshal(mustRead(t, filepath.Join(w.bundle, "config.json")), &s))
		if s.Annotations["probe"] != effected {
			t.Errorf("config.json has %q, want the effect's value", s.Annotations["probe"])
		}
		if c := probeChange(w.rec.launches[0].Changes); c == nil || c.After != effected {
			t.Errorf("recorded change %+v, want the effect's value", c)
		}
		if p.cleanups != 1 {
			// The fake exec returns: nothing will use what effects set up.
			t.Errorf("cleanups after the failed exec: %d, want 1", p.cleanups)
		}
	})
	t.Run("audit launch", func(t *testing.T) {
		w, p := newWorld(t), &probed{}
		w.profile(t, policy.ModeAudit)
		w.runProbed(p, "--root", w.root, "create", "--bundle", w.bundle, "c1")
		if p.effects != 0 || p.cleanups != 0 {
			t.Fatalf("audit launch ran %d effects, %d cleanups", p.effects, p.cleanups)
		}
		if l := w.rec.launches[0]; l.Decision != Audited || probeChange(l.Changes) == nil || probeChange(l.Changes).After != planned {
			t.Errorf("audit record: decision %s, changes %v", l.Decision, l.Changes)
		}
	})
	for _, mode := range []policy.Mode{policy.ModeEnforce, policy.ModeAudit} {
		t.Run("explain "+string(mode), func(t *testing.T) {
			w, p := newWorld(t), &probed{}
			w.profile(t, mode)
			cfg, err := policy.LoadConfig(w.cfg)
			must(t, err)
			e, err := Explain(ExplainOptions{Config: cfg, Pipeline: p.pipeline, Bundle: w.bundle})
			must(t, err)
			if p.effects != 0 {
				t.Fatalf("explain ran %d effects", p.effects)
			}
			if e.Spec == nil || e.Spec.Annotations["probe"] != planned {
				t.Errorf("explain shows %v, want the planned value", e.Spec)
			}
		})
	}
}

// TestEffectDenialIsEnforced: an effect that denies denies the launch,
// leaves config.json as it came, and what the effects set up is released.
func TestEffectDenialIsEnforced(t *testing.T) {
	w, p := newWorld(t), &probed{fail: true}
	before := mustRead(t, filepath.Join(w.bundle, "config.json"))
	code := w.runProbed(p, "--root", w.root, "create", "--bundle", w.bundle, "c1")
	if code == 0 || w.exec.calls != 0 || p.effects != 1 {
		t.Fatalf("code %d, exec calls %d, effects %d", code, w.exec.calls, p.effects)
	}
	if !bytes.Equal(before, mustRead(t, filepath.Join(w.bundle, "config.json"))) {
		t.Error("config.json changed by a denied launch")
	}
	if l := w.rec.launches[0]; l.Decision != Denied || l.Denial == nil || l.Denial.Modifier != "probe" {
		t.Errorf("record: decision %s, denial %+v", l.Decision, l.Denial)
	}
	if p.cleanups != 1 {
		t.Errorf("cleanups %d, want 1", p.cleanups)
	}
	if !strings.Contains(w.stderr.String(), "denied by policy rule probe") {
		t.Errorf("stderr: %s", w.stderr.String())
	}
}

func probeChange(cs []modifier.Change) *modifier.Change {
	for i := range cs {
		if cs[i].Modifier == "probe" {
			return &cs[i]
		}
	}
	return nil
}
