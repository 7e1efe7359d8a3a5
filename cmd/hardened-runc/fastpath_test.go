package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
)

// TestFastPath checks the pass-through fast path end to end, both halves
// together: the Go side records a decision, and the C constructor then
// execs the lower runtime before the Go runtime starts. "Before the Go
// runtime starts" is observed, not assumed: with GODEBUG=inittrace=1 every
// Go program prints a line per package init, and a call that took the fast
// path prints none.
func TestFastPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fast path records into " + fastpath.Dir)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hardened-runc")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lower := writeLower(t, dir, "lower", "one")
	config := filepath.Join(dir, "config.toml")
	toml := "runtime = \"" + lower + "\"\nrun_dir = \"" + dir + "/run\"\nforensics_dir = \"" + dir + "/forensics\"\n"
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	pathEnv := "/usr/sbin:/usr/bin:/sbin:/bin"
	// A second config names its runtime, to be looked up in PATH.
	byName := filepath.Join(dir, "by-name.toml")
	toml = strings.Replace(toml, lower, "hr-test-lower", 1)
	if err := os.WriteFile(byName, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	early, late := filepath.Join(dir, "early"), filepath.Join(dir, "late")
	os.Mkdir(early, 0o755)
	os.Mkdir(late, 0o755)
	writeLower(t, late, "hr-test-lower", "late")
	namePath := early + ":" + late + ":/usr/bin:/bin"
	t.Cleanup(func() {
		for _, k := range []string{fastpath.Key(config, pathEnv), fastpath.Key(config, "/bin"), fastpath.Key(byName, namePath)} {
			os.Remove(filepath.Join(fastpath.Dir, k))
		}
	})
	// Files younger than fastpath.MinAge are not recorded.
	time.Sleep(fastpath.MinAge + 100*time.Millisecond)

	env := []string{"HARDENED_RUNC_CONFIG=" + config, "PATH=" + pathEnv, "GODEBUG=inittrace=1"}
	run := func(t *testing.T, extraEnv []string, args ...string) (out string, fast bool) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string(nil), env...), extraEnv...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hardened-runc %v: %v\n%s", args, err, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), !strings.Contains(stderr.String(), "init ")
	}

	if _, fast := run(t, nil, "state", "c1"); fast {
		t.Fatal("the first call took the fast path before anything was recorded")
	}
	if _, err := os.Stat(filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv))); err != nil {
		t.Fatalf("the first state call recorded nothing: %v", err)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		fast bool
	}{
		{"state", nil, []string{"state", "c1"}, true},
		{"list", nil, []string{"list", "--format", "json"}, true},
		{"ps", nil, []string{"ps", "c1", "-ef"}, true},
		{"events", nil, []string{"events", "--stats", "c1"}, true},
		{"pause", nil, []string{"pause", "c1"}, true},
		{"resume", nil, []string{"resume", "c1"}, true},
		{"features", nil, []string{"features"}, true},
		{"global flags as engines send them", nil, []string{"--root", "/run/x", "--log", "/dev/null", "--log-format", "json", "--systemd-cgroup", "state", "c1"}, true},
		{"global flags with =", nil, []string{"--root=/run/x", "-log-format=json", "state", "c1"}, true},
		{"-- before the verb", nil, []string{"--root", "/run/x", "--", "state", "c1"}, true},
		{"verb help", nil, []string{"state", "--help"}, true},
		{"a container named state", nil, []string{"kill", "state", "KILL"}, false},
		{"--root takes the verb-looking value", nil, []string{"--root", "state", "c1"}, false},
		{"create is never fast", nil, []string{"create", "--help"}, false},
		{"exec is never fast", nil, []string{"exec", "--help"}, false},
		{"--debug logs, so it goes to Go", nil, []string{"--debug", "state", "c1"}, false},
		{"an unknown global flag", nil, []string{"--new-flag", "state", "c1"}, false},
		{"a bool flag with a value", nil, []string{"--systemd-cgroup=true", "state", "c1"}, false},
		{"--version prints our version", nil, []string{"--version"}, false},
		{"switched off", []string{"HARDENED_RUNC_NO_FASTPATH=1"}, []string{"state", "c1"}, false},
		{"another PATH has no record yet", []string{"PATH=/bin"}, []string{"state", "c1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, fast := run(t, tc.env, tc.args...)
			if fast != tc.fast {
				t.Errorf("fast path taken = %v, want %v", fast, tc.fast)
			}
			// Both paths must exec the same lower runtime with the
			// same arguments.
			// (--version prints hardened-runc's own line first.)
			if want := "one " + strings.Join(tc.args, " "); !strings.HasSuffix(out, want) {
				t.Errorf("lower runtime saw %q, want %q", out, want)
			}
		})
	}

	// Each of these invalidates the record: the call goes to the Go side,
	// which still runs the right lower runtime.
	t.Run("record writable by others", func(t *testing.T) {
		rec := filepath.Join(fastpath.Dir, fastpath.Key(config, pathEnv))
		if err := os.Chmod(rec, 0o622); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(rec, 0o600)
		if out, fast := run(t, nil, "state", "c1"); fast || out != "one state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"one state c1\"", fast, out)
		}
	})
	t.Run("config edited", func(t *testing.T) {
		now := time.Now()
		if err := os.Chtimes(config, now, now); err != nil {
			t.Fatal(err)
		}
		if out, fast := run(t, nil, "state", "c1"); fast || out != "one state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"one state c1\"", fast, out)
		}
	})
	t.Run("runtime looked up in PATH", func(t *testing.T) {
		e := []string{"HARDENED_RUNC_CONFIG=" + byName, "PATH=" + namePath}
		if out, fast := run(t, e, "state", "c1"); fast || out != "late state c1" {
			t.Fatalf("first call: fast=%v out=%q", fast, out)
		}
		if out, fast := run(t, e, "state", "c1"); !fast || out != "late state c1" {
			t.Errorf("second call: fast=%v out=%q, want the fast path and \"late state c1\"", fast, out)
		}
		// A runc that appears earlier in PATH is what the Go side
		// would pick now; the record must not send the call elsewhere.
		writeLower(t, early, "hr-test-lower", "early")
		if out, fast := run(t, e, "state", "c1"); fast || out != "early state c1" {
			t.Errorf("after shadowing: fast=%v out=%q, want the Go side and \"early state c1\"", fast, out)
		}
	})
	t.Run("lower runtime replaced", func(t *testing.T) {
		next := writeLower(t, dir, "lower.new", "two")
		if err := os.Rename(next, lower); err != nil {
			t.Fatal(err)
		}
		if out, fast := run(t, nil, "state", "c1"); fast || out != "two state c1" {
			t.Errorf("fast=%v out=%q, want the Go side and \"two state c1\"", fast, out)
		}
	})
}

// writeLower writes a stand-in lower runtime that prints tag and its
// arguments.
func writeLower(t *testing.T, dir, name, tag string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+tag+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
