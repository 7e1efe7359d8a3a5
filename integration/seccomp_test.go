//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/seccomp"
)

// sysprobeSource is a static probe (standard library only, CGO off) copied
// into the busybox rootfs as /bin/hr-sysprobe:
//
//	hr-sysprobe deny      one line "name errno" per deny-list syscall, with
//	                      arguments the kernel itself rejects with something
//	                      other than EPERM/ENOSYS, so only a filter yields those
//	hr-sysprobe bench N   N getppid calls, prints nanoseconds per call
const sysprobeSource = `package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

type call struct {
	name string
	nr   uintptr
	args [6]uintptr
}

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "deny":
		bad := uintptr(unsafe.Pointer(&[]byte("/nonexistent\x00")[0]))
		for _, c := range []call{
			{"unshare", 272, [6]uintptr{0x10000000}},          // CLONE_NEWUSER: EINVAL in a threaded process
			{"clone-newuser", 56, [6]uintptr{0x10000000 | 0x200}}, // CLONE_NEWUSER|CLONE_FS: EINVAL
			{"clone3", 435, [6]uintptr{0, 0}},                  // EINVAL
			{"setns", 308, [6]uintptr{^uintptr(0), 0}},         // EBADF
			{"mount", 165, [6]uintptr{bad, bad, bad, 0, 0}},
			{"umount2", 166, [6]uintptr{bad, 0}},
			{"pivot_root", 155, [6]uintptr{0, 0}},
			{"fsopen", 430, [6]uintptr{0, 0}},
			{"open_tree", 428, [6]uintptr{^uintptr(0), 0, 0}},
			{"move_mount", 429, [6]uintptr{^uintptr(0), 0, ^uintptr(0), 0, 0}},
			{"fsmount", 432, [6]uintptr{^uintptr(0), 0, 0}},
			{"mount_setattr", 442, [6]uintptr{^uintptr(0), 0, 0, 0, 0}},
			{"keyctl", 250, [6]uintptr{0x7fff}},                // EOPNOTSUPP
			{"add_key", 248, [6]uintptr{0, 0, 0, 0, 0}},        // EFAULT
			{"request_key", 249, [6]uintptr{0, 0, 0, 0}},       // EFAULT
			{"bpf", 321, [6]uintptr{0x7fff, 0, 0}},             // EINVAL
			{"perf_event_open", 298, [6]uintptr{0, 0, 0, 0, 0}}, // EFAULT
			{"userfaultfd", 323, [6]uintptr{0xffff}},           // EINVAL
			{"io_uring_setup", 425, [6]uintptr{0, 0}},
			{"io_uring_enter", 426, [6]uintptr{^uintptr(0), 0, 0, 0, 0, 0}}, // EBADF
			{"io_uring_register", 427, [6]uintptr{^uintptr(0), 0, 0, 0}},    // EBADF
			{"ptrace", 101, [6]uintptr{2, 0x3ffffff0, 0, 0}},                // ESRCH
			{"process_vm_readv", 310, [6]uintptr{0x3ffffff0, 0, 0, 0, 0, 0}},
			{"process_vm_writev", 311, [6]uintptr{0x3ffffff0, 0, 0, 0, 0, 0}},
			{"kexec_load", 246, [6]uintptr{0, 0, 0, 0}},
			{"kexec_file_load", 320, [6]uintptr{^uintptr(0), ^uintptr(0), 0, 0, 0}},
			{"init_module", 175, [6]uintptr{0, 0, 0}},
			{"finit_module", 313, [6]uintptr{^uintptr(0), 0, 0}},
			{"delete_module", 176, [6]uintptr{0, 0}},
			{"open_by_handle_at", 304, [6]uintptr{^uintptr(0), 0, 0}},
			{"personality", 135, [6]uintptr{0x0040000}},        // ADDR_NO_RANDOMIZE: succeeds unfiltered
			{"acct", 163, [6]uintptr{0}},
			{"swapon", 167, [6]uintptr{0, 0}},
			{"swapoff", 168, [6]uintptr{0}},
			{"syslog", 103, [6]uintptr{3, 0, 0}},
		} {
			_, _, e := syscall.RawSyscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
			fmt.Printf("%s %d\n", c.name, int(e))
		}
	case "bench":
		n, _ := strconv.Atoi(os.Args[2])
		start := time.Now()
		for i := 0; i < n; i++ {
			syscall.RawSyscall(110, 0, 0, 0) // getppid
		}
		fmt.Printf("%.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
	}
}
`

