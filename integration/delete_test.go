//go:build integration

package integration

import (
	"strings"
	"testing"
)

// TestDeleteExecOrChild: the Go side's delete execs runc in place when
// hardened-runc holds nothing for the container (no user namespace, MCS
// pair or audit state), and runs it as a child, releasing the range and
// the idmapped root beside it or after it, when it does. The phase marks
// say which path was taken; the fast path, which would take the call
// before the Go side once it has recorded this config, is off here
// (cmd/hardened-runc-go's tests and TestDockerStopRecorded cover it).
func TestDeleteExecOrChild(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("nouserns", "[userns]\nmode = \"disabled\"\n")
		marks := []string{"HARDENED_RUNC_MARKS=1", "HARDENED_RUNC_NO_FASTPATH=1"}
		for _, tc := range []struct {
			profile   string
			wantChild bool
		}{
			{"nouserns", false},
			{"default", true},
		} {
			t.Run(tc.profile, func(t *testing.T) {
				hr := func(args ...string) Result {
					return h.hardenedRuncEnv(t, l, tc.profile, marks, append([]string{"--root", h.StateRoot}, args...)...)
				}
				bundle, id := h.newBundle(l, nil, "true")
				if r := hr("create", "--bundle", bundle, id); r.Code != 0 {
					t.Fatalf("create: %s", r)
				}
				if r := hr("start", id); r.Code != 0 {
					hr("delete", "--force", id)
					t.Fatalf("start: %s", r)
				}
				waitState(t, func() string { return stateOf(t, hr("state", id)) }, "stopped")
				r := hr("delete", id)
				if r.Code != 0 {
					t.Fatalf("delete: %s", r)
				}
				child := strings.Contains(r.Stderr, "hardened-runc-mark lower ")
				exec := strings.Contains(r.Stderr, "hardened-runc-mark exec ")
				if child != tc.wantChild || exec == tc.wantChild {
					t.Errorf("runc run as a child: %v, exec'd: %v; want child %v\n%s", child, exec, tc.wantChild, r.Stderr)
				}
				if s := hr("state", id); s.Code == 0 {
					t.Errorf("state after delete succeeded: %s", s)
				}
				assertReleased(t, h.RunDir, id)
			})
		}
		// An exec'd delete passes runc's failure through unchanged.
		r := h.hardenedRuncEnv(t, l, "nouserns", marks, "--root", h.StateRoot, "delete", "no-such-container")
		lowerErr := strings.Contains(r.Stderr, "does not exist") || strings.Contains(r.Stderr, "no-such-container")
		if r.Code == 0 || !strings.Contains(r.Stderr, "hardened-runc-mark exec ") || !lowerErr {
			t.Errorf("delete of a missing container: want runc's error through the exec path, got %s", r)
		}
	})
}
