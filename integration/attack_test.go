//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeResult is one line of integration/probe's output.
type probeResult struct {
	Probe   string `json:"probe"`
	Blocked bool   `json:"blocked"`
	Detail  string `json:"detail"`
}

// launcher runs the probe one way and returns its results by probe name.
type launcher struct {
	name string
	// ours marks hardened-runc's columns: every probe must be blocked there,
	// except those in open.
	ours bool
	// open are probes a column leaves open by design, with the reason.
	open map[string]string
	run  func(t *testing.T) (map[string]probeResult, error)
}

// notConfigBlockable lists probes that no runtime configuration can block on
// every host; none today: the suite only probes what config can stop.
var notConfigBlockable = map[string]bool{}

// defaultOpen are the probes the default profile leaves open (issue 13):
// ordinary images and `docker build` write to their root, so the default
// root is the engine's writable layer under rootfs.readonly = "audit". The
// write lands in this container's own copy-on-write layer, never in the
// image or on the host, and is named in the container's delete record;
// the restricted profile and per-image profiles keep the root read-only.
var defaultOpen = map[string]string{
	"write to the root filesystem": "root writable under rootfs.readonly = \"audit\" (the container's own layer; recorded at delete)",
}

// TestEscapeSuite runs the escape probes under runc's `runc spec` defaults,
// Docker's defaults and hardened-runc's default and restricted profiles on
// both lower runtimes, and requires every config-blockable probe to be
// blocked under hardened-runc. With SECURITY_OUT set it writes the table
// (`make attack`).
func TestEscapeSuite(t *testing.T) {
	d := docker(t)
	probeBin := buildProbe(t)
	image := probeImage(t, d, probeBin)
	var ls []launcher
	ls = append(ls, launcher{name: "runc spec defaults (runc 1.1)", run: func(t *testing.T) (map[string]probeResult, error) {
		return runcSpecProbe(t, lowers(t)[0], probeBin)
	}})
	ls = append(ls, launcher{name: "Docker defaults (--runtime runc)", run: func(t *testing.T) (map[string]probeResult, error) {
		return dockerProbe(t, d, "runc", image, nil)
	}})
	for _, l := range lowers(t) {
		l := l
		ls = append(ls,
			launcher{name: "hardened-runc default (" + l.Name + ")", ours: true, open: defaultOpen, run: func(t *testing.T) (map[string]probeResult, error) {
				return dockerProbe(t, d, d.runtimeFor(l), image, nil)
			}},
			launcher{name: "hardened-runc restricted (" + l.Name + ", uid 1000)", ours: true, run: func(t *testing.T) (map[string]probeResult, error) {
				return dockerProbe(t, d, d.runtimeFor(l), image, []string{"--user", "1000:1000"}, "--restricted")
			}},
		)
	}
	results := make([]map[string]probeResult, len(ls))
	var order []string
	for i, l := range ls {
		r, err := l.run(t)
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		results[i] = r
		if len(order) == 0 {
			for name := range r {
				order = append(order, name)
			}
		}
		if l.ours {
			for name, pr := range r {
				if !pr.Blocked && !notConfigBlockable[name] && l.open[name] == "" {
					t.Errorf("%s: probe %q NOT blocked: %s", l.name, name, pr.Detail)
				}
			}
		}
	}
	sort.Strings(order)
	if out := os.Getenv("SECURITY_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(securityTable(ls, results, order)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func buildProbe(t *testing.T) string {
	t.Helper()
	out := filepath.Join(env.workDir, "probe")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("go", "build", "-o", out, "./integration/probe")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v %s", err, b)
	}
	return out
}

// probeImage imports the busybox rootfs plus the probe as a Docker image.
func probeImage(t *testing.T, d *Docker, probe string) string {
	t.Helper()
	const name = "hr-probe:latest"
	if r := d.Run(t, "image", "inspect", name); r.Code == 0 {
		return name
	}
	dir := filepath.Join(env.workDir, "probe-rootfs")
	if out, err := exec.Command("cp", "-a", env.rootfs, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	if out, err := exec.Command("cp", probe, filepath.Join(dir, "probe")).CombinedOutput(); err != nil {
		t.Fatalf("copy probe: %v %s", err, out)
	}
	imp := exec.Command("sh", "-c", fmt.Sprintf("tar -C %s -c . | docker import - %s", dir, name))
	imp.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import probe image: %v %s", err, out)
	}
	return name
}

