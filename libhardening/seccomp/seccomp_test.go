package seccomp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

var (
	defaultCaps    = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	restrictedCaps = []string{"CAP_NET_BIND_SERVICE"}
	dockerCaps     = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
)

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caps    []string
		version string
		nnp     bool
		compat  bool
		// max is the most unconditionally allowed syscalls with both
		// strict controls enforced: 250 unless the container keeps
		// administrative capabilities.
		max int
		// wantAllowed / wantDenied are spot checks on top of the
		// invariants every generated profile must meet.
		wantAllowed []string
		wantDenied  []string
	}{
		{name: "default profile caps, runc 1.1, NNP", caps: defaultCaps, version: "1.1.5+ds1", nnp: true,
			wantAllowed: []string{"read", "write", "execve", "futex", "rt_sigreturn", "chown", "setuid"},
			wantDenied:  []string{"chroot", "keyctl", "ptrace", "vmsplice", "modify_ldt", "io_uring_setup", "sync_file_range"}},
		{name: "restricted caps, runc 1.5, no NNP", caps: restrictedCaps, version: "1.5.2",
			wantAllowed: []string{"capset", "setgroups", "close_range", "openat2", "statx"}},
		{name: "docker caps keep chroot", caps: dockerCaps, version: "1.5.2", nnp: true, wantAllowed: []string{"chroot"}},
		{name: "SYS_ADMIN does not reopen the deny list", caps: append(slices.Clone(dockerCaps), "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_BPF", "CAP_PERFMON"), version: "1.1.5", nnp: true, max: 265},
		{name: "no caps, unknown runc", caps: nil, version: "", nnp: false, wantAllowed: []string{"capset", "close_range"}},
		{name: "compat arches", caps: defaultCaps, version: "1.1.5", nnp: true, compat: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := RuncBaseline(tc.version, tc.nnp)
			p, err := Generate(tc.caps, Options{Baseline: b, CompatArches: tc.compat})
			if err != nil {
				t.Fatal(err)
			}
			st, err := Validate(tc.name, p)
			if err != nil {
				t.Fatal(err)
			}
			if tc.max == 0 {
				tc.max = 250
			}
			if len(st.Allowed) > tc.max {
				t.Errorf("%d unconditionally allowed syscalls, want ≤ %d", len(st.Allowed), tc.max)
			}
			if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
				t.Errorf("default action %s/%v, want SCMP_ACT_ERRNO with EPERM", p.DefaultAction, p.DefaultErrnoRet)
			}
			wantArches := []specs.Arch{specs.ArchX86_64}
			if tc.compat {
				wantArches = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
			}
			if !slices.Equal(p.Architectures, wantArches) {
				t.Errorf("architectures %v, want %v", p.Architectures, wantArches)
			}
			for _, n := range denyList {
				if slices.Contains(st.Allowed, n) || slices.Contains(st.Conditional, n) {
					t.Errorf("deny-list syscall %s is allowed", n)
				}
			}
			for _, n := range b.Syscalls {
				if !slices.Contains(st.Allowed, n) && !slices.Contains(st.Unsupported, n) {
					t.Errorf("runc baseline syscall %s is not allowed", n)
				}
			}
			for _, n := range tc.wantAllowed {
				if !slices.Contains(st.Allowed, n) {
					t.Errorf("%s not allowed", n)
				}
			}
			for _, n := range tc.wantDenied {
				if !slices.Contains(st.Denied, n) {
					t.Errorf("%s not denied", n)
				}
			}
			checkCloneRules(t, p, st)
		})
	}
}

