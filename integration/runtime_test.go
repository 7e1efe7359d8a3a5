//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLifecycle drives a plain bundle through every verb hardened-runc
// passes to runc, and checks the running container from inside.
func TestLifecycle(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "sleep", "300")
		root := []string{"--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json"}
		hr := func(args ...string) Result {
			return h.hardenedRunc(t, l, append(append([]string{}, root...), args...)...)
		}
		mustOK := func(r Result, what string) Result {
			t.Helper()
			if r.Code != 0 {
				t.Fatalf("%s: %s", what, r)
			}
			return r
		}
		mustOK(hr("create", "--bundle", bundle, "--pid-file", filepath.Join(bundle, "init.pid"), id), "create")
		defer hr("delete", "--force", id)
		if st := stateOf(t, mustOK(hr("state", id), "state")); st != "created" {
			t.Fatalf("state after create = %q", st)
		}
		mustOK(hr("start", id), "start")
		if st := stateOf(t, mustOK(hr("state", id), "state")); st != "running" {
			t.Fatalf("state after start = %q", st)
		}
		ps := mustOK(hr("ps", "--format", "json", id), "ps")
		var pids []int
		if err := json.Unmarshal([]byte(ps.Stdout), &pids); err != nil || len(pids) == 0 {
			t.Fatalf("ps --format json: %v %q", err, ps.Stdout)
		}
		status := mustOK(hr("exec", id, "cat", "/proc/self/status"), "exec").Stdout
		if statusField(status, "NoNewPrivs") != "1" {
			t.Errorf("exec'd process NoNewPrivs = %q, want 1", statusField(status, "NoNewPrivs"))
		}
		if capEff := statusField(status, "CapEff"); capEff == "000001ffffffffff" || capEff == "" {
			t.Errorf("exec'd process CapEff = %q: capabilities were not reduced", capEff)
		}
		mustOK(hr("pause", id), "pause")
		if st := stateOf(t, mustOK(hr("state", id), "state")); st != "paused" {
			t.Fatalf("state after pause = %q", st)
		}
		mustOK(hr("resume", id), "resume")
		mustOK(hr("kill", id, "KILL"), "kill")
		waitState(t, func() string { return stateOf(t, hr("state", id)) }, "stopped")
		mustOK(hr("delete", id), "delete")
		if r := hr("state", id); r.Code == 0 {
			t.Fatalf("state after delete succeeded: %s", r)
		}
	})
}

func stateOf(t *testing.T, r Result) string {
	t.Helper()
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		return "unparseable: " + r.Stdout + r.Stderr
	}
	return st.Status
}

func waitState(t *testing.T, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := get()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want %q", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunExitCodeAndOutput: `run` in the foreground passes the container's
// exit status and output through unchanged (hardened-runc execs runc).
func TestRunExitCodeAndOutput(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		r := h.run(t, l, "default", nil, "sh", "-c", "echo out; echo err >&2; exit 7")
		if r.Code != 7 || strings.TrimSpace(r.Stdout) != "out" || !strings.Contains(r.Stderr, "err") {
			t.Fatalf("want exit 7, stdout 'out', stderr 'err'; got %s", r)
		}
	})
}

// TestHardenedInside checks, from inside a running container, what the
// default profile promises, and that config.json was rewritten in place.
func TestHardenedInside(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		r := h.run(t, l, "default", func(s *specs.Spec) {
			s.Process.NoNewPrivileges = false
			s.Root.Readonly = false
		}, "sh", "-c", "cat /proc/self/status; touch /etc/x 2>&1 && echo ROOT-WRITABLE; touch /tmp/x && echo TMP-OK")
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		if v := statusField(r.Stdout, "NoNewPrivs"); v != "1" {
			t.Errorf("NoNewPrivs = %q, want 1", v)
		}
		// Since issue 13 the default audits the root instead of making it
		// read-only (TestAuditStrictControls covers enforcement).
		if !strings.Contains(r.Stdout, "ROOT-WRITABLE") {
			t.Errorf("the default profile's root must stay writable (rootfs.readonly = \"audit\"): %s", r.Stdout)
		}
		if !strings.Contains(r.Stdout, "TMP-OK") {
			t.Errorf("/tmp is not writable: %s", r.Stdout)
		}
		if r.Config == nil || r.Config.Root.Readonly || !r.Config.Process.NoNewPrivileges || r.Config.Linux.Seccomp == nil {
			t.Errorf("config.json was not hardened in place")
		}
	})
}