const (
	errEPERM  = 1
	errENOSYS = 38
)

var sysprobeOnce sync.Once

// installSysprobe builds the probe and puts it into the pristine rootfs
// every bundle copies, once per package run.
func installSysprobe(t *testing.T) {
	t.Helper()
	var err error
	sysprobeOnce.Do(func() {
		dir := filepath.Join(env.workDir, "sysprobe")
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sysprobe\n\ngo 1.22\n"), 0o644)
		if err = os.WriteFile(filepath.Join(dir, "main.go"), []byte(sysprobeSource), 0o644); err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(env.rootfs, "bin", "hr-sysprobe"), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("build sysprobe: %v\n%s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(env.rootfs, "bin", "hr-sysprobe")); err != nil {
		t.Fatalf("sysprobe missing (an earlier build failed): %v", err)
	}
}

// probeErrnos parses `hr-sysprobe deny`.
func probeErrnos(t *testing.T, out string) map[string]int {
	t.Helper()
	m := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasSuffix(f[0], ":") {
			continue // the /proc/self/status lines around the probe
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		m[f[0]] = n
	}
	if len(m) < 30 {
		t.Fatalf("sysprobe printed %d results:\n%s", len(m), out)
	}
	return m
}

// TestSeccompDenyList: under the default profile the container runs with a
// filter (Seccomp: 2) and every deny-list syscall answers EPERM (clone3:
// ENOSYS), while the same probe under an unconfined profile reaches the
// kernel, which answers differently: the probe can tell.
func TestSeccompDenyList(t *testing.T) {
	installSysprobe(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("unconfined", "[seccomp]\nmode = \"unconfined\"\n")
		argv := []string{"sh", "-c", "grep Seccomp: /proc/self/status; hr-sysprobe deny"}

		r := h.run(t, l, "default", nil, argv...)
		if r.Code != 0 {
			t.Fatalf("default profile: %s", r)
		}
		if got := statusField(r.Stdout, "Seccomp"); got != "2" {
			t.Errorf("Seccomp: %q, want 2 (filter mode)", got)
		}
		if r.Config == nil || r.Config.Linux == nil || r.Config.Linux.Seccomp == nil || r.Config.Linux.Seccomp.DefaultAction != specs.ActErrno {
			t.Errorf("hardened config.json has no EPERM-by-default profile")
		}
		for name, e := range probeErrnos(t, r.Stdout) {
			switch {
			case name == "clone3" && e != errENOSYS:
				t.Errorf("clone3 answered errno %d, want ENOSYS so libcs fall back to clone", e)
			case e != errEPERM && e != errENOSYS:
				t.Errorf("%s answered errno %d under the default profile, want EPERM or ENOSYS", name, e)
			}
		}

		r = h.run(t, l, "unconfined", nil, argv...)
		if r.Code != 0 {
			t.Fatalf("unconfined profile: %s", r)
		}
		if got := statusField(r.Stdout, "Seccomp"); got != "0" {
			t.Errorf("unconfined: Seccomp: %q, want 0", got)
		}
		un := probeErrnos(t, r.Stdout)
		for _, name := range []string{"setns", "clone3", "clone-newuser", "personality", "bpf", "keyctl"} {
			if e := un[name]; e == errEPERM || e == errENOSYS {
				t.Errorf("unconfined: %s answered %d: the probe cannot tell a filter from the kernel", name, e)
			}
		}
	})
}

// TestSeccompLaunches launches each kind of profile 50 times in a row
// through each lower runc: a syscall runc or the Go runtime makes only now
// and then (rt_sigreturn, sched_yield, tgkill) would fail a launch here.
// The generated profile with NNP on and off (the two runc baselines) and the
// smallest profile (a learned one) run 50 times; "restricted" only differs
// from "default" by capabilities and runs 20 times to keep the suite's time.
func TestSeccompLaunches(t *testing.T) {
	runs := func(n int) int {
		if testing.Short() {
			return 5
		}
		return n
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("nonnp", "[privileges]\nno_new_privileges = false\n")
		h.writeProfile("httpd", "[seccomp]\nmode = \"profile\"\nprofile = \"busybox-httpd.json\"\n")
		for _, c := range []struct {
			profile string
			nnp     bool
			n       int
		}{{"default", true, 50}, {"nonnp", false, 50}, {"httpd", true, 50}, {"restricted", true, 20}} {
			t.Run(c.profile, func(t *testing.T) {
				n := runs(c.n)
				mod := func(s *specs.Spec) {
					s.Process.NoNewPrivileges = c.nnp
					if c.profile == "restricted" {
						s.Process.User = specs.User{UID: 1000, GID: 1000}
					}
				}
				failed := 0
				for i := 0; i < n; i++ {
					r := h.run(t, l, c.profile, mod, "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status")
					if r.Code != 0 || statusField(r.Stdout, "Seccomp") != "2" {
						failed++
						if failed <= 3 {
							t.Errorf("launch %d/%d: %s", i+1, n, r)
						}
						continue
					}
					if i == 0 && statusField(r.Stdout, "NoNewPrivs") != map[bool]string{true: "1", false: "0"}[c.nnp] {
						t.Errorf("NoNewPrivs = %q, want %t (the baseline under test depends on it)", statusField(r.Stdout, "NoNewPrivs"), c.nnp)
					}
				}
				if failed > 0 {
					t.Errorf("%d of %d launches failed", failed, n)
				}
			})
		}
	})
}

