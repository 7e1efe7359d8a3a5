package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// What doctor says about each kind of lower runtime, probed for real
// (through package lower) from shell scripts that answer as they do.
func TestCheckLower(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"runc115": "case $1 in --version) echo 'runc version 1.1.5+ds1'; echo 'commit: x';; features) echo '{\"linux\":{\"namespaces\":[\"user\",\"pid\"],\"mountExtensions\":{\"idmap\":{\"enabled\":false}},\"seccomp\":{\"enabled\":true,\"actions\":[\"SCMP_ACT_NOTIFY\"]}}}';; esac\n",
		"runc152": "case $1 in --version) echo 'runc version 1.5.2';; features) echo '{\"linux\":{\"mountExtensions\":{\"idmap\":{\"enabled\":true}}}}';; esac\n",
		"runc10":  "case $1 in --version) echo 'runc version 1.0.2';; *) exit 1;; esac\n",
		"crun":    "case $1 in --version) echo 'crun version 1.8.1';; *) exit 1;; esac\n",
		"crun143": "case $1 in --version) echo 'crun version 1.4.3';; *) exit 1;; esac\n",
		"youki":   "case $1 in --version) echo 'youki version 0.3.0';; features) echo 'nope';; esac\n",
		"broken":  "exit 3\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	type want struct {
		status Status
		detail string
	}
	for _, c := range []struct {
		runtime  string
		noProbes bool
		want     map[string]want
	}{
		{"runc115", false, map[string]want{
			"lower.runtime":  {OK, "runc 1.1.5+ds1"},
			"lower.cves":     {Warn, "CVE-2024-21626"},
			"lower.features": {OK, "idmapped bind mounts: false; seccomp: true (notify: true); namespaces: user,pid"},
		}},
		{"runc152", false, map[string]want{
			"lower.runtime":  {OK, "runc 1.5.2"},
			"lower.cves":     {OK, "no known container-escape CVE for runc 1.5.2"},
			"lower.features": {OK, "idmapped bind mounts: true"},
		}},
		{"runc10", false, map[string]want{"lower.features": {Warn, "runc < 1.1"}}},
		{"crun", false, map[string]want{
			"lower.runtime":  {OK, "crun 1.8.1"},
			"lower.cves":     {OK, "no known container-escape CVE for crun 1.8.1"},
			"lower.features": {OK, "crun < 1.9"},
		}},
		{"crun143", false, map[string]want{"lower.cves": {Warn, "CVE-2022-27650"}}},
		{"youki", false, map[string]want{
			"lower.runtime":  {OK, "runtime youki version 0.3.0"},
			"lower.cves":     {OK, "no known"},
			"lower.features": {OK, "not understood"},
		}},
		{"broken", false, map[string]want{"lower.runtime": {Fail, "--version: exit status 3"}}},
		{"nosuch", false, map[string]want{"lower.runtime": {Fail, "no such file"}}},
		{"name:no-such-runtime", false, map[string]want{"lower.runtime": {Fail, `"no-such-runtime" not found in PATH`}}},
		{"broken", true, map[string]want{"lower.runtime": {OK, "lower runtime " + filepath.Join(dir, "broken")}}},
	} {
		path := c.runtime
		if !strings.HasPrefix(path, "name:") {
			path = filepath.Join(dir, path)
		}
		path = strings.TrimPrefix(path, "name:")
		checks := checkLower(Options{Config: &policy.Config{Runtime: path}, NoProbes: c.noProbes}, requirements{})
		got := map[string]Check{}
		for _, ch := range checks {
			got[ch.Name] = ch
		}
		for name, w := range c.want {
			ch, ok := got[name]
			if !ok || ch.Status != w.status || !strings.Contains(ch.Detail, w.detail) {
				t.Errorf("%s: %s = %+v, want %s containing %q", c.runtime, name, ch, w.status, w.detail)
			}
		}
		if f := got["lower.runtime"]; f.Status == Fail && f.Fix == "" {
			t.Errorf("%s: failed without a fix: %+v", c.runtime, f)
		}
	}
}
