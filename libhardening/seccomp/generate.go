package seccomp

import (
	"fmt"
	"runtime"
	"slices"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Options shape every profile hardened-runc hands to runc.
type Options struct {
	// CompatArches keeps the 32-bit sub-architectures (x86, x32 on
	// x86_64). Off by default: 32-bit entry points bypass argument filters
	// (socketcall instead of socket, the 32-bit clone ABI).
	CompatArches bool
	// Allow and Deny adjust the profile by name; Allow wins over the deny
	// list (it is the admin's explicit choice).
	Allow []string
	Deny  []string
	// Baseline is merged into every profile so runc can get from loading
	// the filter to execve.
	Baseline Baseline
	// AttackSurface and Strict govern the cuts beyond Docker's default in
	// a generated profile (DenyList and StrictCuts): enforce ("" too)
	// denies them, audit allows them with SCMP_ACT_LOG so the kernel
	// reports each use, off allows them as Docker's default does.
	AttackSurface policy.ControlMode
	Strict        policy.ControlMode
}

// Generate builds the generated default profile for a container whose
// bounding set is caps: Docker's default profile evaluated against the
// hardened capabilities, minus the strict cuts (o.Strict), with clone
// restricted to no namespace flags, clone3 answering ENOSYS, the native
// architecture only and the runc baseline merged in.
func Generate(caps []string, o Options) (*specs.LinuxSeccomp, error) {
	p, err := mobyseccomp.GetDefaultProfile(capsSpec(caps))
	if err != nil {
		return nil, fmt.Errorf("docker default profile: %w", err)
	}
	p = clone(p)
	p.DefaultAction = specs.ActErrno
	p.DefaultErrnoRet = ptr(errnoEPERM)
	cuts := map[policy.ControlMode][]string{}
	cuts[modeOr(o.AttackSurface)] = append(cuts[modeOr(o.AttackSurface)], denyList...)
	cuts[modeOr(o.Strict)] = append(cuts[modeOr(o.Strict)], strictCuts...)
	p.Syscalls = applyCuts(p.Syscalls, cuts)
	p.Syscalls = dropNames(p.Syscalls, []string{"clone", "clone3"}, anyRule)
	p.Syscalls = dropNames(p.Syscalls, argumentFiltered, allowingOutright)
	p.Syscalls = append(p.Syscalls, cloneRules()...)
	return Finish(p, o), nil
}

// applyCuts cuts the deny list and the strict cuts from Docker's rules as
// their controls say: enforce drops them, audit turns the ones Docker
// allows outright into one SCMP_ACT_LOG rule, off keeps Docker's rules. A
// name Docker allows only for some arguments stays cut under audit too:
// logging it unconditionally would allow more than Docker does.
func applyCuts(rules []specs.LinuxSyscall, byMode map[policy.ControlMode][]string) []specs.LinuxSyscall {
	logged := namesIn(rules, byMode[policy.ControlAudit], allowingOutright)
	rules = dropNames(rules, union(byMode[policy.ControlEnforce], byMode[policy.ControlAudit]), allowing)
	if len(logged) > 0 {
		rules = append(rules, specs.LinuxSyscall{Names: logged, Action: specs.ActLog})
	}
	return rules
}

// modeOr reads an unset control as enforce, for callers that build
// Options by hand; profiles always set it.
func modeOr(m policy.ControlMode) policy.ControlMode {
	if m == "" {
		return policy.ControlEnforce
	}
	return m
}

// namesIn returns the names of list that a rule selected by which names.
func namesIn(rules []specs.LinuxSyscall, list []string, which func(specs.LinuxSyscall) bool) []string {
	var out []string
	for _, r := range rules {
		if !which(r) {
			continue
		}
		for _, n := range r.Names {
			if slices.Contains(list, n) {
				out = append(out, n)
			}
		}
	}
	return union(out)
}

// Load parses a Docker-format JSON profile (the format of Docker's
// default.json: includes/excludes by caps, arches and kernel are evaluated
// against caps and this host) and finishes it with o.
func Load(data []byte, caps []string, o Options) (*specs.LinuxSeccomp, error) {
	p, err := mobyseccomp.LoadProfile(string(data), capsSpec(caps))
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("profile has neither defaultAction nor syscalls")
	}
	return Finish(clone(p), o), nil
}

// Finish applies what every profile gets, whoever wrote it: the admin's
// allow and deny adjustments, the native architecture (plus compat arches if
// asked), and the runc baseline. It is idempotent: finishing a finished
// profile changes nothing.
func Finish(p *specs.LinuxSeccomp, o Options) *specs.LinuxSeccomp {
	p.Architectures = Arches(o.CompatArches)
	deny := slices.DeleteFunc(slices.Clone(o.Deny), func(n string) bool { return slices.Contains(o.Allow, n) })
	p.Syscalls = dropNames(p.Syscalls, deny, allowing)
	p.Syscalls = dropNames(p.Syscalls, o.Allow, allowing) // re-added below as unconditional
	p.Syscalls = mergeAllow(p, union(o.Allow, baselineNames(o.Baseline, deny)))
	return p
}