// httpdScript serves /www on loopback and fetches it three times.
const httpdScript = `httpd -p 127.0.0.1:8080 -h /www && sleep 0.3 && for i in 1 2 3; do wget -q -O- http://127.0.0.1:8080/index.html || exit 7; done`

// agent is a running `hardenctl seccomp learn --socket`.
type agent struct {
	cmd    *exec.Cmd
	socket string
	out    *strings.Builder
	done   chan error
}

func startAgent(t *testing.T, h *Harness, l Lower, name string, count int) *agent {
	t.Helper()
	a := &agent{socket: filepath.Join(h.RunDir, name+".sock"), out: &strings.Builder{}, done: make(chan error, 1)}
	a.cmd = exec.Command(filepath.Join(env.bin, "hardenctl"), "seccomp", "learn", "--socket", a.socket,
		"--out", name, "--profiles-dir", h.Profiles, "--count", strconv.Itoa(count))
	a.cmd.Env = append(os.Environ(), "HARDENED_RUNC_CONFIG="+h.configFor(l, "default"))
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(a.socket); err == nil {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.cmd.Process.Kill()
	t.Fatalf("agent did not listen on %s: %s", a.socket, a.out)
	return nil
}

func (a *agent) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("agent: %v\n%s", err, a.out)
		}
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		t.Fatalf("agent did not finish:\n%s", a.out)
	}
}

