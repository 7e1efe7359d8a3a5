package seccomp

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func u(v uint) *uint { return &v }

// TestNarrowToCaller: what the caller's own filter denies outright stays
// denied, with the caller's answer; conditional allows, permissive
// defaults and runc's baseline keep the generated rule.
func TestNarrowToCaller(t *testing.T) {
	gen := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "chmod", "fchmodat", "clone3", "sethostname", "futex"}, Action: specs.ActAllow},
			{Names: []string{"mount"}, Action: specs.ActErrno},
		}}
	}
	allowed := func(p *specs.LinuxSeccomp) []string {
		var out []string
		for _, r := range p.Syscalls {
			if r.Action == specs.ActAllow {
				out = append(out, r.Names...)
			}
		}
		slices.Sort(out)
		return out
	}
	answer := func(p *specs.LinuxSeccomp, name string) (specs.LinuxSeccompAction, uint) {
		for _, r := range p.Syscalls {
			if slices.Contains(r.Names, name) {
				if r.ErrnoRet != nil {
					return r.Action, *r.ErrnoRet
				}
				return r.Action, 0
			}
		}
		return p.DefaultAction, 0
	}
	for _, tc := range []struct {
		name     string
		caller   *specs.LinuxSeccomp
		narrowed []string
		allowed  []string
	}{
		{"no caller profile", nil, nil, []string{"chmod", "clone3", "fchmodat", "futex", "read", "sethostname", "write"}},
		{"permissive, denying chmod (critest's localhost profile)", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"chmod", "fchmodat"}, Action: specs.ActErrno, ErrnoRet: u(1)}}},
			[]string{"chmod", "fchmodat"}, []string{"clone3", "futex", "read", "sethostname", "write"}},
		{"denying by default, ENOSYS for clone3 (Docker's)", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "chmod", "fchmodat"}, Action: specs.ActAllow},
			{Names: []string{"sethostname"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: u(38)}}},
			[]string{"clone3"}, []string{"chmod", "fchmodat", "futex", "read", "sethostname", "write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := gen()
			got := narrowToCaller(p, tc.caller, []string{"futex"})
			if !slices.Equal(got, tc.narrowed) {
				t.Errorf("narrowed %v, want %v", got, tc.narrowed)
			}
			if a := allowed(p); !slices.Equal(a, tc.allowed) {
				t.Errorf("allowed %v, want %v", a, tc.allowed)
			}
			if slices.Contains(tc.narrowed, "clone3") {
				if act, errno := answer(p, "clone3"); act != specs.ActErrno || errno != 38 {
					t.Errorf("clone3 gets %s/%d, want the caller's ERRNO/38 (ENOSYS, so libc falls back to clone)", act, errno)
				}
			}
		})
	}
}