// TestPassThrough: verbs hardened-runc does not manage print exactly what
// runc prints (state and list stay parseable), and --version prints our
// line then runc's.
func TestPassThrough(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		r := h.hardenedRunc(t, l, "--root", h.StateRoot, "list", "--format", "json")
		if r.Code != 0 || !json.Valid([]byte(r.Stdout)) {
			t.Fatalf("list --format json not parseable: %s", r)
		}
		v := h.hardenedRunc(t, l, "--version")
		lines := strings.Split(strings.TrimSpace(v.Stdout), "\n")
		if v.Code != 0 || len(lines) < 2 || !strings.HasPrefix(lines[0], "hardened-runc version") || !(strings.HasPrefix(lines[1], "runc version") || strings.HasPrefix(lines[1], "crun version")) {
			t.Fatalf("--version: %s", v)
		}
		// A container named like a verb is just a name.
		r = h.run(t, l, "default", nil, "echo", "create")
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "create" {
			t.Fatalf("run: %s", r)
		}
		s := h.hardenedRunc(t, l, "--root", h.StateRoot, "state", "create")
		if s.Code == 0 || strings.Contains(s.Stderr, "hardened-runc:") {
			t.Fatalf("`state create` must be runc's own 'does not exist' error: %s", s)
		}
	})
}

