//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Environment the harness reads (set by the Makefile; defaults match
// scripts/deps.sh):
//
//	HR_RUNC_11  Debian's runc 1.1.x      (default /usr/sbin/runc)
//	HR_RUNC_15  runc 1.5.x from source    (default /opt/hardened-runc-test/runc-1.5/runc)
//	HR_CRUN     crun                      (default /usr/bin/crun; HR_NO_CRUN=1 leaves it out)
//	HR_LOWERS   comma-separated names: run only these lowers (e.g. "crun")
//	HR_BIN      directory with hardened-runc and hardenctl (default: built by TestMain)
//	HR_NO_DOCKER=1  skip the Docker tests (they print that reason)

// Lower is one lower runtime the tests run against.
type Lower struct {
	Name string // "runc-1.1", "runc-1.5" or "crun"
	Path string
}

// Result is the outcome of a command.
type Result struct {
	Stdout, Stderr string
	Code           int
	Bundle, ID     string
	// Config is the bundle's config.json after the run (hardened), when
	// the harness made the bundle.
	Config *specs.Spec
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
}

// suite is the state TestMain sets up once for the package.
type suite struct {
	bin    string // dir with hardened-runc, hardenctl
	rootfs string // pristine busybox root filesystem
	lowers []Lower
	// crunSkip says why crun is not among lowers ("" when it is).
	crunSkip string
	workDir  string // 0711 dir for everything the tests create
	seq      atomic.Int64
}

var env suite

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		// Asked for by -tags integration: running nothing is a failure,
		// not a pass.
		fmt.Println("integration: these tests start real containers and need root (run `sudo make test`)")
		os.Exit(1)
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := writeBypassTable(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: bypass table:", err)
		code = 1
	}
	teardown()
	os.Exit(code)
}

func setup() error {
	var err error
	if env.workDir, err = os.MkdirTemp("/var/tmp", "hr-it-"); err != nil {
		return err
	}
	// Everything below must be traversable by a container's mapped root
	// (user namespaces): 0711, like /run/hardened-runc.
	if err := os.Chmod(env.workDir, 0o711); err != nil {
		return err
	}
	env.bin = os.Getenv("HR_BIN")
	if env.bin == "" {
		env.bin = filepath.Join(env.workDir, "bin")
		for _, c := range []string{"hardened-runc", "hardenctl"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(env.bin, c), "./cmd/"+c)
			cmd.Dir = repoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("build %s: %v\n%s", c, err, out)
			}
		}
	}
	for _, l := range []Lower{
		{"runc-1.1", envOr("HR_RUNC_11", "/usr/sbin/runc")},
		{"runc-1.5", envOr("HR_RUNC_15", "/opt/hardened-runc-test/runc-1.5/runc")},
	} {
		if _, err := os.Stat(l.Path); err != nil {
			return fmt.Errorf("lower runtime %s at %s: %v (run `make deps`)", l.Name, l.Path, err)
		}
		env.lowers = append(env.lowers, l)
	}
	if l, reason := crunLower(env.workDir); reason != "" {
		env.crunSkip = reason
		fmt.Println("integration: SKIP crun as a lower runtime:", reason)
	} else {
		env.lowers = append(env.lowers, l)
	}
	if only := os.Getenv("HR_LOWERS"); only != "" {
		var kept []Lower
		for _, l := range env.lowers {
			if strings.Contains(","+only+",", ","+l.Name+",") {
				kept = append(kept, l)
			} else if l.Name == "crun" {
				env.crunSkip = "left out by HR_LOWERS=" + only
			}
		}
		fmt.Printf("integration: HR_LOWERS=%s: only %v\n", only, kept)
		env.lowers = kept
	}
	env.rootfs = filepath.Join(env.workDir, "rootfs")
	if err := makeBusyboxRootfs(env.rootfs); err != nil {
		return err
	}
	return nil
}

