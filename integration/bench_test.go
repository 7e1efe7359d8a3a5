//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

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
	// HR_BENCH_DOCKER_ONLY=1 runs only the dockerd rows (they are the
	// noisiest; this repeats them without the create cells).
	cellLowers := lowers(t)
	if os.Getenv("HR_BENCH_DOCKER_ONLY") != "" {
		cellLowers = nil
	}
	for _, l := range cellLowers {
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
			{"create+start+delete cycle (default profile, userns off)", "nouserns", nil, timeCycle},
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

		// hardened-runc's own cost on create (and on the whole cycle),
		// without the cost of running a hardened container: runc is given
		// the config hardened-runc wrote for an identical bundle, so both
		// run the same container.
		for _, c := range []struct {
			name string
			op   func(run func(args ...string) Result, bundle, id string) time.Duration
		}{
			{"create, userns off, runc given the same hardened config (hardened-runc's own cost)", timeCreate},
			{"create+start+delete cycle, userns off, runc given the same hardened config (hardened-runc's own cost)", timeCycle},
		} {
			plain, hard := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				bp, idp := h.newBundle(l, nil, "sleep", "30")
				for _, verb := range [][]string{{"create", "--bundle", bp, idp}, {"delete", "--force", idp}} {
					if r := h.hardenedRuncProfile(t, l, "nouserns", append([]string{"--root", h.StateRoot}, verb...)...); r.Code != 0 {
						t.Fatalf("hardening the reference bundle: %s", r)
					}
				}
				plain = append(plain, c.op(func(args ...string) Result {
					return runCmd(t, time.Minute, nil, nil, l.Path, append([]string{"--root", h.StateRoot}, args...)...)
				}, bp, idp))
				bh, idh := h.newBundle(l, nil, "sleep", "30")
				hard = append(hard, c.op(func(args ...string) Result {
					return h.hardenedRuncProfile(t, l, "nouserns", append([]string{"--root", h.StateRoot}, args...)...)
				}, bh, idh))
				os.RemoveAll(bp)
				os.RemoveAll(bh)
			}
			row(l.Name, c.name, plain, hard)
		}

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
// Freestanding (no libc) where it can be: a static glibc program's
// start-up alone costs about 0.3 ms of CPU here (launcher_test.go).
func buildMinimalCWrapper(t *testing.T) string {
	dir := t.TempDir()
	if out := filepath.Join(dir, "wrapper"); buildFreestanding(out, freestandingExec("0", "0")) == nil {
		return out
	}
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

// TestIdmapBenchmarks measures the idmapped root filesystem (docs/userns.md)
// against runc in the same run and writes its section to $BENCH_OUT: create
// on an engine-style overlay of 1, 5 and 20 layers (runc, hardened-runc
// with userns off, hardened-runc default), and through dockerd `docker run
// --rm`, `docker stop` and `docker cp` into a running container.
func TestIdmapBenchmarks(t *testing.T) {
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		t.Skip("BENCH_OUT not set: benchmarks run with `make bench`")
	}
	n := 21 // odd: spread's median and median() are the same sample
	var b strings.Builder
	fmt.Fprintf(&b, "## Idmapped root filesystem (n=%d per cell, medians with p10–p90)\n\n", n)
	fmt.Fprintln(&b, "`create` of a container whose root is an engine's overlay (Docker's overlay2 layout, a fresh upper per container), interleaved; delete is not timed. \"default − off\" is what the user namespace adds to hardened-runc's create; part of it is runc's own work for a container in a user namespace, measured by giving runc the configs hardened-runc wrote (\"runc, hardened config\": userns off, then default, with the idmapped root left mounted). hardened-runc's own cost for the user namespace and its idmapped root is the difference of the two differences.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| lower | layers | runc | hardened-runc, userns off | hardened-runc, default | default − off | runc, hardened config: off / default | runc's userns cost | hardened-runc's idmapped root |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|")
	// HR_BENCH_DOCKER_ONLY=1 runs only the dockerd rows (they are the
	// noisiest; this repeats them without the create cells).
	cellLowers := lowers(t)
	if os.Getenv("HR_BENCH_DOCKER_ONLY") != "" {
		cellLowers = nil
	}
	for _, l := range cellLowers {
		h := newHarness(t)
		h.writeProfile("nouserns", "[userns]\nmode = \"disabled\"\n")
		runc := func(args ...string) Result {
			return runCmd(t, time.Minute, nil, nil, l.Path, append([]string{"--root", h.StateRoot}, args...)...)
		}
		hardened := func(profile string) func(args ...string) Result {
			return func(args ...string) Result {
				return h.hardenedRuncProfile(t, l, profile, append([]string{"--root", h.StateRoot}, args...)...)
			}
		}
		pooled := make([][]time.Duration, 5)
		for _, layers := range []int{1, 5, 20} {
			lower := benchLayers(t, h, layers)
			series := make([][]time.Duration, 5)
			for i := 0; i < n; i++ {
				for v := range series {
					merged := benchEngineOverlay(t, h, lower)
					bundle, id := h.newBundle(l, func(s *specs.Spec) { s.Root.Path = merged }, "sleep", "30")
					switch v {
					case 0:
						series[v] = append(series[v], timeCreate(runc, bundle, id))
					case 1, 2:
						series[v] = append(series[v], timeCreate(hardened([]string{"", "nouserns", "default"}[v]), bundle, id))
					case 3, 4:
						// hardened-runc writes the config and mounts the
						// root; runc's container goes, the root stays.
						profile := map[int]string{3: "nouserns", 4: "default"}[v]
						if r := hardened(profile)("create", "--bundle", bundle, id); r.Code != 0 {
							t.Fatalf("hardened create: %s", r)
						}
						runc("delete", "--force", id)
						series[v] = append(series[v], timeCreate(runc, bundle, id))
						hardened(profile)("delete", "--force", id)
					}
					syscall.Unmount(merged, syscall.MNT_DETACH)
					os.RemoveAll(bundle)
					os.RemoveAll(filepath.Dir(merged))
				}
			}
			idmapRow(&b, l.Name, fmt.Sprint(layers), series)
			for v := range series {
				pooled[v] = append(pooled[v], series[v]...)
			}
		}
		// One cell's median moves by several milliseconds between runs on
		// this VM; the three layer counts pooled give the steadier figure.
		idmapRow(&b, l.Name, "all three, pooled", pooled)
	}
	if os.Getenv("HR_NO_DOCKER") == "" {
		d := docker(t)
		// A docker stop is ~45 ms with a spread of ±5 ms here: 21
		// samples moved its median by a tenth between runs, 61 by 0.05.
		n := 91
		// The tests reach hardened-runc through a launcher that names its
		// config (a host needs none: its config is at the default path);
		// runc through the same launcher is the floor of that.
		floor := filepath.Join(d.Dir, "runc-launched")
		if err := writeLauncher(floor, filepath.Join(d.Dir, "unused.toml"), env.lowers[0].Path); err != nil {
			t.Fatal(err)
		}
		d.addRuntime(t, "runc-launched", floor)
		fmt.Fprintf(&b, "\n### Through dockerd (hardened-runc default profile, lower runc 1.1; n=%d, interleaved, each runtime in each place of the round in turn)\n\n", n)
		fmt.Fprintln(&b, "| operation | runc | runc through the launcher (floor) | hardened-runc | ratio to runc | ratio to the floor |")
		fmt.Fprintln(&b, "|---|---|---|---|---|---|")
		drow := func(name string, s [][]time.Duration) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f× | %.2f× |\n", name, spread(s[0]), spread(s[1]), spread(s[2]),
				float64(median(s[2]))/float64(median(s[0])), float64(median(s[2]))/float64(median(s[1])))
		}
		src := filepath.Join(t.TempDir(), "cp.txt")
		os.WriteFile(src, []byte("bench\n"), 0o644)
		runs, stops, cps := make([][]time.Duration, 3), make([][]time.Duration, 3), make([][]time.Duration, 3)
		runtimes := []string{"runc", "runc-launched", "hardened"}
		for i := 0; i < n; i++ {
			// Each runtime takes each place in the round in turn: the
			// calls just before a measurement (the previous stop's
			// unmount and sync) weigh on all three alike.
			for k := range runtimes {
				v := (i + k) % len(runtimes)
				rt := runtimes[v]
				runs[v] = append(runs[v], timed(func() { d.Run(t, "run", "--rm", "--runtime", rt, Image, "true") }))
				// PID 1 ends on SIGTERM, so stop measures the runtime,
				// not Docker's timeout.
				r := d.Run(t, "run", "-d", "--runtime", rt, Image, "sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait")
				id := strings.TrimSpace(r.Stdout)
				if r.Code != 0 {
					t.Fatalf("docker run -d: %s", r)
				}
				waitRunning(t, d, id)
				cps[v] = append(cps[v], timed(func() {
					if c := d.Run(t, "cp", src, id+":/etc/cp.txt"); c.Code != 0 {
						t.Errorf("docker cp: %s", c)
					}
				}))
				stops[v] = append(stops[v], timed(func() { d.Run(t, "stop", "-t", "10", id) }))
				d.Run(t, "rm", "-f", id)
			}
		}
		drow("`docker run --rm IMAGE true`", runs)
		drow("`docker stop` (PID 1 exits on SIGTERM)", stops)
		drow("`docker cp` of a file into a running container", cps)
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "dockerd 20.10 calls the runtime four times for `docker run --rm` (create, start, delete, delete --force) and three times for `docker stop` (kill, delete, delete --force), counted by logging every call. The tests reach hardened-runc through a launcher that names its config (a host needs none: its config is at the default path); it is freestanding C, one execve, and \"runc through the launcher\" is runc behind the same one. start, kill and the second delete (hardened-runc holds nothing for the container any more) are recorded by hardened-runc, the C program, into the forensic spool, synced, before runc is exec'd: no Go runtime starts (docs/forensics.md). The first delete forks runc and, beside it, hardened-runc-delete (the Go side without cgo, at nice 10), which moves back what the engine wrote with host IDs, leaves the overlay for dockerd to unmount as it unmounts its own (no unmount, remount or second sync of ours), keeps the range until then and collects the audit evidence while runc deletes the container; the call returns runc's status once runc has exited and that is done, and the helper appends the record and releases the rest afterwards, holding the container's release lock (docs/userns.md). The \"Other Go-path verbs\" table gives each verb's cost beside runc.")
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// idmapRow prints one row of the idmapped root table from its five series:
// runc, hardened-runc with userns off, with the default profile, and runc
// given the configs hardened-runc wrote (off, default).
func idmapRow(b *strings.Builder, lower, layers string, series [][]time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	total := ms(median(series[2]) - median(series[1]))
	runcUserns := ms(median(series[4]) - median(series[3]))
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %+.1f ms | %.1f / %.1f ms | %+.1f ms | %+.1f ms |\n", lower, layers,
		spread(series[0]), spread(series[1]), spread(series[2]), total,
		ms(median(series[3])), ms(median(series[4])), runcUserns, total-runcUserns)
}

