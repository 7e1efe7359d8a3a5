package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out, version, name string
	}{
		{"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n", "1.1.5", "runc"},
		{"runc version 1.5.2\ncommit: v1.5.2-0-g1234\n", "1.5.2", "runc"},
		{"runc version 1.0.0-rc95\n", "1.0.0-rc95", "runc"},
		{"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n", "crun 1.8.1", "crun"},
		{"youki version 0.3.0\n", "youki version 0.3.0", ""},
		{"", "", ""},
	} {
		v, n := parseVersion([]byte(c.out))
		if v != c.version || n != c.name {
			t.Errorf("parseVersion(%q) = %q, %q; want %q, %q", c.out, v, n, c.version, c.name)
		}
	}
}

// A crun without `features` (Debian's 1.8.1) is judged by its version; a
// runc with `features` is read from its JSON.
func TestProbeLowerCrun(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"crun": "#!/bin/sh\ncase $1 in --version) echo 'crun version 1.8.1'; echo 'commit: x';; *) echo 'unknown command features' >&2; exit 1;; esac\n",
		"runc": "#!/bin/sh\ncase $1 in --version) echo 'runc version 1.5.2';; features) echo '{\"linux\":{\"mountExtensions\":{\"idmap\":{\"enabled\":false}}}}';; esac\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	crun := probeLower(filepath.Join(dir, "crun"))
	if crun.Version != "crun 1.8.1" || crun.Features == nil || crun.Features.IDMap || !crun.Features.SeccompNotify {
		t.Errorf("crun probe = %+v (features %+v), want version \"crun 1.8.1\", seccomp notify, no idmap", crun, crun.Features)
	}
	runc := probeLower(filepath.Join(dir, "runc"))
	if runc.Version != "1.5.2" || runc.Features == nil || runc.Features.IDMap {
		t.Errorf("runc probe = %+v (features %+v), want 1.5.2 without idmap (its features say so)", runc, runc.Features)
	}
}

// The lower runtime's state for a container: runc's state.json (bundle in
// a label), crun's status (bundle as a field).
func TestLowerState(t *testing.T) {
	runc, crun, none := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(runc, "state.json"), []byte(`{"config":{"labels":["bundle=/b/runc"]}}`), 0o600)
	os.WriteFile(filepath.Join(crun, "status"), []byte(`{"pid": 1, "bundle": "/b/crun", "rootfs": "rootfs"}`), 0o600)
	for _, c := range []struct {
		dir, bundle string
		state       bool
	}{{runc, "/b/runc", true}, {crun, "/b/crun", true}, {none, "", false}} {
		if got := lowerHasState(c.dir); got != c.state {
			t.Errorf("lowerHasState(%s) = %v, want %v", c.dir, got, c.state)
		}
		if got := bundleFromState(c.dir); got != c.bundle {
			t.Errorf("bundleFromState(%s) = %q, want %q", c.dir, got, c.bundle)
		}
	}
}

// An exec without -p asks the lower runtime for no_new_privs when the
// container has it: crun builds the exec'd process from the flags alone.
// A caller's own --no-new-privs is left as it is.
func TestExecKeepsNoNewPrivs(t *testing.T) {
	w := newWorld(t)
	w.run("--root", w.root, "create", "--bundle", w.bundle, "c1")
	w.running(t, "c1")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"exec", "c1", "cat", "/proc/self/status"}, []string{"exec", "--no-new-privs", "c1", "cat", "/proc/self/status"}},
		{[]string{"exec", "--no-new-privs", "c1", "id"}, []string{"exec", "--no-new-privs", "c1", "id"}},
	} {
		w.exec.calls = 0
		// The fake exec returns, so the run "fails" after handing over.
		w.run(append([]string{"--root", w.root}, c.args...)...)
		if w.exec.calls != 1 {
			t.Fatalf("%v: lower runtime called %d times, stderr %s", c.args, w.exec.calls, w.stderr.String())
		}
		got := w.exec.argv[len(w.exec.argv)-len(c.want):]
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v: lower runtime got %v, want ... %v", c.args, w.exec.argv, c.want)
		}
	}
}

func TestCrunFeatures(t *testing.T) {
	for _, c := range []struct {
		version string
		notify  bool
	}{{"crun 1.8.1", true}, {"crun 1.8", true}, {"crun 2.0", true}, {"crun 1.7.2", false}, {"crun 0.21", false}, {"crun x", false}} {
		f := crunFeatures(c.version)
		if f == nil || f.SeccompNotify != c.notify || f.IDMap {
			t.Errorf("crunFeatures(%q) = %+v, want seccomp notify %v and never idmap", c.version, f, c.notify)
		}
	}
}

// TestDefaultLowerRoot: without --root, a container's state is where the
// lower runtime itself keeps it (crun 1.8.1 measured: "rundir:" of `crun
// --version`, and where `crun list` creates its directory as root).
func TestDefaultLowerRoot(t *testing.T) {
	for _, c := range []struct{ version, xdg, want string }{
		{"1.1.5", "", "/run/runc"},
		{"1.5.2", "/run/user/0", "/run/runc"}, // runc ignores XDG_RUNTIME_DIR as root
		{"", "", "/run/runc"},                 // unknown: runc's, as before
		{"crun 1.8.1", "", "/run/crun"},
		{"crun 1.8.1", "/run/user/0", "/run/user/0/crun"},
	} {
		if got := defaultLowerRoot(c.version, c.xdg); got != c.want {
			t.Errorf("defaultLowerRoot(%q, XDG_RUNTIME_DIR=%q) = %q, want %q", c.version, c.xdg, got, c.want)
		}
	}
}
