// Command breakdown measures where every millisecond of a real
// `hardened-runc create` goes, and what the other Go-path verbs cost beside
// runc, and prints markdown for BENCHMARKS.md (scripts/bench.sh runs it as
// root: `go run ./scripts/breakdown -bin bin/hardened-runc -runc RUNC`).
//
// The create is timed from the outside (CLOCK_MONOTONIC before the process
// is started, and when it has exited) and split from the inside by the
// runtime's phase marks (wrapper.MarksEnv), which use the same clock. Every
// series is interleaved with its comparisons, so drift on a shared machine
// hits them alike; the table shows medians.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func main() {
	bin := flag.String("bin", "bin/hardened-runc", "hardened-runc binary")
	runc := flag.String("runc", "/usr/sbin/runc", "lower runtime")
	name := flag.String("name", "", "lower runtime's name in the table (default: its path)")
	n := flag.Int("n", 30, "iterations of each series")
	flag.Parse()
	if *name == "" {
		*name = *runc
	}
	if err := run(*bin, *runc, *name, *n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "breakdown:", err)
		os.Exit(1)
	}
}

// world is one run's temporary directory: bundles, state, config.
type world struct {
	dir, bin, runc string
	env            []string
	orig           []byte // config.json as `runc spec` wrote it, running `sleep 30`
	short          []byte // the same, running `true`
}

func run(bin, runc, name string, n int, w io.Writer) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hr-breakdown-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	wd := &world{dir: dir, bin: bin, runc: runc}
	if err := wd.setup(); err != nil {
		return err
	}
	floor, err := buildGoWrapper(dir)
	if err != nil {
		return err
	}
	c, err := wd.measureCreate(floor, n)
	if err != nil {
		return err
	}
	stub, err := buildStub(dir, runc)
	if err != nil {
		return err
	}
	if err := wd.measureOwn(c, floor, stub, n); err != nil {
		return err
	}
	v, err := wd.measureVerbs(n)
	if err != nil {
		return err
	}
	inits, initMs, err := wd.inits()
	if err != nil {
		return err
	}
	// The Go side, beside hardened-runc (the C program), is what starts.
	st, err := os.Stat(filepath.Join(filepath.Dir(bin), fastpath.GoName))
	if err != nil {
		return err
	}
	syncs, err := measureSyncs(filepath.Join(dir, "forensics"), n)
	if err != nil {
		return err
	}
	c.print(w, name, n, st.Size(), inits, initMs)
	v.print(w, name, n)
	printSyncs(w, syncs, n)
	return nil
}

