package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/enginestate"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	hspec "github.com/hardened-runc/hardened-runc/libhardening/spec"
	"github.com/hardened-runc/hardened-runc/profiles"
)

// Modes of the [seccomp] section.
const (
	ModeGenerated  = policy.SeccompGenerated
	ModeProfile    = policy.SeccompProfile
	ModeKeep       = policy.SeccompKeep
	ModeUnconfined = policy.SeccompUnconfined
	ModeLearn      = policy.SeccompLearn
)

const (
	specPath = "linux.seccomp"
	control  = "CIS Docker 5.21; PSS restricted: seccompProfile"
)

// Modifier owns linux.seccomp. It must run after the capabilities modifier
// (it reads process.capabilities.bounding as hardened) and after the
// modifier that sets process.noNewPrivileges (the runc baseline depends on
// it).
type Modifier struct {
	sec policy.Seccomp
	// dir is the profiles directory, whose seccomp/ holds the profiles
	// mode "profile" names.
	dir   string
	cache validated
}

// New returns the seccomp modifier for a profile's [seccomp] section and
// the directory the profile was loaded from ("" for the default).
func New(sec policy.Seccomp, profilesDir string) *Modifier {
	if profilesDir == "" {
		profilesDir = policy.DefaultProfilesDir
	}
	return &Modifier{sec: withDefaults(sec), dir: profilesDir}
}

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "seccomp" }

// Modify implements modifier.Modifier.
func (m *Modifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	sec := m.sec
	linux := hspec.EnsureLinux(s)
	before := linux.Seccomp
	if sec.Mode == ModeUnconfined {
		if before != nil {
			linux.Seccomp = nil
			r.Set(specPath, m.cache.summarize(ctx, before), nil, "seccomp.mode", "profile selects mode \"unconfined\": no seccomp filter", control)
		}
		ctx.Note("seccomp: unconfined by profile %q", ctx.ProfileName)
		return nil
	}
	if err := checkRequest(ctx, s, sec, r); err != nil {
		return err
	}
	o := options(ctx, s, sec)
	after, source, err := m.build(ctx, s, sec, o, before)
	if err != nil {
		return err
	}
	st, err := m.cache.validate(ctx, source, after)
	if err != nil {
		return err
	}
	linux.Seccomp = after
	if !sameProfile(before, after) {
		r.Set(specPath, m.cache.summarize(ctx, before), m.cache.summarize(ctx, after), "seccomp.mode", reason(sec.Mode, source, before), control)
	}
	noteStrict(ctx, sec, after)
	ctx.Note("seccomp: %s, %d syscalls allowed unconditionally and %d by argument on %v, %d BPF instructions, runc baseline %s (%d syscalls, noNewPrivileges=%t)",
		source, len(st.Allowed), len(st.Conditional), st.Arches, st.BPFInstructions, o.Baseline.Key, len(o.Baseline.Syscalls), noNewPrivileges(s))
	return nil
}

// checkRequest refuses (or, with on_request = "drop", records) an
// explicit request for no filter: Docker's --security-opt
// seccomp=unconfined, read from dockerd's hostconfig.json because the spec
// cannot tell it from an engine that sends no profile by default (runc
// spec, ctr, Kubernetes before SeccompDefault).
func checkRequest(ctx *modifier.Context, s *specs.Spec, sec policy.Seccomp, r *modifier.Report) error {
	d, err := enginestate.DockerContainer(&specs.Spec{Mounts: enginestate.EngineMounts(s, r.Changes)}, ctx.ContainerID)
	if err != nil || !d.SeccompUnconfined() {
		return nil
	}
	if sec.OnRequest == policy.RequestDrop {
		ctx.Note("seccomp: the engine asked for no filter (--security-opt seccomp=unconfined); dropped by seccomp.on_request = \"drop\", mode %q applies", sec.Mode)
		return nil
	}
	dn := modifier.Deny("seccomp.mode",
		"the engine explicitly asked for no seccomp filter (--security-opt seccomp=unconfined)",
		fmt.Sprintf("set seccomp.mode = \"unconfined\" in profile %q (or seccomp.on_request = \"drop\" to run it filtered)", ctx.ProfileName))
	dn.Control = control
	return dn
}

// noteStrict says in the forensic record what the two seccomp controls
// did with a generated profile, and, when one audits, whether the kernel
// will report the logged syscalls at all. `hardenctl why` reads the first
// note.
func noteStrict(ctx *modifier.Context, sec policy.Seccomp, p *specs.LinuxSeccomp) {
	if sec.Mode != ModeGenerated {
		return
	}
	ctx.Note("seccomp controls: attack_surface=%s strict=%s", sec.AttackSurface, sec.Strict)
	if logged := LoggedNames(p); len(logged) > 0 {
		ctx.Note("audit seccomp: %d cut syscalls allowed and logged (SCMP_ACT_LOG); uses are collected at delete: %s",
			len(logged), strings.Join(logged, ","))
		if !ActionLogged("log") {
			ctx.Note("audit seccomp: /proc/sys/kernel/seccomp/actions_logged lacks \"log\": the kernel will not report them")
		}
	}
}

