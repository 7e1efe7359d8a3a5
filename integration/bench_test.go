package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestBenchmarks measures hardened-runc against runc in the same run and
// writes the markdown table to $BENCH_OUT (`make bench`). Timings are
// wall-clock for whole commands, as an engine sees them; they live here,
// not in pass/fail tests, because a shared 2-core VM is noisy.
func TestBenchmarks(t *testing.T) {
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		t.Skip("BENCH_OUT not set: benchmarks run with `make bench`")
	}
	n := 25
	floor := buildMinimalWrapper(t)
	var b strings.Builder
	fmt.Fprintf(&b, "## Runtime overhead (n=%d per cell, medians with p10–p90)\n\n", n)
	fmt.Fprintln(&b, "| lower | operation | runc | hardened-runc | overhead (median) | ratio |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, l := range lowers(t) {
		h := newHarness(t)
		h.writeProfile("nouserns", "[userns]\nmode = \"disabled\"\n")
		for _, c := range []struct {
			name    string
			profile string
			op      func(run func(args ...string) Result, bundle, id string) time.Duration
		}{
			{"create (pipeline cost, default profile)", "default", timeCreate},
			{"create (default profile, userns off)", "nouserns", timeCreate},
			{"create+start+delete cycle", "default", timeCycle},
			{"state (pass-through)", "default", timeState},
		} {
			plain, hard := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				// Interleave so drift on the VM hits both alike.
				bp, idp := h.newBundle(l, nil, "sleep", "30")
				plain = append(plain, c.op(func(args ...string) Result {
					return runCmd(t, time.Minute, nil, nil, l.Path, append([]string{"--root", h.StateRoot}, args...)...)
				}, bp, idp))
				bh, idh := h.newBundle(l, nil, "sleep", "30")
				hard = append(hard, c.op(func(args ...string) Result {
					return h.hardenedRuncProfile(t, l, c.profile, append([]string{"--root", h.StateRoot}, args...)...)
				}, bh, idh))
				os.RemoveAll(bp)
				os.RemoveAll(bh)
			}
			mp, mh := median(plain), median(hard)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %+.2f ms | %.2f× |\n", l.Name, c.name, spread(plain), spread(hard),
				float64(mh-mp)/1e6, float64(mh)/float64(mp))
		}
		// The floor: what any exec wrapper costs on this host, measured
		// as a ten-line Go program that execs runc.
		plain, wrapped := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
		bp, idp := h.newBundle(l, nil, "sleep", "30")
		runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "create", "--bundle", bp, idp)
		for i := 0; i < n; i++ {
			plain = append(plain, timed(func() { runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "state", idp) }))
			wrapped = append(wrapped, timed(func() { runCmd(t, time.Minute, nil, nil, floor, l.Path, "--root", h.StateRoot, "state", idp) }))
		}
		runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "delete", "--force", idp)
		mp, mw := median(plain), median(wrapped)
		fmt.Fprintf(&b, "| %s | state through a minimal Go exec wrapper (the floor for any wrapper here) | %s | %s | %+.2f ms | %.2f× |\n",
			l.Name, spread(plain), spread(wrapped), float64(mw-mp)/1e6, float64(mw)/float64(mp))
	}
	if os.Getenv("HR_NO_DOCKER") == "" {
		d := docker(t)
		plain, hard := make([]time.Duration, 0, 10), make([]time.Duration, 0, 10)
		for i := 0; i < 10; i++ {
			plain = append(plain, timed(func() { d.Run(t, "run", "--rm", "--runtime", "runc", Image, "true") }))
			hard = append(hard, timed(func() { d.Run(t, "run", "--rm", "--runtime", "hardened", Image, "true") }))
		}
		fmt.Fprintf(&b, "\n## docker run --rm (n=10)\n\n| runtime | time |\n|---|---|\n| runc (Docker defaults) | %s |\n| hardened-runc (default profile, lower runc 1.1) | %s |\n\nratio %.2f×\n",
			spread(plain), spread(hard), float64(median(hard))/float64(median(plain)))
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// buildMinimalWrapper builds the smallest possible Go exec wrapper: it
// execs its first argument with the rest, nothing else.
func buildMinimalWrapper(t *testing.T) string {
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"os\"\n\t\"syscall\"\n)\n\nfunc main() { syscall.Exec(os.Args[1], os.Args[1:], os.Environ()) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module wrapper\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "wrapper")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build minimal wrapper: %v %s", err, b)
	}
	return out
}

func timeCreate(run func(args ...string) Result, bundle, id string) time.Duration {
	d := timed(func() { run("create", "--bundle", bundle, id) })
	run("delete", "--force", id)
	return d
}

func timeCycle(run func(args ...string) Result, bundle, id string) time.Duration {
	return timed(func() {
		run("create", "--bundle", bundle, id)
		run("start", id)
		run("delete", "--force", id)
	})
}

func timeState(run func(args ...string) Result, bundle, id string) time.Duration {
	run("create", "--bundle", bundle, id)
	defer run("delete", "--force", id)
	return timed(func() { run("state", id) })
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func spread(d []time.Duration) string {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	p := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) / 1e6 }
	return fmt.Sprintf("%.1f ms (%.1f–%.1f)", p(0.5), p(0.1), p(0.9))
}