// measureSyncs times, on the file system of dir, each durability step the
// create path has or had (docs/durability.md): the record's fdatasync, and
// the fsyncs of config.json and of its directory that it no longer makes.
func measureSyncs(dir string, n int) ([][2]any, error) {
	doc := bytes.Repeat([]byte("x"), 12<<10)
	var plain, fsyncFile, fsyncDir, appendSync []float64
	timed := func(series *[]float64, op func() error) error {
		start := now()
		if err := op(); err != nil {
			return err
		}
		*series = append(*series, ms(now()-start))
		return nil
	}
	for i := 0; i < n; i++ {
		f, err := os.OpenFile(filepath.Join(dir, "sync-test"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		d, err := os.Open(dir)
		if err != nil {
			return nil, err
		}
		a, err := os.OpenFile(filepath.Join(dir, "append-test"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		err = errors.Join(
			timed(&plain, func() error { _, err := f.Write(doc); return err }),
			timed(&fsyncFile, f.Sync),
			timed(&fsyncDir, d.Sync),
			func() error { _, err := a.Write(doc); return err }(),
			timed(&appendSync, func() error { return unix.Fdatasync(int(a.Fd())) }),
			f.Close(), d.Close(), a.Close())
		if err != nil {
			return nil, err
		}
	}
	return [][2]any{
		{"write(2) of 12 KB, no sync (what config.json costs now)", plain},
		{"fsync of a fresh 12 KB file (config.json's temporary file, no longer made)", fsyncFile},
		{"fsync of the directory after it (the bundle directory, no longer made)", fsyncDir},
		{"fdatasync after appending 12 KB (the forensic record, the one sync a create makes)", appendSync},
	}, nil
}

func printSyncs(w io.Writer, rows [][2]any, n int) {
	fmt.Fprintf(w, "### What each sync costs on this file system (n=%d, medians; see docs/durability.md)\n\n", n)
	fmt.Fprintln(w, "| step | median |")
	fmt.Fprintln(w, "|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.3f ms |\n", r[0], median(r[1].([]float64)))
	}
	fmt.Fprintln(w)
}

// setup writes a busybox bundle, a config.toml whose default profile turns
// user namespaces off (the idmapped root filesystem's cost is not the
// wrapper's), and its own forensics and run directories.
func (wd *world) setup() error {
	rootfs := filepath.Join(wd.dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return err
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed for the bundle: %w", err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, l := range []string{"sh", "true", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", l)); err != nil {
			return err
		}
	}
	cmd := exec.Command(wd.runc, "spec")
	cmd.Dir = wd.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	if wd.orig, err = editSpec(filepath.Join(wd.dir, "config.json"), "sleep", "30"); err != nil {
		return err
	}
	if wd.short, err = editSpec(filepath.Join(wd.dir, "config.json"), "true"); err != nil {
		return err
	}
	for _, d := range []string{"profiles", "forensics", "run", "state"} {
		if err := os.MkdirAll(filepath.Join(wd.dir, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(wd.dir, "profiles", "nouserns.toml"), []byte("[userns]\nmode = \"disabled\"\n"), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf("runtime = %q\nprofiles_dir = %q\nforensics_dir = %q\nrun_dir = %q\ndefault_profile = \"nouserns\"\n",
		wd.runc, filepath.Join(wd.dir, "profiles"), filepath.Join(wd.dir, "forensics"), filepath.Join(wd.dir, "run"))
	cfgPath := filepath.Join(wd.dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	wd.env = append(os.Environ(), "HARDENED_RUNC_CONFIG="+cfgPath)
	return nil
}

// editSpec makes `runc spec`'s config run args without a terminal. It goes
// through the runtime-spec struct, as engines write their configs, so the
// file keeps runc's field order and layout.
func editSpec(path string, args ...string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, errors.New("runc spec wrote no process")
	}
	s.Process.Terminal = false
	s.Process.Args = args
	return json.MarshalIndent(&s, "", "\t")
}

// bundle makes a bundle directory with its own copy of the rootfs link.
func (wd *world) bundle(name string, config []byte) (string, error) {
	b := filepath.Join(wd.dir, name)
	if err := os.MkdirAll(b, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(b, "config.json"), config, 0o644); err != nil {
		return "", err
	}
	root := filepath.Join(b, "rootfs")
	if _, err := os.Lstat(root); errors.Is(err, os.ErrNotExist) {
		if err := exec.Command("cp", "-a", filepath.Join(wd.dir, "rootfs"), root).Run(); err != nil {
			return "", err
		}
	}
	return b, nil
}

// hardenedBundle makes a bundle holding config and has hardened-runc harden
// it (create, then delete through runc), so that runc, given the bundle,
// runs the spec hardened-runc writes.
func (wd *world) hardenedBundle(name string, config []byte) (string, error) {
	b, err := wd.bundle(name, config)
	if err != nil {
		return "", err
	}
	if _, err := wd.hr(wd.env, "create", "--bundle", b, name); err != nil {
		return "", err
	}
	if _, err := wd.lower("delete", "--force", name); err != nil {
		return "", err
	}
	return b, nil
}

// timing is one command's wall clock and its phase marks, in ms from start.
type timing struct {
	total float64
	marks map[string]float64
}

// timeCmd runs argv with stdout and stderr in a file (never a pipe: a
// created container's init keeps them open) and returns its timing.
func (wd *world) timeCmd(env []string, argv ...string) (timing, error) {
	out, err := os.CreateTemp(wd.dir, "out-")
	if err != nil {
		return timing{}, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Env = out, out, env
	start := now()
	err = cmd.Run()
	end := now()
	if err != nil {
		data, _ := os.ReadFile(out.Name())
		return timing{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, data)
	}
	t := timing{total: ms(end - start), marks: map[string]float64{}}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return timing{}, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == wrapper.MarkPrefix {
			if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				t.marks[f[1]] = ms(ns - start)
			}
		}
	}
	return t, nil
}

func (wd *world) hr(env []string, args ...string) (timing, error) {
	return wd.timeCmd(env, append([]string{wd.bin, "--root", filepath.Join(wd.dir, "state")}, args...)...)
}

func (wd *world) lower(args ...string) (timing, error) {
	return wd.timeCmd(wd.env, append([]string{wd.runc, "--root", filepath.Join(wd.dir, "state")}, args...)...)
}

// createRun is the create series.
type createRun struct {
	hr, runc, floor []float64
	phases          map[string][]float64
	// steps are the pipeline's own marks (one per modifier, one per
	// effect), in the order of the first run, each from the mark before.
	steps     []string
	stepTimes map[string][]float64
	// own series: the same create with a lower runtime that exits at once
	// (the stub), the stub alone, and the Go wrapper in front of the stub.
	ownHR, ownStub, ownFloor []float64
}

// measureOwn times hardened-runc's own cost without runc's noise in it: the
// lower runtime is a static C stub that exits at once (it hands --version
// and features to the real runc, so the hardened spec is the same). The
// stub alone, the Go wrapper in front of it and hardened-runc in front of it
// run interleaved; the differences are the wrapper floor and the own cost.
func (wd *world) measureOwn(r *createRun, floor, stub string, n int) error {
	cfg := filepath.Join(wd.dir, "config-stub.toml")
	data, err := os.ReadFile(filepath.Join(wd.dir, "config.toml"))
	if err != nil {
		return err
	}
	data = bytes.Replace(data, []byte(fmt.Sprintf("runtime = %q", wd.runc)), []byte(fmt.Sprintf("runtime = %q", stub)), 1)
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "HARDENED_RUNC_CONFIG="+cfg)
	hb, err := wd.bundle("own", wd.orig)
	if err != nil {
		return err
	}
	// One untimed call first: it probes the stub's version and features
	// (from runc) and caches them, as an installed runc is probed once.
	if _, err := wd.hr(env, "create", "--bundle", hb, "o"); err != nil {
		return err
	}
	state := filepath.Join(wd.dir, "state")
	for i := 0; i < n; i++ {
		t, err := wd.timeCmd(env, stub, "--root", state, "create", "--bundle", hb, "o")
		if err != nil {
			return err
		}
		r.ownStub = append(r.ownStub, t.total)
		if t, err = wd.timeCmd(env, floor, stub, "--root", state, "create", "--bundle", hb, "o"); err != nil {
			return err
		}
		r.ownFloor = append(r.ownFloor, t.total)
		if err := os.WriteFile(filepath.Join(hb, "config.json"), wd.orig, 0o644); err != nil {
			return err
		}
		if t, err = wd.hr(env, "create", "--bundle", hb, "o"); err != nil {
			return err
		}
		r.ownHR = append(r.ownHR, t.total)
	}
	return nil
}

// buildStub builds the lower runtime that exits at once.
func buildStub(dir, runc string) (string, error) {
	src := filepath.Join(dir, "stub.c")
	code := fmt.Sprintf(`#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "features"))) {
		argv[0] = %q;
		execv(argv[0], argv);
	}
	return 0;
}
`, runc)
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "stub")
	if b, err := exec.Command("gcc", "-O2", "-static", "-o", out, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the stub lower runtime (gcc, static glibc): %v: %s", err, b)
	}
	return out, nil
}

// phases are the runtime's marks in order, with what each interval holds.
var phases = []struct{ mark, what string }{
	{"main", "process start: fork+execve, Go runtime start, package inits"},
	{"config", "argv, config.toml, lower runtime resolved"},
	{"spec-load", "config.json read and decoded (first use of the runtime-spec types' JSON)"},
	{"profile", "caller and engine read from /proc, profile selected and loaded"},
	{"pipeline", "the modifier pipeline"},
	{"encode-write", "config.json encoded and written (temporary file, rename)"},
	{"record-build", "forensic record built (hashes, redaction, host facts)"},
	{"record-append", "forensic record appended (flock, write, fdatasync)"},
	{"exec", "witness, BeforeExec hooks, logging"},
}

func (wd *world) measureCreate(floor string, n int) (*createRun, error) {
	// runc is given the config hardened-runc writes, so both run the same
	// container and the difference is hardened-runc's own work.
	ref, err := wd.hardenedBundle("ref", wd.orig)
	if err != nil {
		return nil, err
	}
	hardened, err := os.ReadFile(filepath.Join(ref, "config.json"))
	if err != nil {
		return nil, err
	}
	pb, err := wd.bundle("plain", hardened)
	if err != nil {
		return nil, err
	}
	hb, err := wd.bundle("hard", wd.orig)
	if err != nil {
		return nil, err
	}
	marks := append(wd.env, wrapper.MarksEnv+"=1")
	r := &createRun{phases: map[string][]float64{}, stepTimes: map[string][]float64{}}
	state := filepath.Join(wd.dir, "state")
	for i := 0; i < n; i++ {
		t, err := wd.lower("create", "--bundle", pb, "p")
		if err != nil {
			return nil, err
		}
		r.runc = append(r.runc, t.total)
		if _, err := wd.lower("delete", "--force", "p"); err != nil {
			return nil, err
		}
		if t, err = wd.timeCmd(wd.env, floor, wd.runc, "--root", state, "create", "--bundle", pb, "w"); err != nil {
			return nil, err
		}
		r.floor = append(r.floor, t.total)
		if _, err := wd.lower("delete", "--force", "w"); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(hb, "config.json"), wd.orig, 0o644); err != nil {
			return nil, err
		}
		if t, err = wd.hr(marks, "create", "--bundle", hb, "h"); err != nil {
			return nil, err
		}
		r.hr = append(r.hr, t.total)
		prev := 0.0
		for _, p := range phases {
			at, ok := t.marks[p.mark]
			if !ok {
				return nil, fmt.Errorf("create: no %q mark (is %s built from this tree?)", p.mark, wd.bin)
			}
			r.phases[p.mark] = append(r.phases[p.mark], at-prev)
			prev = at
		}
		r.phases["runc"] = append(r.phases["runc"], t.total-prev)
		r.addSteps(t.marks)
		if _, err := wd.lower("delete", "--force", "h"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *createRun) print(w io.Writer, name string, n int, size int64, inits int, initMs float64) {
	fmt.Fprintf(w, "## Where a create's time goes (lower %s, user namespaces off, n=%d, medians)\n\n", name, n)
	fmt.Fprintln(w, "Produced by `go run ./scripts/breakdown` (run by scripts/bench.sh): each phase is")
	fmt.Fprintln(w, "the time between two of the runtime's phase marks (`HARDENED_RUNC_MARKS=1`,")
	fmt.Fprintln(w, "CLOCK_MONOTONIC), the first from the moment the benchmark started the process,")
	fmt.Fprintln(w, "the last until it exited. Medians of phases do not add up exactly to the")
	fmt.Fprintln(w, "median of the total.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | median | what |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %.2f ms | %s |\n", p.mark, median(r.phases[p.mark]), p.what)
	}
	fmt.Fprintf(w, "| runc | %.2f ms | execve of runc and runc's own create |\n", median(r.phases["runc"]))
	fmt.Fprintf(w, "| **total** | **%.2f ms** | hardened-runc create, as the engine sees it |\n\n", median(r.hr))
	if len(r.steps) > 0 {
		fmt.Fprintln(w, "The pipeline phase, by modifier (`pipeline/NAME`: its Modify; `effect/NAME`: its host work, run once the spec is final):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| step | median |")
		fmt.Fprintln(w, "|---|---|")
		for _, st := range r.steps {
			fmt.Fprintf(w, "| %s | %.3f ms |\n", st, median(r.stepTimes[st]))
		}
		fmt.Fprintln(w)
	}
	comparison(w, "compared in the same loop", "runc",
		series{"runc create, given the config hardened-runc writes", r.runc},
		series{"a ten-line Go exec wrapper in front of runc", r.floor},
		series{"hardened-runc create", r.hr})
	fmt.Fprintln(w, "runc's own create varies by several milliseconds from one call to the next, more than")
	fmt.Fprintln(w, "the wrappers cost; so the wrappers are also timed in front of a lower runtime that")
	fmt.Fprintln(w, "exits at once (a static C stub; it hands `--version` and `features` to runc, so the")
	fmt.Fprintln(w, "hardened spec is the same), interleaved:")
	fmt.Fprintln(w)
	comparison(w, "in front of a lower runtime that exits at once", "the stub alone",
		series{"the stub alone", r.ownStub},
		series{"a ten-line Go exec wrapper (the floor for a Go wrapper)", r.ownFloor},
		series{"hardened-runc create (its own cost)", r.ownHR})
	fmt.Fprintf(w, "hardened-runc's own cost on create is **%+.2f ms over the Go wrapper floor**. Go side (hardened-runc-go): %.1f MB, %d package inits taking %.2f ms in all (`GODEBUG=inittrace=1`, median of 15 runs).\n\n",
		median(r.ownHR)-median(r.ownFloor), float64(size)/1e6, inits, initMs)
}

// series is one named row of timings.
type series struct {
	name string
	ms   []float64
}

// comparison writes rows' medians and each one's difference from the first.
func comparison(w io.Writer, title, over string, rows ...series) {
	fmt.Fprintf(w, "| %s | median | over %s |\n|---|---|---|\n", title, over)
	base := median(rows[0].ms)
	fmt.Fprintf(w, "| %s | %.2f ms | |\n", rows[0].name, base)
	for _, r := range rows[1:] {
		m := median(r.ms)
		fmt.Fprintf(w, "| %s | %.2f ms | %+.2f ms |\n", r.name, m, m-base)
	}
	fmt.Fprintln(w)
}

// verbRun is the series for the other Go-path verbs, each beside runc.
type verbRun struct {
	rows [][3]any // name, runc, hardened-runc series
	// del are the phases of hardened-runc's delete, by mark.
	del map[string][]float64
}

// deletePhases are delete's marks in order.
var deletePhases = []struct{ mark, what string }{
	{"main", "process start"},
	{"config", "argv, config.toml, lower runtime resolved"},
	{"check", "what hardened-runc holds for the container read (range table, mounts, MCS pair, audit state)"},
	{"record-build", "short forensic record built (caller, engine)"},
	{"record-append", "short forensic record appended (flock, write, fdatasync)"},
	{"exec", "runc exec'd in place"},
}

func (wd *world) measureVerbs(n int) (*verbRun, error) {
	// One running container, created and started through hardened-runc;
	// exec and kill reach it through either runtime.
	hb, err := wd.bundle("verbs", wd.orig)
	if err != nil {
		return nil, err
	}
	if _, err := wd.hr(wd.env, "create", "--bundle", hb, "v"); err != nil {
		return nil, err
	}
	defer wd.lower("delete", "--force", "v")
	if _, err := wd.hr(wd.env, "start", "v"); err != nil {
		return nil, err
	}
	// delete is timed as engines run it: on a container whose process has
	// exited (`delete --force` of a live one waits out runc's 100 ms kill
	// poll, which hides everything else).
	db, err := wd.hardenedBundle("del", wd.short)
	if err != nil {
		return nil, err
	}
	exited := func() error {
		if _, err := wd.lower("create", "--bundle", db, "d"); err != nil {
			return err
		}
		if _, err := wd.lower("start", "d"); err != nil {
			return err
		}
		return wd.waitStopped("d")
	}
	var execR, execH, killR, killH, delR, delH, goneR, goneH, stR, stH []float64
	marks := append(wd.env, wrapper.MarksEnv+"=1")
	del := map[string][]float64{}
	add := func(s *[]float64, t timing, err error) error {
		if err == nil {
			*s = append(*s, t.total)
		}
		return err
	}
	for i := 0; i < n; i++ {
		steps := []func() error{
			func() error { t, err := wd.lower("exec", "v", "/bin/true"); return add(&execR, t, err) },
			func() error { t, err := wd.hr(wd.env, "exec", "v", "/bin/true"); return add(&execH, t, err) },
			func() error { t, err := wd.lower("kill", "v", "CONT"); return add(&killR, t, err) },
			func() error { t, err := wd.hr(wd.env, "kill", "v", "CONT"); return add(&killH, t, err) },
			func() error { t, err := wd.lower("delete", "--force", "gone"); return add(&goneR, t, err) },
			func() error { t, err := wd.hr(wd.env, "delete", "--force", "gone"); return add(&goneH, t, err) },
			func() error { t, err := wd.lower("state", "v"); return add(&stR, t, err) },
			func() error { t, err := wd.hr(wd.env, "state", "v"); return add(&stH, t, err) },
			func() error {
				if err := exited(); err != nil {
					return err
				}
				t, err := wd.lower("delete", "d")
				return add(&delR, t, err)
			},
			func() error {
				if err := exited(); err != nil {
					return err
				}
				t, err := wd.hr(wd.env, "delete", "d")
				return add(&delH, t, err)
			},
			// The same delete through the Go side, for its phases
			// (the spooled one above starts no Go runtime to mark them).
			func() error {
				if err := exited(); err != nil {
					return err
				}
				t, err := wd.hr(append(marks, "HARDENED_RUNC_NO_FASTPATH=1"), "delete", "d")
				if err == nil {
					prev := 0.0
					for _, p := range deletePhases {
						if at, ok := t.marks[p.mark]; ok {
							del[p.mark] = append(del[p.mark], at-prev)
							prev = at
						}
					}
					del["exit"] = append(del["exit"], t.total-prev)
				}
				return err
			},
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return nil, err
			}
		}
	}
	return &verbRun{del: del, rows: [][3]any{
		{"state (pass-through: the fast path when it is recorded)", stR, stH},
		{"kill CONT (short record spooled by the C fast path, runc exec'd)", killR, killH},
		{"delete --force of a container runc no longer has (an engine's second delete: spooled, runc exec'd)", goneR, goneH},
		{"delete of an exited container that holds nothing (spooled, runc exec'd)", delR, delH},
		{"exec /bin/true (liveness probe: process checked, full record)", execR, execH},
	}}, nil
}

