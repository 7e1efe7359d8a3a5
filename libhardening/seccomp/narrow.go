package seccomp

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// narrowToCaller keeps, in the generated profile p, every denial the
// caller's own filter makes: a pod's Localhost profile (or any profile an
// engine sends) may be stricter than the generated one for some syscalls,
// and replacing it must not give the container back what its author took
// away. A syscall the generated profile allows gets the caller's answer
// instead when the caller denies it outright: a rule of the caller's that
// names it with a non-allowing action and no argument condition, or, for a
// caller whose default denies, no allowing rule of the caller's names it.
// An argument-conditional allow of the caller's counts as allowing (the
// generated rule for that syscall stays); runc's baseline is never taken
// away, or runc could not reach execve. It returns the syscalls narrowed.
func narrowToCaller(p, caller *specs.LinuxSeccomp, baseline []string) []string {
	if p == nil || caller == nil {
		return nil
	}
	denies := callerDenial(caller)
	extra := map[callerAnswer][]string{}
	var narrowed []string
	kept := p.Syscalls[:0]
	for _, r := range p.Syscalls {
		if r.Action != specs.ActAllow && r.Action != specs.ActLog {
			kept = append(kept, r)
			continue
		}
		var names []string
		for _, n := range r.Names {
			a, denied := denies(n)
			if !denied || slices.Contains(baseline, n) {
				names = append(names, n)
				continue
			}
			if !slices.Contains(narrowed, n) {
				narrowed = append(narrowed, n)
				extra[a] = append(extra[a], n)
			}
		}
		if len(names) > 0 {
			r.Names = names
			kept = append(kept, r)
		}
	}
	p.Syscalls = kept
	for a, names := range extra {
		rule := specs.LinuxSyscall{Names: names, Action: a.action}
		if a.errno != 0 {
			errno := a.errno
			rule.ErrnoRet = &errno
		}
		p.Syscalls = append(p.Syscalls, rule)
	}
	slices.Sort(narrowed)
	return narrowed
}

// callerAnswer is what the caller's filter does with a syscall it denies.
type callerAnswer struct {
	action specs.LinuxSeccompAction
	errno  uint
}

// callerDenial returns whether the caller's profile denies a syscall
// outright, and how.
func callerDenial(c *specs.LinuxSeccomp) func(name string) (callerAnswer, bool) {
	allows := map[string]bool{}
	denies := map[string]callerAnswer{}
	for _, r := range c.Syscalls {
		switch {
		case !refuses(r.Action):
			for _, n := range r.Names {
				allows[n] = true
			}
		case len(r.Args) == 0:
			a := callerAnswer{action: r.Action}
			if r.ErrnoRet != nil {
				a.errno = *r.ErrnoRet
			}
			for _, n := range r.Names {
				if _, seen := denies[n]; !seen {
					denies[n] = a
				}
			}
		}
	}
	def := callerAnswer{action: c.DefaultAction}
	if c.DefaultErrnoRet != nil {
		def.errno = *c.DefaultErrnoRet
	}
	return func(name string) (callerAnswer, bool) {
		if a, ok := denies[name]; ok && !allows[name] {
			return a, true
		}
		if allows[name] || !refuses(c.DefaultAction) {
			return callerAnswer{}, false
		}
		return def, true
	}
}

// refuses reports whether an action denies the syscall. Notify and trace
// hand it to a supervisor (learning mode's agent), log and allow run it.
func refuses(a specs.LinuxSeccompAction) bool {
	switch a {
	case specs.ActErrno, specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap:
		return true
	}
	return false
}