// LoggedNames returns the syscalls a profile allows with SCMP_ACT_LOG.
func LoggedNames(p *specs.LinuxSeccomp) []string {
	if p == nil {
		return nil
	}
	return namesIn(p.Syscalls, union(denyList, strictCuts), func(r specs.LinuxSyscall) bool { return r.Action == specs.ActLog && len(r.Args) == 0 })
}

// ActionLogged reports whether the kernel logs the seccomp action (e.g.
// "log") per /proc/sys/kernel/seccomp/actions_logged.
func ActionLogged(action string) bool {
	data, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	return err == nil && slices.Contains(strings.Fields(string(data)), action)
}

// build returns the profile for the mode and a name for it.
func (m *Modifier) build(ctx *modifier.Context, s *specs.Spec, sec policy.Seccomp, o Options, before *specs.LinuxSeccomp) (*specs.LinuxSeccomp, string, error) {
	caps := bounding(s)
	switch sec.Mode {
	case ModeProfile:
		p, err := LoadNamed(m.dir, sec.Profile, caps, o)
		return p, "profile " + sec.Profile, err
	case ModeKeep:
		if !Permissive(before) {
			p, err := keep(before, o)
			return p, "caller's profile", err
		}
	case ModeLearn:
		if err := learnSupported(ctx.Lower); err != nil {
			return nil, "", err
		}
		sock := LearnSocket(sec, ctx.RunDir)
		if !ctx.DryRun {
			if _, err := os.Stat(sock); err != nil {
				return nil, "", fmt.Errorf("learning mode: no seccomp agent at %s (start `hardenctl seccomp learn --socket %s --out NAME`): %w", sock, sock, err)
			}
		}
		p, err := LearnProfile(o, sock, ctx.ProfileName)
		return p, "learning profile", err
	}
	p, err := Generate(caps, o)
	if err == nil {
		if n := narrowToCaller(p, before, o.Baseline.Syscalls); len(n) > 0 {
			ctx.Note("seccomp: %d syscalls the caller's own profile denies stay denied: %s", len(n), strings.Join(n, ","))
		}
	}
	return p, "generated profile", err
}

// keep validates the caller's profile before finishing it: an unknown
// name is an error, not a silently dropped rule.
func keep(p *specs.LinuxSeccomp, o Options) (*specs.LinuxSeccomp, error) {
	if _, err := Validate("caller's profile", p); err != nil {
		return nil, err
	}
	return Finish(clone(p), o), nil
}

// Permissive reports whether a profile confines nothing worth keeping: none
// at all (Docker's --security-opt seccomp=unconfined, Kubernetes without
// seccompProfile) or one that allows every syscall it does not name.
func Permissive(p *specs.LinuxSeccomp) bool {
	return p == nil || p.DefaultAction == specs.ActAllow || p.DefaultAction == specs.ActLog || p.DefaultAction == ""
}

func reason(mode policy.SeccompMode, source string, before *specs.LinuxSeccomp) string {
	switch {
	case mode == ModeKeep && Permissive(before):
		return "the caller's profile allows every syscall it does not name (or is absent): replaced by the generated profile"
	case mode == ModeKeep:
		return "caller's profile kept, limited to the native architecture, with the runc baseline merged"
	case mode == ModeLearn:
		return "learning mode: every syscall is recorded by the seccomp agent and allowed"
	case mode == ModeProfile:
		return source + " from the profiles directory, with the runc baseline merged"
	}
	return "minimal profile generated from the container's capabilities: Docker's default less the cuts its seccomp controls enforce, native architecture only"
}

// withDefaults fills what a profile's [seccomp] section leaves unset.
func withDefaults(sec policy.Seccomp) policy.Seccomp {
	if sec.Mode == "" {
		sec.Mode = ModeGenerated
	}
	if sec.Strict == "" {
		sec.Strict = policy.ControlEnforce
	}
	if sec.AttackSurface == "" {
		sec.AttackSurface = policy.ControlEnforce
	}
	if sec.OnRequest == "" {
		sec.OnRequest = policy.RequestDeny
	}
	return sec
}

func options(ctx *modifier.Context, s *specs.Spec, sec policy.Seccomp) Options {
	return Options{
		CompatArches:  sec.CompatArches,
		Allow:         sec.Allow,
		Deny:          sec.Deny,
		Strict:        sec.Strict,
		AttackSurface: sec.AttackSurface,
		Baseline:      RuncBaseline(ctx.Lower.Version, noNewPrivileges(s)),
	}
}