func teardown() {
	stopDocker()
	if os.Getenv("HR_KEEP") == "" {
		_ = exec.Command("umount", "-R", "-l", env.workDir).Run()
		_ = os.RemoveAll(env.workDir)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// lowers returns the lower runtimes every test must cover.
func lowers(t *testing.T) []Lower {
	t.Helper()
	return env.lowers
}

// makeBusyboxRootfs builds a minimal root filesystem from busybox-static:
// every applet as a symlink, passwd/group with root, nobody and an
// unprivileged user 1000, and a root-owned mode-0600 file.
func makeBusyboxRootfs(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox-static not installed: %w", err)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var/tmp", "run", "home/app", "www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	os.Chmod(filepath.Join(dir, "var/tmp"), 0o1777)
	os.Chmod(filepath.Join(dir, "root"), 0o700)
	os.Chown(filepath.Join(dir, "home/app"), 1000, 1000)
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "bin/busybox" {
			continue
		}
		target := filepath.Join(dir, p)
		rel, _ := filepath.Rel(filepath.Dir(target), filepath.Join(dir, "bin/busybox"))
		if err := os.Symlink(rel, target); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":      "root:x:0:\ntty:x:5:\nnogroup:x:65534:\napp:x:1000:\n",
		"etc/hostname":   "busybox\n",
		"www/index.html": "hello from hardened-runc\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "root/secret"), []byte("root-only\n"), 0o600)
}

// Harness is one test's private world: a config.toml per lower runtime and
// profile, a profiles directory, a forensics directory and a run directory.
type Harness struct {
	t           *testing.T
	Dir         string
	Profiles    string
	Forensics   string
	RunDir      string
	StateRoot   string
	extraConfig string
}

func newHarness(t *testing.T) *Harness {
	t.Helper()
	dir := filepath.Join(env.workDir, fmt.Sprintf("h%d-%s", env.seq.Add(1), sanitize(t.Name())))
	h := &Harness{t: t, Dir: dir,
		Profiles:  filepath.Join(dir, "profiles"),
		Forensics: filepath.Join(dir, "forensics"),
		RunDir:    filepath.Join(dir, "run"),
		StateRoot: filepath.Join(dir, "state"),
	}
	for _, d := range []string{dir, h.Profiles, h.RunDir, h.StateRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func sanitize(s string) string {
	r := strings.NewReplacer("/", "-", " ", "_", ":", "_")
	s = r.Replace(s)
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return s
}

// writeProfile writes <name>.toml into the test's profiles directory.
func (h *Harness) writeProfile(name, body string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.Profiles, name+".toml"), []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// setConfig appends raw TOML (e.g. [[select]] rules) to every config.toml
// this harness writes from now on.
func (h *Harness) setConfig(extra string) { h.extraConfig = extra }

// configFor writes the config.toml that points hardened-runc at lower and
// selects profile by default, and returns its path.
func (h *Harness) configFor(l Lower, profile string) string {
	h.t.Helper()
	if profile == "" {
		profile = "default"
	}
	path := filepath.Join(h.Dir, fmt.Sprintf("config-%s-%s.toml", l.Name, profile))
	body := fmt.Sprintf("runtime = %q\nprofiles_dir = %q\nforensics_dir = %q\nrun_dir = %q\nlog_level = \"info\"\ndefault_profile = %q\n%s\n",
		l.Path, h.Profiles, h.Forensics, h.RunDir, profile, h.extraConfig)
	// hardened-runc processes of concurrent subtests read this file while
	// it is (re)written: replace it atomically, and only when it changes.
	if old, err := os.ReadFile(path); err == nil && string(old) == body {
		return path
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, env.seq.Add(1))
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// newBundle makes a bundle with a private copy of the busybox rootfs and the
// lower runtime's own `runc spec` config, adjusted by mod.
func (h *Harness) newBundle(l Lower, mod func(*specs.Spec), argv ...string) (bundle, id string) {
	h.t.Helper()
	n := env.seq.Add(1)
	id = fmt.Sprintf("hr-%d-%d", os.Getpid(), n)
	bundle = filepath.Join(h.Dir, "b-"+id)
	if err := os.MkdirAll(bundle, 0o711); err != nil {
		h.t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", env.rootfs, filepath.Join(bundle, "rootfs")).CombinedOutput(); err != nil {
		h.t.Fatalf("copy rootfs: %v %s", err, out)
	}
	if out, err := exec.Command(l.Path, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		h.t.Fatalf("%s spec: %v %s", l.Name, err, out)
	}
	s := readSpec(h.t, bundle)
	s.Process.Terminal = false
	if len(argv) > 0 {
		s.Process.Args = argv
	}
	s.Hostname = id
	if mod != nil {
		mod(s)
	}
	writeSpec(h.t, bundle, s)
	return bundle, id
}

// run starts a container in the foreground (`hardened-runc run`) through
// lower under profile, with argv as its process, and returns its output.
func (h *Harness) run(t *testing.T, l Lower, profile string, mod func(*specs.Spec), argv ...string) Result {
	t.Helper()
	bundle, id := h.newBundle(l, mod, argv...)
	r := h.hardenedRuncProfile(t, l, profile, "--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json", "run", "--bundle", bundle, id)
	r.Bundle, r.ID = bundle, id
	if data, err := os.ReadFile(filepath.Join(bundle, "config.json")); err == nil {
		var s specs.Spec
		if json.Unmarshal(data, &s) == nil {
			r.Config = &s
		}
	}
	// A foreground run deletes its container; make sure, and release
	// hardened-runc's resources, even when the run failed.
	h.hardenedRuncProfile(t, l, profile, "--root", h.StateRoot, "delete", "--force", id)
	return r
}

// hardenedRunc runs hardened-runc with args through lower (default profile).
func (h *Harness) hardenedRunc(t *testing.T, l Lower, args ...string) Result {
	t.Helper()
	return h.hardenedRuncProfile(t, l, "default", args...)
}

func (h *Harness) hardenedRuncProfile(t *testing.T, l Lower, profile string, args ...string) Result {
	t.Helper()
	return h.hardenedRuncEnv(t, l, profile, nil, args...)
}

// hardenedRuncEnv is hardenedRuncProfile with extra environment variables.
func (h *Harness) hardenedRuncEnv(t *testing.T, l Lower, profile string, extraEnv []string, args ...string) Result {
	t.Helper()
	return runCmd(t, 2*time.Minute, append([]string{"HARDENED_RUNC_CONFIG=" + h.configFor(l, profile)}, extraEnv...), nil,
		filepath.Join(env.bin, "hardened-runc"), args...)
}

// hardenctl runs hardenctl with the harness's config for lower.
func (h *Harness) hardenctl(t *testing.T, l Lower, args ...string) Result {
	t.Helper()
	return runCmd(t, 2*time.Minute, []string{"HARDENED_RUNC_CONFIG=" + h.configFor(l, "default")}, nil,
		filepath.Join(env.bin, "hardenctl"), args...)
}

// runCmd runs a command with a timeout and returns its output and status.
// Output goes to files, not pipes: a detached container (`create`) inherits
// them, and waiting on a pipe would wait for the container to exit.
func runCmd(t *testing.T, timeout time.Duration, extraEnv []string, stdin []byte, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	outF, err1 := os.CreateTemp("", "hr-out-")
	errF, err2 := os.CreateTemp("", "hr-err-")
	if err1 != nil || err2 != nil {
		t.Fatalf("temp files: %v %v", err1, err2)
	}
	defer os.Remove(outF.Name())
	defer os.Remove(errF.Name())
	defer outF.Close()
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	out, _ := os.ReadFile(outF.Name())
	errb, _ := os.ReadFile(errF.Name())
	r := Result{Stdout: string(out), Stderr: string(errb)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		r.Code = -1
		r.Stderr += "\n" + err.Error()
	}
	if ctx.Err() != nil {
		t.Errorf("%s %v: timed out after %s", name, args, timeout)
	}
	return r
}

func readSpec(t *testing.T, bundle string) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func writeSpec(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// statusField returns a field of /proc/self/status output, e.g. "CapEff".
func statusField(status, field string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// forEachLower runs f as a subtest for every lower runtime.
func forEachLower(t *testing.T, f func(t *testing.T, l Lower)) {
	for _, l := range lowers(t) {
		l := l
		t.Run(l.Name, func(t *testing.T) { f(t, l) })
	}
}

var dockerOnce sync.Once