// TestStrictModes checks what the two seccomp controls do with the cuts
// beyond Docker's default, each on its own: enforce denies, audit allows
// with SCMP_ACT_LOG, off allows outright. The default profile's pair
// (attack_surface enforce, strict off) keeps ptrace cut and lets postgres'
// sync_file_range through.
func TestStrictModes(t *testing.T) {
	attack := []string{"ptrace", "vmsplice", "get_robust_list", "name_to_handle_at"} // Docker allows them
	strict := []string{"sync_file_range", "readahead", "msgget", "pkey_alloc"}
	type want int
	const (
		denied want = iota
		logged
		allowed
	)
	of := map[policy.ControlMode]want{policy.ControlEnforce: denied, "": denied, policy.ControlAudit: logged, policy.ControlOff: allowed}
	for _, tc := range []struct{ attack, strict policy.ControlMode }{
		{policy.ControlEnforce, policy.ControlOff}, // the default profile
		{policy.ControlEnforce, policy.ControlEnforce},
		{"", ""},
		{policy.ControlAudit, policy.ControlAudit},
		{policy.ControlOff, policy.ControlAudit},
		{policy.ControlEnforce, policy.ControlAudit},
	} {
		t.Run(fmt.Sprintf("attack_surface=%s,strict=%s", tc.attack, tc.strict), func(t *testing.T) {
			p, err := Generate(defaultCaps, Options{Baseline: RuncBaseline("1.5.2", true), AttackSurface: tc.attack, Strict: tc.strict})
			if err != nil {
				t.Fatal(err)
			}
			st, err := Validate("strict", p)
			if err != nil {
				t.Fatal(err)
			}
			got := func(n string) want {
				switch {
				case slices.Contains(LoggedNames(p), n):
					return logged
				case slices.Contains(st.Allowed, n):
					return allowed
				}
				return denied
			}
			for names, mode := range map[*[]string]policy.ControlMode{&attack: tc.attack, &strict: tc.strict} {
				for _, n := range *names {
					if g := got(n); g != of[mode] {
						t.Errorf("%s: %d, want %d under %q", n, g, of[mode], mode)
					}
				}
			}
			// Never opened by any mode: Docker itself denies them
			// without CAP_SYS_ADMIN, and clone keeps its flag filter.
			for _, n := range []string{"mount", "unshare", "bpf", "keyctl"} {
				if got(n) != denied {
					t.Errorf("%s open", n)
				}
			}
			checkCloneRules(t, p, st)
		})
	}
	if Control("ptrace") != "seccomp.attack_surface" || Control("sync_file_range") != "seccomp.strict" || Control("read") != "" {
		t.Error("Control names the wrong field")
	}
}

func checkCloneRules(t *testing.T, p *specs.LinuxSeccomp, st *Stats) {
	t.Helper()
	if !slices.Contains(st.Conditional, "clone") {
		t.Errorf("clone is not argument-filtered")
	}
	var clone3, clone int
	for _, r := range p.Syscalls {
		if slices.Contains(r.Names, "clone3") {
			clone3++
			if r.Action != specs.ActErrno || r.ErrnoRet == nil || *r.ErrnoRet != 38 || len(r.Args) != 0 {
				t.Errorf("clone3 rule %+v, want SCMP_ACT_ERRNO ENOSYS", r)
			}
		}
		if slices.Contains(r.Names, "clone") {
			clone++
			if len(r.Args) != 1 || r.Args[0].Op != specs.OpMaskedEqual || r.Args[0].Value != 0x7E020000 || r.Args[0].ValueTwo != 0 {
				t.Errorf("clone rule %+v, want masked-equal 0x7E020000 == 0", r)
			}
		}
	}
	if clone3 != 1 || clone != 1 {
		t.Errorf("%d clone3 and %d clone rules, want one each", clone3, clone)
	}
}

func TestBaselineKeys(t *testing.T) {
	for _, tc := range []struct {
		version string
		nnp     bool
		key     string
		has     []string
		hasNot  []string
	}{
		{"1.1.5+ds1", true, "1.1", []string{"epoll_ctl", "getpid", "rt_sigreturn", "exit_group"}, []string{"capset", "setuid"}},
		{"1.1.5", false, "1.1", []string{"capset", "setgroups", "setuid", "getppid"}, nil},
		{"1.5.2", true, "1.5", []string{"openat2", "statx", "fcntl"}, []string{"capset"}},
		{"1.5.2", false, "1.5", []string{"capset", "close_range", "tgkill"}, nil},
		{"v1.3.0", true, "union", []string{"capset", "openat2", "epoll_ctl"}, nil},
		{"", true, "union", []string{"capset"}, nil},
	} {
		b := RuncBaseline(tc.version, tc.nnp)
		if b.Key != tc.key {
			t.Errorf("%s nnp=%t: key %s, want %s", tc.version, tc.nnp, b.Key, tc.key)
		}
		for _, n := range tc.has {
			if !slices.Contains(b.Syscalls, n) {
				t.Errorf("%s nnp=%t: %s missing", tc.version, tc.nnp, n)
			}
		}
		for _, n := range tc.hasNot {
			if slices.Contains(b.Syscalls, n) {
				t.Errorf("%s nnp=%t: %s present", tc.version, tc.nnp, n)
			}
		}
	}
}

