package confine

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// NoNewPrivilegesModifier forces process.noNewPrivileges, so setuid and
// file-capability binaries do not escalate.
type NoNewPrivilegesModifier struct{ p *policy.Profile }

// NoNewPrivileges returns the "no-new-privileges" control of profile p.
func NoNewPrivileges(p *policy.Profile) *NoNewPrivilegesModifier {
	return &NoNewPrivilegesModifier{p: p}
}

// Name implements modifier.Modifier.
func (*NoNewPrivilegesModifier) Name() string { return "no-new-privileges" }

// Modify implements modifier.Modifier.
func (m *NoNewPrivilegesModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if !m.p.Privileges.NoNewPrivileges {
		return nil
	}
	setNNP(spec.EnsureProcess(s), "process.noNewPrivileges", r)
	return nil
}

// ModifyProcess implements modifier.ProcessModifier: an exec'd process gets
// the flag as well (runc exec takes it from process.json, not the container).
func (m *NoNewPrivilegesModifier) ModifyProcess(ctx *modifier.Context, _ *specs.Spec, proc *specs.Process, r *modifier.Report) error {
	if m.p.Privileges.NoNewPrivileges {
		setNNP(proc, "process.noNewPrivileges", r)
	}
	return nil
}

func setNNP(proc *specs.Process, path string, r *modifier.Report) {
	if proc.NoNewPrivileges {
		return
	}
	proc.NoNewPrivileges = true
	r.Set(path, false, true, "privileges.no_new_privileges",
		"setuid binaries and file capabilities must not raise privileges", ctlNNP)
}