// learn runs argv under a learning profile and returns the learned
// profile's stats.
func learn(t *testing.T, h *Harness, l Lower, name string, argv ...string) *seccomp.Stats {
	t.Helper()
	a := startAgent(t, h, l, name, 1)
	h.writeProfile("learn-"+name, fmt.Sprintf("[seccomp]\nmode = \"learn\"\nlearn_socket = %q\n", a.socket))
	r := h.run(t, l, "learn-"+name, nil, argv...)
	if r.Code != 0 {
		a.cmd.Process.Kill()
		t.Fatalf("learning run: %s", r)
	}
	if r.Config == nil || r.Config.Linux == nil || r.Config.Linux.Seccomp == nil || r.Config.Linux.Seccomp.ListenerPath != a.socket {
		t.Errorf("learning run's config has no listenerPath %s", a.socket)
	}
	a.wait(t)
	file := filepath.Join(h.Profiles, "seccomp", name+".json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("learned profile: %v\nagent: %s", err, a.out)
	}
	st, err := seccomp.ValidateFile(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSeccompLearnThenEnforce learns busybox httpd's profile through the
// agent, then runs the same workload under it: it serves the requests,
// while mkfifo (mknodat, never called while learning) is denied.
func TestSeccompLearnThenEnforce(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		name := "httpd-" + l.Name
		st := learn(t, h, l, name, "sh", "-c", httpdScript)
		if len(st.Allowed) >= 80 {
			t.Errorf("learned profile allows %d syscalls, want < 80", len(st.Allowed))
		}
		for _, want := range []string{"accept", "bind", "listen", "socket", "execve"} {
			if !slices.Contains(st.Allowed, want) && !slices.Contains(st.Conditional, want) {
				t.Errorf("learned profile lacks %s: %v", want, st.Allowed)
			}
		}
		if slices.Contains(st.Allowed, "mknodat") {
			t.Fatalf("mknodat learned although the workload never called it")
		}
		h.writeProfile("enforce", fmt.Sprintf("[seccomp]\nmode = \"profile\"\nprofile = %q\n", name+".json"))
		r := h.run(t, l, "enforce", nil, "sh", "-c",
			httpdScript+"; grep Seccomp: /proc/self/status; mkfifo /tmp/fifo && echo FIFO-CREATED || echo FIFO-DENIED")
		if r.Code != 0 || strings.Count(r.Stdout, "hello from hardened-runc") != 3 {
			t.Fatalf("httpd under its learned profile: %s", r)
		}
		if statusField(r.Stdout, "Seccomp") != "2" {
			t.Errorf("Seccomp: %q, want 2", statusField(r.Stdout, "Seccomp"))
		}
		if !strings.Contains(r.Stdout, "FIFO-DENIED") || !strings.Contains(r.Stderr+r.Stdout, "Operation not permitted") {
			t.Errorf("mkfifo outside the learned set was not denied with EPERM: %s", r)
		}
	})
}

