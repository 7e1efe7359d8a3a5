package lower

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out            string
		want           Version
		pipeline, impl string
	}{
		{"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n", Version{"runc", "1.1.5+ds1"}, "1.1.5", "runc"},
		{"runc version 1.5.2\ncommit: v1.5.2-0-g1234\n", Version{"runc", "1.5.2"}, "1.5.2", "runc"},
		{"runc version 1.0.0-rc95\n", Version{"runc", "1.0.0-rc95"}, "1.0.0-rc95", "runc"},
		{"runc version 1.1.0~rc.1+dfsg1\n", Version{"runc", "1.1.0~rc.1+dfsg1"}, "1.1.0", "runc"},
		{"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n", Version{"crun", "1.8.1"}, "crun 1.8.1", "crun"},
		{"youki version 0.3.0\n", Version{"", "youki version 0.3.0"}, "youki version 0.3.0", "runtime"},
		{"runc version unknown\n", Version{"", "runc version unknown"}, "runc version unknown", "runtime"},
		{"", Version{}, "", "runtime"},
	} {
		v := ParseVersion([]byte(c.out))
		if v != c.want || v.Pipeline() != c.pipeline || v.Impl() != c.impl {
			t.Errorf("ParseVersion(%q) = %+v (pipeline %q, impl %q); want %+v, %q, %q", c.out, v, v.Pipeline(), v.Impl(), c.want, c.pipeline, c.impl)
		}
	}
}

// fakeRuntimes writes shell scripts standing in for lower runtimes.
func fakeRuntimes(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, script := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// What the pipeline reads from each kind of runtime: runc's features from
// its JSON, a crun without `features` (Debian's 1.8.1) by its version, a
// runc without `features` (< 1.1) with none, and a broken binary with
// nothing but its path.
func TestProbeLower(t *testing.T) {
	dir := fakeRuntimes(t, map[string]string{
		"crun":    "case $1 in --version) echo 'crun version 1.8.1'; echo 'commit: x';; *) echo 'unknown command features' >&2; exit 1;; esac\n",
		"crun17":  "case $1 in --version) echo 'crun version 1.7.2';; *) exit 1;; esac\n",
		"runc":    "case $1 in --version) echo 'runc version 1.5.2';; features) echo '{\"mountOptions\":[\"rro\"],\"linux\":{\"mountExtensions\":{\"idmap\":{\"enabled\":true}},\"seccomp\":{\"actions\":[\"SCMP_ACT_NOTIFY\"],\"supportedFlags\":[\"SECCOMP_FILTER_FLAG_LOG\"]}}}';; esac\n",
		"runc11":  "case $1 in --version) echo 'runc version 1.0.2';; *) exit 1;; esac\n",
		"garbled": "case $1 in --version) echo 'runc version 1.2.0';; features) echo 'not json';; esac\n",
		"broken":  "exit 1\n",
	})
	for _, c := range []struct {
		name string
		want modifier.Lower
	}{
		{"crun", modifier.Lower{Version: "crun 1.8.1", Features: &modifier.Features{SeccompNotify: true}}},
		{"crun17", modifier.Lower{Version: "crun 1.7.2", Features: &modifier.Features{}}},
		{"runc", modifier.Lower{Version: "1.5.2", Features: &modifier.Features{MountOptions: []string{"rro"}, IDMap: true, SeccompNotify: true, SeccompFlags: []string{"SECCOMP_FILTER_FLAG_LOG"}}}},
		{"runc11", modifier.Lower{Version: "1.0.2"}},
		{"garbled", modifier.Lower{Version: "1.2.0"}},
		{"broken", modifier.Lower{}},
	} {
		path := filepath.Join(dir, c.name)
		c.want.Path = path
		if got := ProbeBinary(path).Lower(); !sameLower(got, c.want) {
			t.Errorf("%s: probe = %+v (features %+v), want %+v (features %+v)", c.name, got, got.Features, c.want, c.want.Features)
		}
	}
}

func sameLower(a, b modifier.Lower) bool {
	if a.Path != b.Path || a.Version != b.Version || (a.Features == nil) != (b.Features == nil) {
		return false
	}
	if a.Features == nil {
		return true
	}
	fa, fb := *a.Features, *b.Features
	return fa.IDMap == fb.IDMap && fa.SeccompNotify == fb.SeccompNotify &&
		equal(fa.MountOptions, fb.MountOptions) && equal(fa.SeccompFlags, fb.SeccompFlags)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A runtime that never answers costs the timeout, not the launch: even one
// whose child keeps the output pipe open.
func TestProbeTimeout(t *testing.T) {
	dir := fakeRuntimes(t, map[string]string{
		"hang":  "exec sleep 10\n",
		"child": "sleep 10 &\nsleep 10\n",
	})
	for _, name := range []string{"hang", "child"} {
		start := time.Now()
		p := probeBinary(filepath.Join(dir, name), 200*time.Millisecond)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: probe took %s, want about twice the timeout plus the pipe grace", name, took)
		}
		if p.VersionErr == nil || p.FeaturesErr == nil || p.Lower().Version != "" {
			t.Errorf("%s: probe = %+v, want both probes failed", name, p)
		}
	}
}

// The cache is keyed by the binary's identity: a second call reads the
// cache (the binary is not run again), a changed binary is probed again.
func TestCached(t *testing.T) {
	dir := fakeRuntimes(t, map[string]string{
		"runc": "echo x >> \"$(dirname \"$0\")/calls\"\ncase $1 in --version) echo 'runc version 1.1.5';; *) exit 1;; esac\n",
	})
	path, run := filepath.Join(dir, "runc"), t.TempDir()
	calls := func() int {
		b, err := os.ReadFile(filepath.Join(dir, "calls"))
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		return len(b) / 2
	}
	for i, want := range []int{2, 2} {
		if got := Cached(path, run); got.Version != "1.1.5" || got.Path != path {
			t.Errorf("call %d: %+v", i, got)
		}
		if calls() != want {
			t.Errorf("call %d: runtime run %d times, want %d", i, calls(), want)
		}
	}
	script := "case $1 in --version) echo 'runc version 1.5.2';; *) exit 1;; esac\n"
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Cached(path, run); got.Version != "1.5.2" {
		t.Errorf("after the binary changed: %+v, want 1.5.2", got)
	}
	if got := Cached(filepath.Join(dir, "missing"), run); got.Version != "" {
		t.Errorf("missing binary: %+v", got)
	}
}

func TestCrunFeatures(t *testing.T) {
	for _, c := range []struct {
		release string
		notify  bool
	}{{"1.8.1", true}, {"1.8", true}, {"2.0", true}, {"1.7.2", false}, {"0.21", false}, {"x", false}} {
		f := crunFeatures(c.release)
		if f == nil || f.SeccompNotify != c.notify || f.IDMap {
			t.Errorf("crunFeatures(%q) = %+v, want seccomp notify %v and never idmap", c.release, f, c.notify)
		}
	}
}