// TestBadInput: every malformed input fails before runc runs, with one
// line naming hardened-runc and the container, in runc's --log format, and
// leaves config.json byte-for-byte intact.
func TestBadInput(t *testing.T) {
	l := lowers(t)[0]
	cases := []struct {
		name  string
		setup func(t *testing.T, bundle string)
		want  string
	}{
		{"malformed-json", writeConfig(`{"ociVersion": "1.0.2", "process": {`), "config.json"},
		{"empty", writeConfig(""), "config.json"},
		{"missing", func(t *testing.T, b string) { os.Remove(filepath.Join(b, "config.json")) }, "config.json"},
		{"symlink", func(t *testing.T, b string) {
			os.Rename(filepath.Join(b, "config.json"), filepath.Join(b, "real.json"))
			os.Symlink("real.json", filepath.Join(b, "config.json"))
		}, "config.json"},
		{"fifo", func(t *testing.T, b string) {
			os.Remove(filepath.Join(b, "config.json"))
			syscall.Mkfifo(filepath.Join(b, "config.json"), 0o644)
		}, "config.json"},
		{"10MB-config", func(t *testing.T, b string) {
			// A valid spec made large by its environment, as a CI job with
			// a huge env would send.
			s := readSpec(t, b)
			for i := 0; i < 200000; i++ {
				s.Process.Env = append(s.Process.Env, fmt.Sprintf("PAD%d=%s", i, strings.Repeat("x", 40)))
			}
			writeSpec(t, b, s)
			if fi, _ := os.Stat(filepath.Join(b, "config.json")); fi.Size() < 10<<20 {
				t.Fatalf("config is only %d bytes", fi.Size())
			}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			bundle, id := h.newBundle(l, nil, "true")
			c.setup(t, bundle)
			before := snapshot(bundle)
			logPath := filepath.Join(h.Dir, "log.json")
			if c.want == "" {
				// Large but valid: hardened-runc must harden it. runc
				// 1.1 itself needs over a minute for 200k environment
				// entries, so /bin/true stands in for it here.
				r := h.hardenedRunc(t, Lower{Name: "true", Path: "/bin/true"}, "--root", h.StateRoot, "create", "--bundle", bundle, id)
				s := readSpec(t, bundle)
				if r.Code != 0 || !s.Root.Readonly || s.Linux.Seccomp == nil || len(s.Process.Env) < 200000 {
					t.Fatalf("valid 10 MB config not hardened (readonly %v, env %d): %s", s.Root.Readonly, len(s.Process.Env), r)
				}
				h.hardenedRunc(t, Lower{Name: "true", Path: "/bin/true"}, "--root", h.StateRoot, "delete", "--force", id)
				return
			}
			r := h.hardenedRunc(t, l, "--root", h.StateRoot, "--log", logPath, "--log-format", "json", "create", "--bundle", bundle, id)
			defer h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
			assertCleanFailure(t, r, logPath, id, c.want)
			if after := snapshot(bundle); after != before {
				t.Errorf("bundle changed by a failed create:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	t.Run("missing-bundle", func(t *testing.T) {
		h := newHarness(t)
		logPath := filepath.Join(h.Dir, "log.json")
		r := h.hardenedRunc(t, l, "--root", h.StateRoot, "--log", logPath, "--log-format", "json", "create", "--bundle", "/nonexistent/bundle", "c1")
		assertCleanFailure(t, r, logPath, "c1", "bundle")
	})
	t.Run("unknown-fields-and-ociVersion-kept", func(t *testing.T) {
		for _, ver := range []string{"1.0.0", "1.0.2-dev", "1.3.0", "1.4.0-dev"} {
			h := newHarness(t)
			bundle, id := h.newBundle(l, nil, "true")
			raw := map[string]any{}
			data, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
			json.Unmarshal(data, &raw)
			raw["ociVersion"] = ver
			raw["x-vendor-extension"] = map[string]any{"keep": []any{1, "two"}}
			raw["process"].(map[string]any)["x-proc-field"] = "kept"
			data, _ = json.Marshal(raw)
			os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644)
			r := h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundle, id)
			h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
			after := map[string]any{}
			data, _ = os.ReadFile(filepath.Join(bundle, "config.json"))
			json.Unmarshal(data, &after)
			if after["ociVersion"] != ver || after["x-vendor-extension"] == nil || after["process"].(map[string]any)["x-proc-field"] != "kept" {
				t.Errorf("ociVersion %s: fields lost (create: %s):\n%s", ver, r, data)
			}
		}
	})
	t.Run("unwritable-bundle", func(t *testing.T) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "true")
		// Root ignores permissions: a read-only bind mount makes the
		// directory really unwritable.
		if err := syscall.Mount(bundle, bundle, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("cannot bind-mount the bundle read-only: %v", err)
		}
		defer syscall.Unmount(bundle, syscall.MNT_DETACH)
		if err := syscall.Mount("", bundle, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Skipf("cannot remount the bundle read-only: %v", err)
		}
		before := snapshot(bundle)
		logPath := filepath.Join(h.Dir, "log.json")
		r := h.hardenedRunc(t, l, "--root", h.StateRoot, "--log", logPath, "--log-format", "json", "create", "--bundle", bundle, id)
		assertCleanFailure(t, r, logPath, id, "config.json")
		if snapshot(bundle) != before {
			t.Errorf("bundle changed")
		}
	})
}

// notExecutable returns a regular file without execute permission.
func notExecutable(t *testing.T) string {
	p := filepath.Join(env.workDir, "not-executable-runc")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeConfig(body string) func(t *testing.T, bundle string) {
	return func(t *testing.T, b string) {
		if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot describes the bundle's top-level files (name, type, size, bytes
// of config.json) so a test can tell whether anything changed.
func snapshot(bundle string) string {
	var b strings.Builder
	entries, _ := os.ReadDir(bundle)
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(bundle, e.Name()))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s:%s:%d;", e.Name(), fi.Mode().Type(), fi.Size())
	}
	if fi, err := os.Lstat(filepath.Join(bundle, "config.json")); err == nil && fi.Mode().IsRegular() {
		data, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
		fmt.Fprintf(&b, "%x", data)
	}
	return b.String()
}

// assertCleanFailure: non-zero exit, one stderr line naming hardened-runc,
// the container and the problem, and the same message as the last error
// in runc's JSON --log (what containerd shows to Docker).
func assertCleanFailure(t *testing.T, r Result, logPath, id, want string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("succeeded, want failure: %s", r)
	}
	line := strings.TrimSpace(r.Stderr)
	if strings.Count(line, "\n") != 0 || !strings.HasPrefix(line, "hardened-runc: ") || !strings.Contains(line, "container "+id) || !strings.Contains(line, want) {
		t.Errorf("stderr must be one line naming hardened-runc, container %s and %q; got %q", id, want, r.Stderr)
	}
	msg := lastLogError(t, logPath)
	if msg != line {
		t.Errorf("--log error %q differs from stderr %q", msg, line)
	}
}

