package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hardenctlEnv is a config.toml and a bundle in a temporary directory, made
// from the spec `runc spec` writes (confine's golden file), so the commands
// run against the library exactly as an admin's would.
type hardenctlEnv struct {
	dir, config, bundle string
}

func newHardenctlEnv(t *testing.T, mod func(*specs.Spec)) *hardenctlEnv {
	t.Helper()
	dir := t.TempDir()
	e := &hardenctlEnv{dir: dir, config: filepath.Join(dir, "config.toml"), bundle: filepath.Join(dir, "bundle")}
	for _, d := range []string{"profiles", "forensics", "run", "bundle/rootfs/tmp", "bundle/rootfs/etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The lower runtime is only probed for its version: a stand-in that
	// prints runc's version line keeps the test off the host's runc.
	fake := filepath.Join(dir, "runc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n[ \"$1\" = --version ] && echo 'runc version 1.1.5'\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "runtime = \"" + fake + "\"\nprofiles_dir = \"" + filepath.Join(dir, "profiles") + "\"\n" +
		"forensics_dir = \"" + filepath.Join(dir, "forensics") + "\"\nrun_dir = \"" + filepath.Join(dir, "run") + "\"\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../libhardening/confine/testdata/runc-1.1-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&s)
	}
	if data, err = json.MarshalIndent(&s, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs hardenctl with args and returns stdout and the error.
func (e *hardenctlEnv) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"--config", e.config}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func hostNetwork(s *specs.Spec) {
	var keep []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			keep = append(keep, n)
		}
	}
	s.Linux.Namespaces = keep
}

func TestExplainCommand(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*specs.Spec)
		args    []string
		want    []string
		wantErr bool
	}{
		{"allowed, text", nil, nil, []string{"decision: allowed", "[capabilities]", "[seccomp]"}, false},
		{"denied names the rule", hostNetwork, nil, []string{"decision: denied", "namespaces.allow_host"}, false},
		{"json has the hardened spec", nil, []string{"--output", "json"}, []string{`"decision": "allowed"`, `"spec": {`, `"noNewPrivileges": true`}, false},
		{"unknown profile", nil, []string{"--profile", "no-such"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newHardenctlEnv(t, tc.mod)
			before, _ := os.ReadFile(filepath.Join(e.bundle, "config.json"))
			out, err := e.run(t, append([]string{"explain", "--bundle", e.bundle}, tc.args...)...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v; out:\n%s", err, tc.wantErr, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			after, _ := os.ReadFile(filepath.Join(e.bundle, "config.json"))
			if !bytes.Equal(before, after) {
				t.Error("explain changed config.json")
			}
		})
	}
}

// TestSeccompGenerateCommand: the profile printed is the one the pipeline
// gives the container, so it reflects the capabilities the pipeline left
// (no CAP_SYS_ADMIN: no mount) and a denied bundle prints the denial.
func TestSeccompGenerateCommand(t *testing.T) {
	e := newHardenctlEnv(t, nil)
	out, err := e.run(t, "seccomp", "generate", "--bundle", e.bundle)
	if err != nil {
		t.Fatal(err)
	}
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(out), &sc); err != nil {
		t.Fatalf("not a seccomp profile: %v\n%s", err, out)
	}
	if sc.DefaultAction == "" || len(sc.Syscalls) == 0 {
		t.Fatalf("empty profile: %s", out)
	}
	allowed := map[string]bool{}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			for _, n := range r.Names {
				allowed[n] = true
			}
		}
	}
	if !allowed["read"] || allowed["mount"] {
		t.Errorf("read allowed %v (want true), mount allowed %v (want false)", allowed["read"], allowed["mount"])
	}

	d := newHardenctlEnv(t, hostNetwork)
	if _, err := d.run(t, "seccomp", "generate", "--bundle", d.bundle); err == nil || !strings.Contains(err.Error(), "namespaces.allow_host") {
		t.Errorf("denied bundle: err = %v, want the denial", err)
	}
}

// TestAppArmorShowCommand: the profile generated for a bundle's spec.
func TestAppArmorShowCommand(t *testing.T) {
	e := newHardenctlEnv(t, nil)
	out, err := e.run(t, "apparmor", "show", "--bundle", e.bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "profile hardened-runc-") || !strings.Contains(out, "deny ") {
		t.Errorf("not an AppArmor profile:\n%s", out)
	}
	if _, err := e.run(t, "apparmor", "show", "--bundle", filepath.Join(e.dir, "missing")); err == nil {
		t.Error("a missing bundle must fail")
	}
}

// TestSeccompLearnBundleCommand: `seccomp learn --bundle` puts the learning
// profile into config.json through the library's spec I/O: numbers no
// float64 can hold survive exactly (in a typed field and in a key the
// runtime-spec types do not know), the file keeps its mode, and it is
// replaced by rename (a new inode, no temporary file left), never
// rewritten in place. The runtime it runs sees the rewritten file.
func TestSeccompLearnBundleCommand(t *testing.T) {
	const limit = int64(9223372036854771712) // float64 makes it ...2000
	e := newHardenctlEnv(t, func(s *specs.Spec) {
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptrTo(limit)}
	})
	path := filepath.Join(e.bundle, "config.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// An unknown key with a uint64 no float64 holds either.
	orig = append(bytes.TrimSuffix(bytes.TrimSpace(orig), []byte("}")), []byte(",\n\t\"x-vendor\": {\"id\": 18446744073709551615}\n}\n")...)
	if err := os.WriteFile(path, orig, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(e.dir, "seen.json")
	socket := filepath.Join(e.dir, "agent.sock")
	_, err = e.run(t, "seccomp", "learn", "--bundle", e.bundle, "--out", "web", "--socket", socket,
		"--runc-version", "1.1.5", "--wait", "0s", "--", "cp", path, seen)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ran, _ := os.ReadFile(seen); !bytes.Equal(ran, got) {
		t.Errorf("the runtime saw another config.json than the one left in the bundle")
	}
	for _, want := range []string{"9223372036854771712", "18446744073709551615", `"x-vendor"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lost in the rewritten config.json:\n%s", want, got)
		}
	}
	var s specs.Spec
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	sc := s.Linux.Seccomp
	if sc == nil || sc.ListenerPath != socket || sc.ListenerMetadata != "web" {
		t.Fatalf("learning profile not written: %+v", sc)
	}
	if s.Linux.Resources.Memory == nil || *s.Linux.Resources.Memory.Limit != limit {
		t.Errorf("memory limit changed: %v", s.Linux.Resources.Memory)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() {
		t.Errorf("mode %v, want the original's %v", after.Mode(), before.Mode())
	}
	if os.SameFile(before, after) {
		t.Error("config.json rewritten in place, not replaced by rename")
	}
	ents, err := os.ReadDir(e.bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ents {
		if d.Name() != "config.json" && d.Name() != "rootfs" {
			t.Errorf("left in the bundle: %s", d.Name())
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