// TestSeccompNumbers prints the published seccomp numbers as markdown to
// $BENCH_OUT: unconditionally allowed syscalls and BPF size of Docker's
// default, the generated default and learned profiles, and the per-syscall
// cost of each filter (a getppid loop), as ratios to no filter, from one run.
func TestSeccompNumbers(t *testing.T) {
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		t.Skip("BENCH_OUT not set: the seccomp numbers run with `make bench`")
	}
	installSysprobe(t)
	l := lowers(t)[0]
	h := newHarness(t)

	dockerStats, err := seccomp.Validate("docker-default", dockerProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(h.Profiles, "seccomp", "docker.json"), dockerProfile(t))
	gen, err := seccomp.Generate(capsOf("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE"),
		seccomp.Options{Baseline: seccomp.RuncBaseline("1.1.5", true)})
	if err != nil {
		t.Fatal(err)
	}
	genStats, err := seccomp.Validate("generated", gen)
	if err != nil {
		t.Fatal(err)
	}
	shStats := learn(t, h, l, "sh-script", "sh", "-c", "for i in 1 2 3; do echo line $i > /tmp/f; cat /tmp/f; done; ls / > /dev/null; date")
	httpdStats := learn(t, h, l, "httpd", "sh", "-c", httpdScript)
	probeStats := learn(t, h, l, "probe", "hr-sysprobe", "bench", "1000")

	var b strings.Builder
	fmt.Fprintf(&b, "## seccomp (x86_64, libseccomp %s, lower %s)\n\n", genStats.Libseccomp, l.Name)
	fmt.Fprintln(&b, "| profile | syscalls allowed unconditionally | allowed by argument | BPF instructions |")
	fmt.Fprintln(&b, "|---|---|---|---|")
	for _, row := range []struct {
		name string
		st   *seccomp.Stats
	}{
		{"Docker default (14 default caps, x86_64+x86+x32)", dockerStats},
		{"hardened-runc generated default (profile `default`)", genStats},
		{"learned: busybox `sh -c` script", shStats},
		{"learned: busybox httpd serving requests", httpdStats},
		{"learned: getppid probe", probeStats},
	} {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", row.name, len(row.st.Allowed), len(row.st.Conditional), row.st.BPFInstructions)
	}

	// The filters' cost is measured through each lower runc itself with
	// each exact profile in config.json, so Docker's profile keeps its
	// three architectures as dockerd would send it. Rounds interleave the
	// filters so drift on a shared VM hits all alike. runc 1.1 loads every
	// filter without SECCOMP_FILTER_FLAG_SPEC_ALLOW (speculative store
	// bypass mitigation on), runc ≥ 1.2 with it.
	const calls, rounds = 2000000, 5
	filters := []struct {
		name string
		p    func(Lower) *specs.LinuxSeccomp
	}{
		{"none", func(Lower) *specs.LinuxSeccomp { return nil }},
		{"Docker default", func(Lower) *specs.LinuxSeccomp { return dockerProfile(t) }},
		{"generated default", func(Lower) *specs.LinuxSeccomp { return gen }},
		{"learned (probe)", func(l Lower) *specs.LinuxSeccomp {
			p, err := seccomp.LoadNamed(h.Profiles, "probe.json", nil, seccomp.Options{Baseline: seccomp.RuncBaseline(lowerVersion(t, l), true)})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	fmt.Fprintf(&b, "\n### Per-syscall cost (getppid × %d in the container, median of %d interleaved rounds)\n\n| filter |", calls, rounds)
	for _, lw := range lowers(t) {
		fmt.Fprintf(&b, " %s ns/call | ratio |", lw.Name)
	}
	fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("---|---|", len(lowers(t))))
	cost := map[string]map[string]float64{}
	for _, lw := range lowers(t) {
		samples := map[string][]float64{}
		for r := 0; r < rounds; r++ {
			for _, f := range filters {
				samples[f.name] = append(samples[f.name], benchPlain(t, h, lw, f.p(lw), calls))
			}
		}
		cost[lw.Name] = map[string]float64{}
		for name, v := range samples {
			slices.Sort(v)
			cost[lw.Name][name] = v[len(v)/2]
		}
	}
	for _, f := range filters {
		fmt.Fprintf(&b, "| %s |", f.name)
		for _, lw := range lowers(t) {
			c := cost[lw.Name]
			fmt.Fprintf(&b, " %.0f | %.2f× |", c[f.name], c[f.name]/c["none"])
		}
		fmt.Fprintln(&b)
	}

	// Learning overhead: every syscall but the baseline is a round trip to
	// the agent.
	a := startAgent(t, h, l, "probe-learning", 1)
	h.writeProfile("learning", fmt.Sprintf("[seccomp]\nmode = \"learn\"\nlearn_socket = %q\n", a.socket))
	r := h.run(t, l, "learning", nil, "hr-sysprobe", "bench", "20000")
	a.wait(t)
	lv, err := strconv.ParseFloat(strings.TrimSpace(r.Stdout), 64)
	if r.Code != 0 || err != nil {
		t.Fatalf("bench in learning mode: %s", r)
	}
	fmt.Fprintf(&b, "\nLearning mode (%s, through hardened-runc; the agent answers every call): %.0f ns per getppid, %.0f× no filter.\n",
		l.Name, lv, lv/cost[l.Name]["none"])
	enf := httpdThroughput(t, h, l, "default", "", nil)
	a = startAgent(t, h, l, "httpd-learning", 1)
	lrn := httpdThroughput(t, h, l, "learn-httpd", fmt.Sprintf("[seccomp]\nmode = \"learn\"\nlearn_socket = %q\n", a.socket), a)
	fmt.Fprintf(&b, "\n### Learning overhead (busybox httpd, 200 sequential requests over loopback)\n\n| mode | requests/s | ratio |\n|---|---|---|\n| generated default profile | %.0f | 1.00× |\n| learning | %.0f | %.2f× |\n",
		enf, lrn, lrn/enf)

	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// benchPlain runs the getppid loop through the lower runc with filter p
// (nil: none) and returns nanoseconds per call.
func benchPlain(t *testing.T, h *Harness, l Lower, p *specs.LinuxSeccomp, calls int) float64 {
	t.Helper()
	bundle, id := h.newBundle(l, func(s *specs.Spec) {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.Seccomp = p
	}, "hr-sysprobe", "bench", strconv.Itoa(calls))
	defer os.RemoveAll(bundle)
	r := runCmd(t, 2*time.Minute, nil, nil, l.Path, "--root", h.StateRoot, "run", "--bundle", bundle, id)
	v, err := strconv.ParseFloat(strings.TrimSpace(r.Stdout), 64)
	if r.Code != 0 || err != nil {
		t.Fatalf("bench: %s", r)
	}
	return v
}

// lowerVersion asks the lower runc for its version ("1.1.5").
func lowerVersion(t *testing.T, l Lower) string {
	t.Helper()
	out, err := exec.Command(l.Path, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
	if len(f) < 3 {
		t.Fatalf("runc --version: %q", out)
	}
	return strings.SplitN(f[2], "+", 2)[0]
}

// httpdThroughput serves 200 requests inside the container and returns the
// rate.
func httpdThroughput(t *testing.T, h *Harness, l Lower, profile, body string, a *agent) float64 {
	t.Helper()
	if body != "" {
		h.writeProfile(profile, body)
	}
	// /proc/uptime in centiseconds: busybox date has no %N.
	script := `httpd -p 127.0.0.1:8080 -h /www && sleep 0.3 && read s _ < /proc/uptime && i=0 && while [ $i -lt 200 ]; do wget -q -O /dev/null http://127.0.0.1:8080/index.html || exit 7; i=$((i+1)); done && read e _ < /proc/uptime && echo $(( ${e%.*}${e#*.} - ${s%.*}${s#*.} ))`
	r := h.run(t, l, profile, nil, "sh", "-c", script)
	if a != nil {
		a.wait(t)
	}
	cs, err := strconv.ParseFloat(strings.TrimSpace(r.Stdout), 64)
	if r.Code != 0 || err != nil || cs <= 0 {
		t.Fatalf("httpd throughput under %s: %s", profile, r)
	}
	return 200 / (cs / 100)
}

func capsOf(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "CAP_" + n
	}
	return out
}

// dockerProfile is Docker's default for a container with Docker's 14
// default capabilities, as dockerd hands it to runc.
func dockerProfile(t *testing.T) *specs.LinuxSeccomp {
	t.Helper()
	p, err := mobyseccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: capsOf("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
			"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSeccompCLI drives `hardenctl seccomp` as an admin would: learn from a
// plain runc bundle, validate the result and a profile with a typo, show a
// bundle's filter, and print the generated profile.
func TestSeccompCLI(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "sh", "-c", "echo learned-run")
		r := h.hardenctl(t, l, "seccomp", "learn", "--bundle", bundle, "--out", "cli", "--profiles-dir", h.Profiles,
			"--", l.Path, "--root", h.StateRoot, "run", "--bundle", bundle, id)
		if r.Code != 0 || !strings.Contains(r.Stdout, "learned-run") || !strings.Contains(r.Stderr, "learned ") {
			t.Fatalf("learn --bundle: %s", r)
		}
		learned := filepath.Join(h.Profiles, "seccomp", "cli.json")
		if r := h.hardenctl(t, l, "seccomp", "validate", learned); r.Code != 0 || !strings.HasPrefix(r.Stdout, "ok: ") {
			t.Errorf("validate learned profile: %s", r)
		}
		typo := filepath.Join(h.Dir, "typo.json")
		os.WriteFile(typo, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","wirte"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
		if r := h.hardenctl(t, l, "seccomp", "validate", typo); r.Code != 1 || !strings.Contains(r.Stderr, `syscalls[0].names[1] "wirte"`) {
			t.Errorf("validate with a typo: want exit 1 naming the entry: %s", r)
		}
		// The bundle still holds the learning profile learn wrote into it.
		r = h.hardenctl(t, l, "seccomp", "show", "--bundle", bundle, "-o", "json")
		var st seccomp.Stats
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil || len(st.Notified) < 200 || st.BPFInstructions == 0 {
			t.Errorf("show --bundle: %s", r)
		}
		r = h.hardenctl(t, l, "seccomp", "generate", "--bundle", bundle)
		var gen specs.LinuxSeccomp
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &gen) != nil || gen.DefaultAction != specs.ActErrno || gen.ListenerPath != "" {
			t.Errorf("generate --bundle: %s", r)
		}
	})
}