func dockerProbe(t *testing.T, d *Docker, runtime, image string, flags []string, args ...string) (map[string]probeResult, error) {
	t.Helper()
	cmd := []string{"run", "--rm", "--runtime", runtime, "-e", "PROBE_IN_CONTAINER=1"}
	cmd = append(cmd, flags...)
	cmd = append(cmd, image, "/probe")
	cmd = append(cmd, args...)
	r := d.Run(t, cmd...)
	res, err := parseProbe(r.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, r)
	}
	cwd := d.Run(t, "run", "--rm", "--runtime", runtime, "-w", "/proc/self/fd/7", image, "pwd")
	res["cwd via /proc/self/fd (CVE-2024-21626)"] = cwdResult(cwd)
	return res, nil
}

// runcSpecProbe runs the probe with runc's own `runc spec` configuration.
func runcSpecProbe(t *testing.T, l Lower, probe string) (map[string]probeResult, error) {
	h := newHarness(t)
	run := func(mod func(*specs.Spec), argv ...string) Result {
		bundle, id := h.newBundle(l, mod, argv...)
		if out, err := exec.Command("cp", probe, filepath.Join(bundle, "rootfs/probe")).CombinedOutput(); err != nil {
			t.Fatalf("copy probe: %v %s", err, out)
		}
		r := runCmd(t, 5*time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "run", "--bundle", bundle, id)
		runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "delete", "--force", id)
		return r
	}
	r := run(func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "PROBE_IN_CONTAINER=1") }, "/probe")
	res, err := parseProbe(r.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, r)
	}
	cwd := run(func(s *specs.Spec) { s.Process.Cwd = "/proc/self/fd/7" }, "pwd")
	res["cwd via /proc/self/fd (CVE-2024-21626)"] = cwdResult(cwd)
	return res, nil
}

// cwdResult: the launch with a cwd under /proc/self/fd must fail, or at
// least not land outside the container's root.
func cwdResult(r Result) probeResult {
	p := probeResult{Probe: "cwd via /proc/self/fd (CVE-2024-21626)"}
	if r.Code != 0 {
		p.Blocked = true
		p.Detail = "launch refused: " + firstLine(r.Stderr+r.Stdout)
		return p
	}
	p.Detail = "started with cwd " + strings.TrimSpace(r.Stdout)
	return p
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}

func parseProbe(out string) (map[string]probeResult, error) {
	res := map[string]probeResult{}
	for _, line := range strings.Split(out, "\n") {
		var p probeResult
		if json.Unmarshal([]byte(line), &p) == nil && p.Probe != "" {
			res[p.Probe] = p
		}
	}
	if len(res) < 30 {
		return nil, fmt.Errorf("probe printed %d results, want all of them", len(res))
	}
	return res, nil
}

func securityTable(ls []launcher, results []map[string]probeResult, order []string) string {
	var b strings.Builder
	b.WriteString("| probe |")
	for _, l := range ls {
		b.WriteString(" " + l.name + " |")
	}
	b.WriteString("\n|---|")
	for range ls {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, name := range order {
		fmt.Fprintf(&b, "| %s |", name)
		for i := range ls {
			p, ok := results[i][name]
			switch {
			case !ok:
				b.WriteString(" – |")
			case p.Blocked:
				fmt.Fprintf(&b, " **blocked** (%s) |", mdEscape(p.Detail))
			default:
				fmt.Fprintf(&b, " ALLOWED (%s) |", mdEscape(p.Detail))
			}
		}
		b.WriteString("\n")
	}
	blocked := make([]int, len(ls))
	for i := range ls {
		for _, name := range order {
			if results[i][name].Blocked {
				blocked[i]++
			}
		}
	}
	b.WriteString("| **blocked** |")
	for i := range ls {
		fmt.Fprintf(&b, " **%d / %d** |", blocked[i], len(order))
	}
	b.WriteString("\n")
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