// benchLayers lays out an image of n layers as Docker's overlay2 does under
// h.Dir/overlay2: the busybox rootfs at the bottom, n-1 small layers above
// it. It returns the lowerdir= value, top layer first.
func benchLayers(t *testing.T, h *Harness, n int) string {
	t.Helper()
	root := filepath.Join(h.Dir, "overlay2")
	var dirs []string
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("img%d-layer%d", n, i), "diff")
		if i == 0 {
			os.MkdirAll(filepath.Dir(dir), 0o700)
			if out, err := exec.Command("cp", "-a", env.rootfs, dir).CombinedOutput(); err != nil {
				t.Fatalf("copy rootfs: %v %s", err, out)
			}
		} else {
			os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
			os.WriteFile(filepath.Join(dir, "etc", fmt.Sprintf("layer%d", i)), []byte("layer\n"), 0o644)
		}
		dirs = append([]string{dir}, dirs...)
	}
	return strings.Join(dirs, ":")
}

// benchEngineOverlay mounts the engine's overlay of a new container on the
// layers and returns its merged directory.
func benchEngineOverlay(t *testing.T, h *Harness, lower string) string {
	t.Helper()
	c := filepath.Join(h.Dir, "overlay2", fmt.Sprintf("c%d", env.seq.Add(1)))
	for _, d := range []string{"diff", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(c, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("index=off,lowerdir=%s,upperdir=%s/diff,workdir=%s/work", lower, c, c)
	if err := syscall.Mount("overlay", filepath.Join(c, "merged"), "overlay", 0, opts); err != nil {
		t.Fatalf("engine overlay: %v", err)
	}
	return filepath.Join(c, "merged")
}