func lastLogError(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("no --log file: %v", err)
		return ""
	}
	var msg string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Level == "error" {
			msg = e.Msg
		}
	}
	return msg
}

// TestBrokenPolicy: a malformed config or profile fails create clearly but
// never blocks state, kill or delete of existing containers.
func TestBrokenPolicy(t *testing.T) {
	l := lowers(t)[0]
	h := newHarness(t)
	bundle, id := h.newBundle(l, nil, "sleep", "300")
	if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundle, id); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	// Break the default profile: creates now fail, management does not.
	h.writeProfile("default", "mode = \"enforce\"\n[capabilities]\nallow = [\"CHOWN\"\n")
	b2, id2 := h.newBundle(l, nil, "true")
	logPath := filepath.Join(h.Dir, "log.json")
	r := h.hardenedRunc(t, l, "--root", h.StateRoot, "--log", logPath, "--log-format", "json", "create", "--bundle", b2, id2)
	assertCleanFailure(t, r, logPath, id2, "default.toml:3")
	for _, args := range [][]string{{"state", id}, {"start", id}, {"kill", id, "KILL"}} {
		if r := h.hardenedRunc(t, l, append([]string{"--root", h.StateRoot}, args...)...); r.Code != 0 {
			t.Fatalf("%v blocked by a broken profile: %s", args, r)
		}
	}
	waitState(t, func() string { return stateOf(t, h.hardenedRunc(t, l, "--root", h.StateRoot, "state", id)) }, "stopped")
	if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", id); r.Code != 0 {
		t.Fatalf("delete blocked by a broken profile: %s", r)
	}
	// A malformed config.toml: create fails, delete still works.
	cfg := h.configFor(l, "default")
	os.WriteFile(cfg, []byte("runtime = \n"), 0o644)
	r = runCmd(t, time.Minute, []string{"HARDENED_RUNC_CONFIG=" + cfg}, nil, filepath.Join(env.bin, "hardened-runc"), "--root", h.StateRoot, "delete", "--force", "no-such")
	if strings.Contains(r.Stderr, "hardened-runc:") {
		t.Errorf("delete with a malformed config.toml reported a hardened-runc error: %s", r)
	}
}

// TestLowerRuntimeErrors: a missing, non-executable or self-referencing
// lower runtime is a clear error.
func TestLowerRuntimeErrors(t *testing.T) {
	l := lowers(t)[0]
	for _, c := range []struct{ name, path, want string }{
		{"missing", "/nonexistent/runc", "lower runtime"},
		{"not-executable", notExecutable(t), "not an executable"},
		{"self", filepath.Join(env.bin, "hardened-runc"), "hardened-runc itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			bundle, id := h.newBundle(l, nil, "true")
			before := snapshot(bundle)
			logPath := filepath.Join(h.Dir, "log.json")
			r := h.hardenedRunc(t, Lower{Name: c.name, Path: c.path}, "--root", h.StateRoot, "--log", logPath, "--log-format", "json", "create", "--bundle", bundle, id)
			assertCleanFailure(t, r, logPath, id, c.want)
			if snapshot(bundle) != before {
				t.Errorf("bundle changed")
			}
		})
	}
}

// TestConcurrentCreates: 20 creates at once on 2 cores all succeed and each
// container gets its own hardened config.
func TestConcurrentCreates(t *testing.T) {
	l := lowers(t)[len(lowers(t))-1]
	h := newHarness(t)
	const n = 20
	type made struct{ bundle, id string }
	var bundles []made
	for i := 0; i < n; i++ {
		b, id := h.newBundle(l, nil, "sleep", "60")
		bundles = append(bundles, made{b, id})
	}
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := range bundles {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundles[i].bundle, bundles[i].id)
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		defer h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", bundles[i].id)
		if r.Code != 0 {
			t.Errorf("create %d: %s", i, r)
			continue
		}
		s := readSpec(t, bundles[i].bundle)
		if !s.Root.Readonly || s.Hostname != bundles[i].id {
			t.Errorf("container %d: config not its own hardened one", i)
		}
	}
}