// waitStopped polls runc until the container's process has exited.
func (wd *world) waitStopped(id string) error {
	for i := 0; i < 500; i++ {
		out, err := exec.Command(wd.runc, "--root", filepath.Join(wd.dir, "state"), "state", id).Output()
		if err != nil {
			return fmt.Errorf("state %s: %w", id, err)
		}
		var st struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(out, &st) == nil && st.Status == "stopped" {
			return nil
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 5e6}, nil)
	}
	return fmt.Errorf("%s did not stop", id)
}

func (v *verbRun) print(w io.Writer, name string, n int) {
	fmt.Fprintf(w, "### Other Go-path verbs (lower %s, same container, interleaved, n=%d, medians)\n\n", name, n)
	fmt.Fprintln(w, "| verb | runc | hardened-runc | over runc |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range v.rows {
		mr, mh := median(r[1].([]float64)), median(r[2].([]float64))
		fmt.Fprintf(w, "| %s | %.2f ms | %.2f ms | %+.2f ms |\n", r[0], mr, mh, mh-mr)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Where hardened-runc's delete spends its time when it goes through the Go side (HARDENED_RUNC_NO_FASTPATH=1, as with no fast path record yet or a changed config or binary; a container that exited the same way; phase marks):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | median | what |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, p := range deletePhases {
		if len(v.del[p.mark]) > 0 {
			fmt.Fprintf(w, "| %s | %.2f ms | %s |\n", p.mark, median(v.del[p.mark]), p.what)
		}
	}
	exit := "the Go process exits, the caller sees it"
	if len(v.del["exec"]) > 0 {
		exit = "runc's own delete, exec'd in place, until the caller sees it exit"
	}
	fmt.Fprintf(w, "| exit | %.2f ms | %s |\n\n", median(v.del["exit"]), exit)
}

