package wrapper

import (
	"bytes"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// seenFlags are the context flags a modifier was run with.
type seenFlags struct{ ran, dryRun, audit bool }

// flagProbe records the context flags it is run with.
type flagProbe struct{ seen *seenFlags }

func (flagProbe) Name() string { return "flags" }

func (f flagProbe) Modify(ctx *modifier.Context, _ *specs.Spec, _ *modifier.Report) error {
	*f.seen = seenFlags{ran: true, dryRun: ctx.DryRun, audit: ctx.Audit}
	return nil
}

// TestContextAuditFlag: modifiers tell `hardenctl explain` (DryRun, not
// Audit) from a profile that audits (both) by the context alone, as the
// userns modifier does to take its explain-only shortcut; an enforcing
// launch sets neither.
func TestContextAuditFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    policy.Mode
		explain bool
		want    seenFlags
	}{
		{"enforce launch", policy.ModeEnforce, false, seenFlags{ran: true}},
		{"audit launch", policy.ModeAudit, false, seenFlags{ran: true, dryRun: true, audit: true}},
		{"explain enforce", policy.ModeEnforce, true, seenFlags{ran: true, dryRun: true}},
		{"explain audit", policy.ModeAudit, true, seenFlags{ran: true, dryRun: true, audit: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, seen := newWorld(t), &seenFlags{}
			w.profile(t, tc.mode)
			pl := func(*policy.Profile) modifier.List { return modifier.List{flagProbe{seen}} }
			noCleaners := func() modifier.Cleaners { return nil }
			if tc.explain {
				cfg, err := policy.LoadConfig(w.cfg)
				must(t, err)
				_, err = Explain(ExplainOptions{Config: cfg, Pipeline: pl, Bundle: w.bundle})
				must(t, err)
			} else {
				rt := &Runtime{ConfigPath: w.cfg, Self: "/proc/self/exe", Stdin: bytes.NewReader(nil),
					Stdout: &bytes.Buffer{}, Stderr: &w.stderr, Exec: w.exec, Pipeline: pl, Cleaners: noCleaners, Recorder: w.rec}
				rt.Run([]string{"--root", w.root, "create", "--bundle", w.bundle, "c1"})
			}
			if *seen != tc.want {
				t.Fatalf("context flags %+v, want %+v; stderr %s", *seen, tc.want, w.stderr.String())
			}
		})
	}
}