// baselineNames is the baseline less what the admin denied by name.
func baselineNames(b Baseline, deny []string) []string {
	return slices.DeleteFunc(slices.Clone(b.Syscalls), func(n string) bool { return slices.Contains(deny, n) })
}

// Arches returns the native seccomp architecture and, with compat, its
// 32-bit sub-architectures.
func Arches(compat bool) []specs.Arch {
	switch runtime.GOARCH {
	case "amd64":
		if compat {
			return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
		}
		return []specs.Arch{specs.ArchX86_64}
	case "arm64":
		if compat {
			return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
		}
		return []specs.Arch{specs.ArchAARCH64}
	case "s390x":
		if compat {
			return []specs.Arch{specs.ArchS390X, specs.ArchS390}
		}
		return []specs.Arch{specs.ArchS390X}
	case "ppc64le":
		return []specs.Arch{specs.ArchPPC64LE}
	case "riscv64":
		return []specs.Arch{specs.ArchRISCV64}
	}
	return nil
}

// cloneRules allow clone without namespace flags and answer clone3 with
// ENOSYS: clone3 takes its flags in a struct a filter cannot read, and libcs
// fall back to clone on ENOSYS.
func cloneRules() []specs.LinuxSyscall {
	arg := 0
	if runtime.GOARCH == "s390x" {
		arg = 1 // s390 swaps clone's first two arguments
	}
	return []specs.LinuxSyscall{
		{
			Names:  []string{"clone"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: uint(arg), Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}},
		},
		{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: ptr(errnoENOSYS)},
	}
}

// capsSpec is the minimal spec moby's includes/excludes read.
func capsSpec(caps []string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: slices.Clone(caps)}}}
}

// isAllowing reports whether a rule lets the syscall run.
func isAllowing(a specs.LinuxSeccompAction) bool {
	return a == specs.ActAllow || a == specs.ActLog || a == specs.ActNotify
}

// mergeAllow folds every unconditional SCMP_ACT_ALLOW rule and extra into
// one sorted rule at the front, so the output is stable and diffable, and
// keeps every other rule in order. A name with an unconditional denying rule
// keeps that rule (the profile's author asked for it) unless it is in extra.
func mergeAllow(p *specs.LinuxSeccomp, extra []string) []specs.LinuxSyscall {
	var names []string
	var rest []specs.LinuxSyscall
	for _, r := range p.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			names = append(names, r.Names...)
			continue
		}
		rest = append(rest, r)
	}
	if p.DefaultAction != specs.ActAllow {
		extra = slices.DeleteFunc(slices.Clone(extra), func(n string) bool { return allowedOutright(rest, n) })
		names = union(names, extra)
		rest = dropNames(rest, extra, denyingOutright)
	}
	if len(names) == 0 {
		return rest
	}
	names = union(names)
	return append([]specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}}, rest...)
}

// allowedOutright reports whether a rule other than SCMP_ACT_ALLOW (LOG,
// NOTIFY) already lets n run whatever its arguments; such a name keeps its
// rule (a learning profile must go on notifying execve).
func allowedOutright(rules []specs.LinuxSyscall, n string) bool {
	for _, r := range rules {
		if allowingOutright(r) && slices.Contains(r.Names, n) {
			return true
		}
	}
	return false
}

// Rule selectors for dropNames.
func anyRule(specs.LinuxSyscall) bool { return true }

// allowing selects rules that let the syscall run (with or without
// argument conditions); denying rules can only make a name stricter.
func allowing(r specs.LinuxSyscall) bool { return isAllowing(r.Action) }

// allowingOutright selects allowing rules without argument conditions.
func allowingOutright(r specs.LinuxSyscall) bool { return isAllowing(r.Action) && len(r.Args) == 0 }

// denyingOutright selects rules that deny whatever the arguments.
func denyingOutright(r specs.LinuxSyscall) bool { return !isAllowing(r.Action) && len(r.Args) == 0 }

// dropNames removes names from the rules which selects, dropping rules left
// without names.
func dropNames(rules []specs.LinuxSyscall, names []string, which func(specs.LinuxSyscall) bool) []specs.LinuxSyscall {
	if len(names) == 0 {
		return rules
	}
	out := rules[:0:0]
	for _, r := range rules {
		if which(r) {
			r.Names = slices.DeleteFunc(slices.Clone(r.Names), func(n string) bool { return slices.Contains(names, n) })
			if len(r.Names) == 0 {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// clone deep-copies a profile so edits never alias the caller's slices.
func clone(p *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	c := *p
	c.Architectures = slices.Clone(p.Architectures)
	c.Flags = slices.Clone(p.Flags)
	c.Syscalls = make([]specs.LinuxSyscall, len(p.Syscalls))
	for i, r := range p.Syscalls {
		r.Names = slices.Clone(r.Names)
		r.Args = slices.Clone(r.Args)
		if r.ErrnoRet != nil {
			r.ErrnoRet = ptr(*r.ErrnoRet)
		}
		c.Syscalls[i] = r
	}
	if p.DefaultErrnoRet != nil {
		c.DefaultErrnoRet = ptr(*p.DefaultErrnoRet)
	}
	return &c
}