func noNewPrivileges(s *specs.Spec) bool { return s.Process != nil && s.Process.NoNewPrivileges }

func bounding(s *specs.Spec) []string {
	if s.Process == nil || s.Process.Capabilities == nil {
		return nil
	}
	return s.Process.Capabilities.Bounding
}

// LearnSocket is the agent's socket for a profile in learning mode.
func LearnSocket(sec policy.Seccomp, runDir string) string {
	if sec.LearnSocket != "" {
		return sec.LearnSocket
	}
	if runDir == "" {
		runDir = policy.DefaultRunDir
	}
	return filepath.Join(runDir, "seccomp-learn.sock")
}

// learnSupported checks that the lower runc passes a notify fd to a
// listener: runc ≥ 1.1 with libseccomp ≥ 2.5 (`runc features` lists
// SCMP_ACT_NOTIFY), on Linux ≥ 5.6 (pidfd_getfd).
func learnSupported(l modifier.Lower) error {
	if l.Features != nil && !l.Features.SeccompNotify {
		return modifier.Deny("seccomp.mode", fmt.Sprintf("learning mode needs seccomp user notification, which the lower runtime %s does not support", l.Path),
			"use runc ≥ 1.1 linked with libseccomp ≥ 2.5, or set seccomp.mode = \"generated\"")
	}
	if major, minor, ok := kernelVersion(); ok && (major < 5 || major == 5 && minor < 6) {
		return modifier.Deny("seccomp.mode", fmt.Sprintf("learning mode needs Linux ≥ 5.6 (runc fetches the notify fd with pidfd_getfd); this kernel is %d.%d", major, minor),
			"set seccomp.mode = \"generated\"")
	}
	if v := series(l.Version); v == "1.0" || v == "0.1" {
		return modifier.Deny("seccomp.mode", "learning mode needs runc ≥ 1.1 (linux.seccomp.listenerPath); lower runtime is "+l.Version,
			"upgrade runc, or set seccomp.mode = \"generated\"")
	}
	return nil
}

// kernelVersion returns the running kernel's major and minor version.
func kernelVersion() (major, minor int, ok bool) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return 0, 0, false
	}
	n, _ := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major, minor, n == 2
}

// LoadNamed reads <dir>/seccomp/<file>, falling back to the profiles
// embedded in the binary, and loads it as a Docker-format profile.
func LoadNamed(dir, file string, caps []string, o Options) (*specs.LinuxSeccomp, error) {
	data, src, err := ReadNamed(dir, file)
	if err != nil {
		return nil, err
	}
	p, err := Load(data, caps, o)
	if err != nil {
		return nil, &ValidationError{Profile: src, Err: err}
	}
	return p, nil
}

// ReadNamed returns the bytes of a per-workload profile and where they came
// from.
func ReadNamed(dir, file string) ([]byte, string, error) {
	if file == "" || file != filepath.Base(file) || file == "." || file == ".." {
		return nil, "", fmt.Errorf("seccomp.profile %q: a file name under <profiles>/seccomp/", file)
	}
	if filepath.Ext(file) == "" {
		file += ".json"
	}
	p := filepath.Join(dir, "seccomp", file)
	data, err := os.ReadFile(p)
	if err == nil {
		return data, p, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("seccomp profile: %w", err)
	}
	data, eerr := fs.ReadFile(profiles.FS, path.Join("seccomp", file))
	if eerr != nil {
		return nil, "", fmt.Errorf("seccomp profile %q: %w (not in %s and not built in)", file, err, filepath.Dir(p))
	}
	return data, "embedded:seccomp/" + file, nil
}

// Summary is how a profile appears in a recorded Change.
type Summary struct {
	DefaultAction string   `json:"defaultAction"`
	Arches        []string `json:"arches,omitempty"`
	Rules         int      `json:"rules"`
	Allowed       int      `json:"allowed"`
	Conditional   int      `json:"conditional"`
	Listener      string   `json:"listenerPath,omitempty"`
}

// Summarize counts a profile for a Change; nil for no profile.
func Summarize(p *specs.LinuxSeccomp) *Summary {
	if p == nil {
		return nil
	}
	s := summaryShape(p)
	if st, err := Validate("summary", p); err == nil {
		s.Allowed, s.Conditional = len(st.Allowed), len(st.Conditional)
	}
	return s
}

// summaryShape is the part of a Summary that needs no compiling.
func summaryShape(p *specs.LinuxSeccomp) *Summary {
	s := &Summary{DefaultAction: string(p.DefaultAction), Rules: len(p.Syscalls), Listener: p.ListenerPath}
	for _, a := range p.Architectures {
		s.Arches = append(s.Arches, string(a))
	}
	return s
}

func sameProfile(a, b *specs.LinuxSeccomp) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