func TestValidateErrors(t *testing.T) {
	errno := uint(1)
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &errno,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(p *specs.LinuxSeccomp)
		is     error
		entry  string
	}{
		{"unknown syscall", func(p *specs.LinuxSeccomp) { p.Syscalls[0].Names = append(p.Syscalls[0].Names, "opne") }, ErrUnknownSyscall, `syscalls[0].names[2] "opne"`},
		{"unknown action", func(p *specs.LinuxSeccomp) { p.Syscalls[0].Action = "SCMP_ACT_MAYBE" }, ErrUnknownAction, "syscalls[0].action"},
		{"unknown default action", func(p *specs.LinuxSeccomp) { p.DefaultAction = "SCMP_ACT_NOPE" }, ErrUnknownAction, "defaultAction"},
		{"unknown arch", func(p *specs.LinuxSeccomp) { p.Architectures = append(p.Architectures, "SCMP_ARCH_Z80") }, ErrUnknownArch, "architectures[1]"},
		{"unknown operator", func(p *specs.LinuxSeccomp) {
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_ABOUT"}}})
		}, ErrUnknownOperator, "syscalls[1].args[0].op"},
		{"notify on write", func(p *specs.LinuxSeccomp) {
			p.ListenerPath = "/run/x.sock"
			p.Syscalls[0].Action = specs.ActNotify
		}, ErrNotifyMisuse, "syscalls[0]"},
		{"notify as default", func(p *specs.LinuxSeccomp) { p.DefaultAction = specs.ActNotify }, ErrNotifyMisuse, "defaultAction"},
		{"notify without listener", func(p *specs.LinuxSeccomp) {
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify})
		}, ErrNotifyMisuse, "listenerPath"},
		{"unknown syscall on a compat arch only", func(p *specs.LinuxSeccomp) {
			p.Architectures = append(p.Architectures, specs.ArchX86)
			p.Syscalls[0].Names = append(p.Syscalls[0].Names, "no_such_call")
		}, ErrUnknownSyscall, "no_such_call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.mutate(p)
			_, err := Validate("web.json", p)
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Profile != "web.json" || !strings.Contains(ve.Entry, tc.entry) {
				t.Fatalf("error %v does not name profile web.json and entry %s", err, tc.entry)
			}
		})
	}
}

func TestValidateNewerSyscallsAreUnsupportedNotErrors(t *testing.T) {
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "uretprobe"}, Action: specs.ActAllow}}}
	st, err := Validate("x", p)
	if err != nil {
		t.Fatal(err)
	}
	if v := libseccompVersion(); v < "2.6" && !slices.Contains(st.Unsupported, "uretprobe") {
		t.Errorf("uretprobe not reported unsupported by libseccomp %s: %+v", v, st.Unsupported)
	}
	if st.BPFInstructions == 0 {
		t.Errorf("no BPF instructions counted")
	}
}

func TestDockerDefaultIsLargerThanGenerated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "docker-default.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ValidateFile("docker-default.json", data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Generate(dockerCaps, Options{Baseline: RuncBaseline("1.5.2", true)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Validate("generated", p)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Allowed) >= len(d.Allowed) || g.BPFInstructions >= d.BPFInstructions {
		t.Errorf("generated %d allowed/%d insns, docker %d/%d: generated must be smaller",
			len(g.Allowed), g.BPFInstructions, len(d.Allowed), d.BPFInstructions)
	}
}

// modifierFor is the modifier the pipeline builds for ctx's profile, as
// the test has set it up by now.
func modifierFor(ctx *modifier.Context) *Modifier {
	if ctx.Profile == nil {
		return New(policy.Seccomp{}, "")
	}
	return New(ctx.Profile.Seccomp, ctx.Profile.Dir)
}

func newCtx(mode policy.SeccompMode, lowerVersion string) *modifier.Context {
	p := &policy.Profile{Name: "test", Mode: policy.ModeEnforce, Seccomp: policy.Seccomp{Mode: mode}}
	return &modifier.Context{Verb: "create", ProfileName: "test", Profile: p, Lower: modifier.Lower{Version: lowerVersion}}
}

func newSpec(caps []string, nnp bool) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{NoNewPrivileges: nnp, Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
}

