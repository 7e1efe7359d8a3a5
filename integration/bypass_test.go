//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bypass is one way past the policy, tried through a plain bundle and real
// runc: the spec field or command line an engine's user controls, and what
// hardened-runc must answer. Each area of mediation keeps its cases in its
// own file (bypass_<area>_test.go) and runs them with runBypasses, so the
// escape suite's spec-level half grows with every attack we think of.
type bypass struct {
	// name is what SECURITY.md shows, e.g. `root.path "/"`.
	name string
	// mod turns the harness's ordinary busybox bundle into the attack. It
	// may create host objects (bind mounts, files), and must register
	// their removal with t.Cleanup.
	mod func(t *testing.T, h *Harness, l Lower, s *specs.Spec)
	// runArgs are extra flags for `run` (e.g. --preserve-fds 2).
	runArgs []string
	// want are strings the one-line denial must contain (the rule name at
	// least). Empty with harmless set means the launch may go ahead.
	want []string
	// harmless, where the answer is to neutralise rather than deny, runs
	// after a successful launch and returns "" when the attack had no
	// effect, otherwise what got through.
	harmless func(r Result) string
	// argv is the container's process; default `echo CONTAINER-RAN`.
	argv []string
}

// bypassRows collects SECURITY.md rows when SECURITY_BYPASS_OUT is set.
var bypassRows struct {
	sync.Mutex
	rows []string
}

// runBypasses runs every case on both lower runtimes under the default
// profile and requires each to be denied with a one-line message naming
// hardened-runc and the rule (or, for harmless cases, to have no effect).
func runBypasses(t *testing.T, area string, cases []bypass) {
	t.Helper()
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		for _, tc := range cases {
			tc := tc
			t.Run(sanitize(tc.name), func(t *testing.T) {
				argv := tc.argv
				if len(argv) == 0 {
					argv = []string{"sh", "-c", "echo CONTAINER-RAN"}
				}
				bundle, id := h.newBundle(l, nil, argv...)
				s := readSpec(t, bundle)
				if tc.mod != nil {
					tc.mod(t, h, l, s)
				}
				writeSpec(t, bundle, s)
				before, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
				args := append([]string{"--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json", "run"}, tc.runArgs...)
				r := h.hardenedRunc(t, l, append(args, "--bundle", bundle, id)...)
				h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
				verdict := checkBypass(tc, r, bundle, before)
				recordBypassRow(area, tc.name, l.Name, verdict)
				if !strings.HasPrefix(verdict, "blocked") && !strings.HasPrefix(verdict, "harmless") {
					t.Errorf("%s: %s\n%s", tc.name, verdict, r)
				}
			})
		}
	})
}

// checkBypass says how hardened-runc answered one case.
func checkBypass(tc bypass, r Result, bundle string, before []byte) string {
	if tc.harmless != nil && r.Code == 0 {
		if got := tc.harmless(r); got != "" {
			return "NOT BLOCKED: " + got
		}
		return "harmless"
	}
	if r.Code == 0 || strings.Contains(r.Stdout, "CONTAINER-RAN") {
		return "NOT BLOCKED: the container ran"
	}
	for _, w := range append([]string{"hardened-runc"}, tc.want...) {
		if !strings.Contains(r.Stderr, w) {
			return fmt.Sprintf("failed, but the message does not name %q", w)
		}
	}
	if strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
		return "failed, but not with one line"
	}
	after, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	if string(after) != string(before) {
		return "denied, but config.json was left rewritten"
	}
	return "blocked: " + firstRule(tc.want)
}

func firstRule(want []string) string {
	if len(want) == 0 {
		return ""
	}
	return want[0]
}

func recordBypassRow(area, name, lower, verdict string) {
	if os.Getenv("SECURITY_BYPASS_OUT") == "" {
		return
	}
	bypassRows.Lock()
	defer bypassRows.Unlock()
	bypassRows.rows = append(bypassRows.rows, fmt.Sprintf("| %s | %s | %s | %s |", area, name, lower, verdict))
}

// writeBypassTable writes the collected rows for `make attack`; TestMain
// calls it after every test ran.
func writeBypassTable() error {
	out := os.Getenv("SECURITY_BYPASS_OUT")
	if out == "" {
		return nil
	}
	bypassRows.Lock()
	defer bypassRows.Unlock()
	body := "| area | attack | lower runtime | hardened-runc default |\n|---|---|---|---|\n" + strings.Join(bypassRows.rows, "\n") + "\n"
	return os.WriteFile(out, []byte(body), 0o644)
}
