//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// TestLowerDoctorAndRecord: `hardenctl doctor` and the runtime see one
// lower runtime the same way (both through package lower). For each lower
// runtime, doctor names it with the version its own `--version` prints,
// judges its CVEs by its implementation (every runc 1.1 is exposed to the
// 2025 procfs CVEs fixed in 1.2.8; runc 1.5 and Debian's crun 1.8 are not),
// and reads its features (crun 1.8 has no `features` verb); a launch
// through hardened-runc records the version modifiers read, derived from
// the same line.
func TestLowerDoctorAndRecord(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		out, err := exec.Command(l.Path, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", l.Path, err)
		}
		v := lower.ParseVersion(out)
		if v.Name == "" {
			t.Fatalf("%s --version printed %q: neither runc nor crun", l.Path, out)
		}
		h := newHarness(t)
		r := h.hardenctl(t, l, "doctor", "--output", "json")
		var checks []struct{ Name, Status, Detail string }
		if (r.Code != 0 && r.Code != 3) || json.Unmarshal([]byte(r.Stdout), &checks) != nil {
			t.Fatalf("doctor: %s", r)
		}
		got := map[string]struct{ status, detail string }{}
		for _, c := range checks {
			got[c.Name] = struct{ status, detail string }{c.Status, c.Detail}
		}
		cves, features := "ok", "runc features: idmapped bind mounts: "
		switch {
		case l.Name == "runc-1.1":
			cves = "warn"
		case v.Name == "crun":
			features = "`crun features` unavailable (crun < 1.9)"
		}
		for name, want := range map[string]struct{ status, detail string }{
			"lower.runtime":  {"ok", l.Path + ", " + v.Name + " " + v.Release},
			"lower.cves":     {cves, v.Name + " " + v.Release},
			"lower.features": {"ok", features},
		} {
			c := got[name]
			if c.status != want.status || !strings.Contains(c.detail, want.detail) {
				t.Errorf("doctor %s = %s %q, want %s containing %q", name, c.status, c.detail, want.status, want.detail)
			}
		}
		if l.Name == "runc-1.1" && !strings.Contains(got["lower.cves"].detail, "CVE-2025-31133") {
			t.Errorf("runc 1.1 not reported exposed to CVE-2025-31133: %q", got["lower.cves"].detail)
		}

		res, _ := launch(t, h, l, "default", "true")
		if res.Code != 0 {
			t.Fatalf("run: %s", res)
		}
		show := h.hardenctl(t, l, "forensics", "show", res.ID, "--dir", h.Forensics, "--output", "json")
		var recs []struct {
			Verb  string `json:"verb"`
			Lower *struct {
				Path    string `json:"path"`
				Version string `json:"version"`
			} `json:"lower"`
		}
		if show.Code != 0 || json.Unmarshal([]byte(show.Stdout), &recs) != nil {
			t.Fatalf("forensics show: %s", show)
		}
		found := false
		for _, rec := range recs {
			if rec.Verb != "run" {
				continue
			}
			found = true
			if rec.Lower == nil || rec.Lower.Path != l.Path || rec.Lower.Version != v.Pipeline() {
				t.Errorf("run record's lower = %+v, want %s %q", rec.Lower, l.Path, v.Pipeline())
			}
		}
		if !found {
			t.Errorf("no run record for %s: %s", res.ID, show.Stdout)
		}
	})
}

// TestLowerProbeTimeout: a lower runtime that never answers `--version`
// costs the launch the probe's timeout, not the launch itself: create goes
// on (the runtime treats the version as unknown), and doctor says why.
func TestLowerProbeTimeout(t *testing.T) {
	l := lowers(t)[0]
	h := newHarness(t)
	hang := Lower{Name: "hanging", Path: filepath.Join(h.Dir, "hanging-runc")}
	script := "#!/bin/sh\ncase $1 in --version|features) exec sleep 60;; esac\nexec " + l.Path + " \"$@\"\n"
	if err := os.WriteFile(hang.Path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := h.hardenctl(t, hang, "doctor", "--output", "json")
	if took := time.Since(start); took > 2*lower.Timeout+30*time.Second {
		t.Errorf("doctor took %s with a hanging runtime", took)
	}
	if !strings.Contains(r.Stdout, "no answer within "+lower.Timeout.String()) {
		t.Errorf("doctor does not say the runtime did not answer: %s", r)
	}
	start = time.Now()
	res, _ := launch(t, h, hang, "default", "true")
	if res.Code != 0 {
		t.Fatalf("run through a runtime that does not answer --version: %s", res)
	}
	if took := time.Since(start); took > 2*lower.Timeout+30*time.Second {
		t.Errorf("run took %s: the probe timeout does not hold", took)
	}
}