func TestModifierModes(t *testing.T) {
	docker, err := Load(mustRead(t, "testdata/docker-default.json"), dockerCaps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	docker.Architectures = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	for _, tc := range []struct {
		name       string
		mode       policy.SeccompMode
		before     *specs.LinuxSeccomp
		wantNil    bool
		wantNotify bool
		wantChange bool
		// wantAllowed: a name only the intended source allows.
		wantAllowed string
	}{
		{name: "generated replaces unconfined", mode: ModeGenerated, wantChange: true},
		{name: "keep replaces absent profile", mode: ModeKeep, wantChange: true},
		{name: "keep replaces allow-by-default", mode: ModeKeep, before: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, wantChange: true},
		{name: "keep keeps docker's profile", mode: ModeKeep, before: docker, wantChange: true, wantAllowed: "mq_open"},
		{name: "unconfined removes", mode: ModeUnconfined, before: docker, wantNil: true, wantChange: true},
		{name: "unconfined on nothing records nothing", mode: ModeUnconfined, wantNil: true},
		{name: "learn installs notify", mode: ModeLearn, wantNotify: true, wantChange: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := newCtx(tc.mode, "1.1.5")
			ctx.DryRun = true
			s := newSpec(defaultCaps, true)
			if tc.before != nil {
				s.Linux = &specs.Linux{Seccomp: clone(tc.before)}
			}
			r := &modifier.Report{}
			if err := modifierFor(ctx).Modify(ctx, s, r); err != nil {
				t.Fatal(err)
			}
			got := s.Linux.Seccomp
			if (got == nil) != tc.wantNil {
				t.Fatalf("profile %v, want nil=%t", got, tc.wantNil)
			}
			if (len(r.Changes) > 0) != tc.wantChange {
				t.Errorf("changes %v, want some=%t", r.Changes, tc.wantChange)
			}
			for _, c := range r.Changes {
				if c.Path != "linux.seccomp" || c.Reason == "" || c.Rule != "seccomp.mode" {
					t.Errorf("change %+v lacks path, rule or reason", c)
				}
			}
			if len(ctx.Notes) == 0 {
				t.Errorf("no note recorded")
			}
			if got == nil {
				return
			}
			st, err := Validate("out", got)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNotify != (len(st.Notified) > 0) || (tc.wantNotify && got.ListenerPath == "") {
				t.Errorf("notified %d syscalls, listener %q; want notify=%t", len(st.Notified), got.ListenerPath, tc.wantNotify)
			}
			if tc.wantAllowed != "" && !slices.Contains(st.Allowed, tc.wantAllowed) {
				t.Errorf("%s not allowed", tc.wantAllowed)
			}
			if !slices.Equal(got.Architectures, []specs.Arch{specs.ArchX86_64}) {
				t.Errorf("architectures %v, want native only", got.Architectures)
			}
		})
	}
}

func TestModifierIdempotent(t *testing.T) {
	for _, mode := range []policy.SeccompMode{ModeGenerated, ModeKeep, ModeProfile, ModeLearn} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			writeLearned(t, dir)
			ctx := newCtx(mode, "1.5.2")
			ctx.DryRun = true
			ctx.Profile.Dir = dir
			ctx.Profile.Seccomp.Profile = "web.json"
			s := newSpec(defaultCaps, false)
			if err := modifierFor(ctx).Modify(ctx, s, &modifier.Report{}); err != nil {
				t.Fatal(err)
			}
			first := clone(s.Linux.Seccomp)
			r := &modifier.Report{}
			if err := modifierFor(ctx).Modify(ctx, s, r); err != nil {
				t.Fatal(err)
			}
			if len(r.Changes) != 0 || !sameProfile(first, s.Linux.Seccomp) {
				t.Errorf("second run changed the profile: %v", r.Changes)
			}
			// keep mode on the modifier's own output keeps it as is.
			ctx.Profile.Seccomp.Mode = ModeKeep
			r = &modifier.Report{}
			if err := modifierFor(ctx).Modify(ctx, s, r); err != nil {
				t.Fatal(err)
			}
			if len(r.Changes) != 0 {
				t.Errorf("keep on own output changed it: %v", r.Changes)
			}
		})
	}
}

func TestProfileModeErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "seccomp"), 0o755)
	os.WriteFile(filepath.Join(dir, "seccomp", "typo.json"), []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","wirte"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
	for _, tc := range []struct{ file, want string }{
		{"typo.json", `"wirte"`},
		{"missing.json", "missing.json"},
		{"../etc/passwd", "file name"},
	} {
		ctx := newCtx(ModeProfile, "1.1.5")
		ctx.Profile.Dir = dir
		ctx.Profile.Seccomp.Profile = tc.file
		err := modifierFor(ctx).Modify(ctx, newSpec(defaultCaps, true), &modifier.Report{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %s", tc.file, err, tc.want)
		}
	}
}

func TestLearnNeedsAgentAndNotify(t *testing.T) {
	ctx := newCtx(ModeLearn, "1.1.5")
	ctx.Profile.Seccomp.LearnSocket = filepath.Join(t.TempDir(), "none.sock")
	if err := modifierFor(ctx).Modify(ctx, newSpec(defaultCaps, true), &modifier.Report{}); err == nil || !strings.Contains(err.Error(), "hardenctl seccomp learn") {
		t.Errorf("error %v, want a hint to start the agent", err)
	}
	ctx = newCtx(ModeLearn, "1.0.2")
	ctx.DryRun = true
	if _, ok := modifier.AsDenial(modifierFor(ctx).Modify(ctx, newSpec(defaultCaps, true), &modifier.Report{})); !ok {
		t.Errorf("runc 1.0 learning not denied")
	}
}

func TestLearnProfileConstraints(t *testing.T) {
	p, err := LearnProfile(Options{Baseline: RuncBaseline("1.5.2", true)}, "/run/a.sock", "web")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Validate("learn", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"write"} {
		if !slices.Contains(st.Allowed, n) {
			t.Errorf("%s must be allowed outright in learning mode", n)
		}
	}
	for _, n := range handover {
		if !slices.Contains(st.Notified, n) {
			t.Errorf("%s must be notified", n)
		}
	}
	for _, n := range denyList {
		if slices.Contains(st.Notified, n) || slices.Contains(st.Allowed, n) {
			t.Errorf("deny-list %s reachable in learning mode", n)
		}
	}
	if len(st.Notified) < 200 {
		t.Errorf("only %d syscalls notified", len(st.Notified))
	}
}

func writeLearned(t *testing.T, dir string) {
	t.Helper()
	if _, err := MergeLearned(dir, "web", []string{"socket", "bind", "listen", "accept4", "poll"}, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestMergeLearned(t *testing.T) {
	dir := t.TempDir()
	writeLearned(t, dir)
	path, err := MergeLearned(dir, "web", []string{"sendfile", "clone", "mount"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ValidateFile(path, mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"socket", "bind", "sendfile", "execve", "futex", "rt_sigreturn"} {
		if !slices.Contains(st.Allowed, n) {
			t.Errorf("%s missing from merged profile", n)
		}
	}
	if slices.Contains(st.Allowed, "mount") || slices.Contains(st.Allowed, "clone") {
		t.Errorf("mount or clone allowed unconditionally in a learned profile")
	}
	if len(st.Allowed) >= 80 {
		t.Errorf("learned profile allows %d syscalls, want < 80", len(st.Allowed))
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnconfinedRequest: Docker's --security-opt seccomp=unconfined, read
// from the container's hostconfig.json, is refused naming seccomp.mode, or
// with on_request = "drop" filtered anyway and noted.
func TestUnconfinedRequest(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: dockerd's state is trusted only when root-owned")
	}
	const id = "0123456789ab"
	dir := filepath.Join(t.TempDir(), "containers", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"config.v2.json":  `{"Config":{"Image":"busybox"}}`,
		"hostconfig.json": `{"SecurityOpt":["seccomp=unconfined"]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spec := func() *specs.Spec {
		s := newSpec(defaultCaps, true)
		s.Mounts = []specs.Mount{{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(dir, "hostname")}}
		return s
	}
	ctx := newCtx(ModeGenerated, "1.5.2")
	ctx.ContainerID = id
	err := modifierFor(ctx).Modify(ctx, spec(), &modifier.Report{})
	if d, ok := modifier.AsDenial(err); !ok || d.Rule != "seccomp.mode" || !strings.Contains(d.Reason, "seccomp=unconfined") {
		t.Fatalf("want a seccomp.mode denial, got %v", err)
	}

	ctx = newCtx(ModeGenerated, "1.5.2")
	ctx.ContainerID = id
	ctx.Profile.Seccomp.OnRequest = policy.RequestDrop
	s := spec()
	if err := modifierFor(ctx).Modify(ctx, s, &modifier.Report{}); err != nil || s.Linux.Seccomp == nil {
		t.Fatalf("on_request drop: %v, filter %v", err, s.Linux.Seccomp != nil)
	}
	if !slices.ContainsFunc(ctx.Notes, func(n string) bool { return strings.Contains(n, "seccomp.on_request") }) {
		t.Errorf("drop not noted: %v", ctx.Notes)
	}

	ctx = newCtx(ModeUnconfined, "1.5.2")
	ctx.ContainerID = id
	if err := modifierFor(ctx).Modify(ctx, spec(), &modifier.Report{}); err != nil {
		t.Fatalf("mode unconfined honours the request: %v", err)
	}
}
