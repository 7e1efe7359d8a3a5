package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// handover are the syscalls that end runc's part of a launch: the learner
// must see them (they are notified, never allowed outright) to know when the
// container's own process starts.
var handover = []string{"execve", "execveat"}

// LearnProfile is the profile of learning mode: the deny list and clone
// with namespace flags stay denied and clone3 answers ENOSYS, as under
// enforcement, so the workload takes the same paths; the runc baseline and
// write are allowed outright (runc refuses NOTIFY on write and as default
// action, and notifying runc's own calls only slows the launch); every other
// syscall of the native architecture goes to the agent at socket, which
// records it and lets it continue. metadata reaches the agent as
// listenerMetadata (hardened-runc passes the profile name).
func LearnProfile(o Options, socket, metadata string) (*specs.LinuxSeccomp, error) {
	if socket == "" {
		return nil, fmt.Errorf("learning mode needs a listener socket")
	}
	all, err := NativeSyscalls()
	if err != nil {
		return nil, err
	}
	allowed := union(slices.DeleteFunc(slices.Clone(o.Baseline.Syscalls), func(n string) bool {
		return slices.Contains(handover, n)
	}), []string{"write"}, o.Allow)
	skip := union(denyList, o.Deny, allowed, []string{"clone", "clone3"})
	notify := slices.DeleteFunc(all, func(n string) bool { return slices.Contains(skip, n) })
	p := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActErrno,
		DefaultErrnoRet:  ptr(errnoEPERM),
		Architectures:    Arches(o.CompatArches),
		ListenerPath:     socket,
		ListenerMetadata: metadata,
		Syscalls: append([]specs.LinuxSyscall{
			{Names: allowed, Action: specs.ActAllow},
			{Names: notify, Action: specs.ActNotify},
		}, cloneRules()...),
	}
	return p, nil
}

// LearnedBaseline is merged into every learned profile: what runc 1.1 and
// 1.5 call after loading the filter with noNewPrivileges (the launch merges
// the exact set for its runc again), and the Go runtime set.
func LearnedBaseline() Baseline {
	return Baseline{Key: "learned", Syscalls: union(runc11NNP, runc15NNP, goRuntime, execFallbacks)}
}

// Learned builds the enforcing profile for the recorded syscalls: EPERM by
// default, the native architecture, the recorded set and the baseline
// allowed, clone without namespace flags, clone3 answering ENOSYS.
func Learned(recorded []string, o Options) *specs.LinuxSeccomp {
	names := slices.DeleteFunc(union(recorded), func(n string) bool {
		return n == "clone" || n == "clone3" || slices.Contains(denyList, n)
	})
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: ptr(errnoEPERM),
		Syscalls:        append([]specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}}, cloneRules()...),
	}
	return Finish(p, o)
}

// UnconditionallyAllowed returns the names a profile allows with no
// argument condition (ALLOW, LOG or NOTIFY), sorted; used to merge learned
// runs.
func UnconditionallyAllowed(p *specs.LinuxSeccomp) []string {
	var out []string
	for _, r := range p.Syscalls {
		if allowingOutright(r) {
			out = append(out, r.Names...)
		}
	}
	return union(out)
}
