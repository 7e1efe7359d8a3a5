//go:build integration

package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// statusArgv prints the container's capability and seccomp state.
var statusArgv = []string{"sh", "-c", "grep -E '^(CapInh|CapAmb|CapBnd|Seccomp):' /proc/self/status; echo CONTAINER-RAN"}

// statusIs returns "" when every field of /proc/self/status has the
// wanted value, else what differs.
func statusIs(want map[string]string) func(r Result) string {
	return func(r Result) string {
		var bad []string
		for k, v := range want {
			if got := statusField(r.Stdout, k); got != v {
				bad = append(bad, k+"="+got)
			}
		}
		return strings.Join(bad, ", ")
	}
}

// TestBypassRequests: a spec asking for more than the policy allows, by
// capability or by filter, is refused naming the rule when the request is
// explicit (a capability outside every engine's default set), and is
// neutralised when the spec cannot be told from an engine's ordinary one
// (no filter at all, an allow-everything filter, capabilities only in the
// ambient and inheritable sets).
func TestBypassRequests(t *testing.T) {
	runBypasses(t, "requests", []bypass{
		{
			name: "CAP_SYS_ADMIN in every capability set",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				c := s.Process.Capabilities
				c.Bounding = append(c.Bounding, "CAP_SYS_ADMIN")
				c.Effective = append(c.Effective, "CAP_SYS_ADMIN")
				c.Permitted = append(c.Permitted, "CAP_SYS_ADMIN")
			},
			want: []string{"capabilities.allow", "CAP_SYS_ADMIN"},
		},
		{
			name: "CAP_NET_ADMIN in the ambient and inheritable sets only",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Process.Capabilities.Ambient = append(s.Process.Capabilities.Ambient, "CAP_NET_ADMIN")
				s.Process.Capabilities.Inheritable = append(s.Process.Capabilities.Inheritable, "CAP_NET_ADMIN")
			},
			argv:     statusArgv,
			harmless: statusIs(map[string]string{"CapInh": "0000000000000000", "CapAmb": "0000000000000000"}),
		},
		{
			name: "no seccomp filter (as runc spec and ctr send)",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Seccomp = nil
			},
			argv:     statusArgv,
			harmless: statusIs(map[string]string{"Seccomp": "2"}),
		},
		{
			name: "an allow-everything filter",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
			},
			argv:     statusArgv,
			harmless: statusIs(map[string]string{"Seccomp": "2"}),
		},
	})
}
