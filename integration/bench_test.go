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

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
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
	goFloor, cFloor := buildMinimalWrapper(t), buildMinimalCWrapper(t)
	var b strings.Builder
	fmt.Fprintf(&b, "## Runtime overhead (n=%d per create cell, %d per state cell, medians with p10–p90)\n\n", n, 4*n)
	fmt.Fprintln(&b, "| lower | operation | runc | hardened-runc | overhead (median) | ratio |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	row := func(lower, name string, plain, hard []time.Duration) {
		mp, mh := median(plain), median(hard)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %+.2f ms | %.2f× |\n", lower, name, spread(plain), spread(hard),
			float64(mh-mp)/1e6, float64(mh)/float64(mp))
	}
	for _, l := range lowers(t) {
		h := newHarness(t)
		h.writeProfile("nouserns", "[userns]\nmode = \"disabled\"\n")
		for _, c := range []struct {
			name    string
			profile string
			env     []string
			op      func(run func(args ...string) Result, bundle, id string) time.Duration
		}{
			{"create (pipeline cost, default profile)", "default", nil, timeCreate},
			{"create (default profile, userns off)", "nouserns", nil, timeCreate},
			{"create+start+delete cycle", "default", nil, timeCycle},
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
					return h.hardenedRuncEnv(t, l, c.profile, c.env, append([]string{"--root", h.StateRoot}, args...)...)
				}, bh, idh))
				os.RemoveAll(bp)
				os.RemoveAll(bh)
			}
			row(l.Name, c.name, plain, hard)
		}

		// hardened-runc's own cost on create, without the cost of running a
		// hardened container: runc is given the config hardened-runc wrote
		// for an identical bundle, so both run the same container.
		plain, hard := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			bp, idp := h.newBundle(l, nil, "sleep", "30")
			for _, verb := range [][]string{{"create", "--bundle", bp, idp}, {"delete", "--force", idp}} {
				if r := h.hardenedRuncProfile(t, l, "nouserns", append([]string{"--root", h.StateRoot}, verb...)...); r.Code != 0 {
					t.Fatalf("hardening the reference bundle: %s", r)
				}
			}
			plain = append(plain, timeCreate(func(args ...string) Result {
				return runCmd(t, time.Minute, nil, nil, l.Path, append([]string{"--root", h.StateRoot}, args...)...)
			}, bp, idp))
			bh, idh := h.newBundle(l, nil, "sleep", "30")
			hard = append(hard, timeCreate(func(args ...string) Result {
				return h.hardenedRuncProfile(t, l, "nouserns", append([]string{"--root", h.StateRoot}, args...)...)
			}, bh, idh))
			os.RemoveAll(bp)
			os.RemoveAll(bh)
		}
		row(l.Name, "create, userns off, runc given the same hardened config (hardened-runc's own cost)", plain, hard)

		// Pass-through: every variant runs `state` on the same container,
		// interleaved, so all of them see the same machine. The floors
		// are what any exec wrapper costs on this host: a ten-line Go
		// program and a three-line C program that exec runc.
		bp, idp := h.newBundle(l, nil, "sleep", "30")
		runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "create", "--bundle", bp, idp)
		state := []string{"--root", h.StateRoot, "state", idp}
		wrapped := func(w string) func() {
			return func() { runCmd(t, time.Minute, nil, nil, w, append([]string{l.Path}, state...)...) }
		}
		variants := []struct {
			name string
			run  func()
		}{
			{"state (runc)", func() { runCmd(t, time.Minute, nil, nil, l.Path, state...) }},
			{"state (pass-through, fast path)", func() { h.hardenedRuncProfile(t, l, "default", state...) }},
			{"state (pass-through, fast path switched off)", func() {
				h.hardenedRuncEnv(t, l, "default", []string{"HARDENED_RUNC_NO_FASTPATH=1"}, state...)
			}},
			{"state through a minimal Go exec wrapper (the floor for a Go wrapper here)", wrapped(goFloor)},
			{"state through a minimal C exec wrapper (the floor for any wrapper here)", wrapped(cFloor)},
		}
		// The first pass-through call records the fast path; files changed
		// under a second ago are not recorded.
		time.Sleep(fastpath.MinAge)
		variants[1].run()
		series := make([][]time.Duration, len(variants))
		for i := 0; i < 4*n; i++ {
			for j, v := range variants {
				series[j] = append(series[j], timed(v.run))
			}
		}
		for j := 1; j < len(variants); j++ {
			row(l.Name, variants[j].name, series[0], series[j])
		}
		runCmd(t, time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "delete", "--force", idp)
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

// buildMinimalCWrapper is buildMinimalWrapper in C: the cost of exec alone.
func buildMinimalCWrapper(t *testing.T) string {
	dir := t.TempDir()
	src := "#include <unistd.h>\nint main(int argc, char **argv) { (void)argc; execv(argv[1], argv + 1); return 127; }\n"
	if err := os.WriteFile(filepath.Join(dir, "wrapper.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "wrapper")
	if b, err := exec.Command("gcc", "-O2", "-static", "-o", out, filepath.Join(dir, "wrapper.c")).CombinedOutput(); err != nil {
		t.Fatalf("build minimal C wrapper: %v %s", err, b)
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
