package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// handover are the syscalls that end runc's part of a launch: the learner
// must see them (they are notified, never allowed outright) to know when the
// container's own process starts.
var handover = []string{"execve", "execveat"}

// Handover reports whether name is one of the syscalls that end runc's part
// of a launch (see handover); the learning agent starts recording at it.
func Handover(name string) bool { return slices.Contains(handover, name) }

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

// MergeLearned merges names into <dir>/seccomp/<name>.json (created if
// absent), with the learned baseline, validates the result and writes it
// atomically. It returns the file's path.
func MergeLearned(dir, name string, names []string, o Options) (string, error) {
	if name == "" || name != filepath.Base(name) {
		return "", fmt.Errorf("learned profile name %q: a file name", name)
	}
	file := filepath.Join(dir, "seccomp", name+".json")
	if filepath.Ext(name) == ".json" {
		file = filepath.Join(dir, "seccomp", name)
	}
	if data, err := os.ReadFile(file); err == nil {
		var old specs.LinuxSeccomp
		if err := json.Unmarshal(data, &old); err != nil {
			return "", fmt.Errorf("merge into %s: %w", file, err)
		}
		names = union(names, UnconditionallyAllowed(&old))
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if o.Baseline.Key == "" {
		o.Baseline = LearnedBaseline()
	}
	p := Learned(names, o)
	if _, err := Validate(file, p); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", err
	}
	return file, atomicfile.Write(file, append(data, '\n'), 0o644, 0o755)
}