// inits counts the runtime's package inits and their total time, from
// GODEBUG=inittrace=1 on a Go-path call of the runtime (state with the
// fast path switched off, so the trace is hardened-runc's, not runc's).
func (wd *world) inits() (int, float64, error) {
	env := append(wd.env, "GODEBUG=inittrace=1", "HARDENED_RUNC_NO_FASTPATH=1")
	var totals []float64
	count := 0
	for i := 0; i < 15; i++ {
		cmd := exec.Command(wd.bin, "--root", filepath.Join(wd.dir, "state"), "state", "no-such-container")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		_ = cmd.Run() // runc fails: no such container; the trace is before
		c, total := 0, 0.0
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			// "init pkg @0.1 ms, 0.005 ms clock, ..." (runc's own inits, after
			// the exec, are traced too: count up to the first repeat of
			// "runtime", which starts the next program's trace).
			f := strings.Fields(sc.Text())
			if len(f) < 5 || f[0] != "init" {
				continue
			}
			if f[1] == "runtime" && c > 2 {
				break
			}
			if v, err := strconv.ParseFloat(f[4], 64); err == nil {
				c++
				total += v
			}
		}
		count = c
		totals = append(totals, total)
	}
	return count, median(totals), nil
}

// buildGoWrapper builds the smallest Go program that execs its arguments.
func buildGoWrapper(dir string) (string, error) {
	src := filepath.Join(dir, "gowrapper")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	main := "package main\n\nimport (\n\t\"os\"\n\t\"syscall\"\n)\n\nfunc main() { syscall.Exec(os.Args[1], os.Args[1:], os.Environ()) }\n"
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(main), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module gowrapper\n\ngo 1.21\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gowrapper.bin")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Go wrapper: %v: %s", err, b)
	}
	return out, nil
}

func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// addSteps adds one run's pipeline marks ("pipeline/NAME", "effect/NAME"),
// each timed from the mark before it (the first from "profile").
func (r *createRun) addSteps(marks map[string]float64) {
	type step struct {
		name string
		at   float64
	}
	var steps []step
	for name, at := range marks {
		if strings.HasPrefix(name, "pipeline/") || strings.HasPrefix(name, "effect/") {
			steps = append(steps, step{name, at})
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	prev, ok := marks["profile"]
	if !ok {
		return
	}
	for _, st := range steps {
		if _, seen := r.stepTimes[st.name]; !seen {
			r.steps = append(r.steps, st.name)
		}
		r.stepTimes[st.name] = append(r.stepTimes[st.name], st.at-prev)
		prev = st.at
	}
}
