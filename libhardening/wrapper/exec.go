package wrapper

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// execVerb hardens the process of `runc exec`. With -p/--process FILE the
// process is rewritten into a private in-memory copy (the caller's file is
// never edited) whose path replaces FILE in the argv. Without -p, runc
// builds the process from the (already hardened) config.json and the flags,
// so the flags are checked against the container's policy instead.
func (iv *invocation) execVerb() int {
	launch, container, h, err := iv.runningContainerSession()
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	args := iv.args.Args()
	if unknown := iv.args.Unknown(); len(unknown) > 0 {
		// An unknown flag's arity is a guess, and a wrong guess could hide
		// --process or a flag that overrides the process: refuse rather
		// than run an exec we could not check.
		return iv.failLaunch(launch, h.profile, fmt.Errorf("exec: unknown flags %v: hardened-runc cannot check this exec; upgrade hardened-runc to one that knows them", unknown))
	}
	if err := iv.checkPreserveFDs(h); err != nil {
		h.fill(launch)
		return iv.failLaunch(launch, h.profile, err)
	}
	if err := iv.checkExecJoinable(h, launch.ContainerID); err != nil {
		h.fill(launch)
		return iv.failLaunch(launch, h.profile, err)
	}
	if path, ok := iv.args.Flag("process"); ok {
		args, err = iv.hardenProcessFile(h, container, path, launch)
	} else if err = iv.checkExecFlags(h, container); err == nil {
		args, err = iv.keepNoNewPrivs(h, container, args)
	}
	h.fill(launch)
	if err != nil {
		return iv.failLaunch(launch, h.profile, err)
	}
	if err := iv.record(launch, h.profile); err != nil {
		return iv.fail(err)
	}
	// exec is the liveness-probe hot path: keep the log quiet.
	iv.log.WithField("id", launch.ContainerID).Debugf("hardened-runc: exec %s, %d changes", h.decision, len(h.report.Changes))
	return iv.exec(args)
}

// checkExecJoinable names the failure runc 1.1 would report only as "error
// executing setns process": an exec into a container that has its own user
// namespace and shares a namespace another one owns (every Kubernetes pod
// container: the CNI network namespace is the host's user namespace's).
func (iv *invocation) checkExecJoinable(h *session, id string) error {
	t, blocked := userns.ExecUnjoinable(h.ctx.Lower.Version, func() int {
		st, _ := lower.ReadState(iv.stateDir(id))
		return st.Pid
	})
	if !blocked {
		return nil
	}
	return fmt.Errorf("runc %s cannot exec into this container: it joins the container's user namespace first and then may not join its %s namespace, which another user namespace owns (a pod's CNI network namespace or its sandbox's); use runc >= 1.2 as the lower runtime (Kubernetes requires it for user-namespaced pods), or select a profile with userns.mode = \"disabled\" for these pods",
		h.ctx.Lower.Version, t)
}

// runningContainerSession starts the forensic record and the session for a
// verb on an existing container (exec, update): the container's own hardened
// spec decides the profile and the limits.
func (iv *invocation) runningContainerSession() (*Launch, *specs.Spec, *session, error) {
	id := iv.containerID()
	launch := &Launch{Verb: iv.args.Verb(), Args: iv.args.Args(), ContainerID: id}
	bundle, container := iv.containerSpec(id)
	launch.Bundle = bundle
	h, err := iv.session(container, bundle)
	if err != nil {
		return launch, container, nil, err
	}
	h.fill(launch)
	return launch, container, h, nil
}

// containerSpec finds the running container's bundle through the lower
// runtime's state and returns its hardened spec. A container hardened-runc
// cannot find (created by another runtime, bundle removed) is checked against
// the profile alone, with an empty spec.
func (iv *invocation) containerSpec(id string) (string, *specs.Spec) {
	st, _ := lower.ReadState(iv.stateDir(id))
	bundle := st.Bundle
	if bundle == "" {
		return "", &specs.Spec{}
	}
	doc, err := spec.Load(bundle)
	if err != nil {
		iv.log.WithError(err).Debug("hardened-runc: exec: container config unreadable; checking against the profile only")
		return bundle, &specs.Spec{}
	}
	return bundle, doc.Spec
}

func (iv *invocation) hardenProcessFile(h *session, container *specs.Spec, path string, l *Launch) ([]string, error) {
	pd, err := spec.LoadProcess(path)
	if err != nil {
		return nil, fmt.Errorf("exec --process %s: %w (file left as it was)", path, err)
	}
	l.Original = pd.Original()
	if h.profile.Mode == policy.ModeOff {
		return iv.args.Args(), nil
	}
	if h.ctx.UnknownFields, err = pd.UnknownFields(); err != nil {
		return nil, fmt.Errorf("exec --process %s: %w (file left as it was)", path, err)
	}
	if err := h.applyProcess(container, pd.Process); err != nil {
		return nil, err
	}
	if h.profile.Mode == policy.ModeAudit {
		return iv.args.Args(), nil
	}
	data, err := pd.Bytes()
	if err != nil {
		return nil, err
	}
	l.Hardened = data
	fdPath, err := memfdPath("hardened-runc-process", data)
	if err != nil {
		return nil, fmt.Errorf("exec: hardened process copy: %w", err)
	}
	return iv.args.ReplaceFlagValue("process", fdPath)
}

// applyProcess runs the pipeline's process modifiers (audit mode: on a copy).
func (h *session) applyProcess(container *specs.Spec, p *specs.Process) error {
	list := h.pipeline(h.profile)
	target := p
	if h.profile.Mode == policy.ModeAudit {
		h.ctx.DryRun, h.ctx.Audit = true, true
		h.decision = Audited
		cp := *p
		target = &cp
	}
	if err := list.ModifyProcess(h.ctx, container, target, &h.report); err != nil {
		return h.judge(err)
	}
	if h.profile.Mode == policy.ModeEnforce {
		if err := h.effects(container); err != nil {
			return err
		}
	}
	if h.decision == "" {
		h.decision = Allowed
	}
	return nil
}

// keepNoNewPrivs asks the lower runtime for no_new_privs on an exec without
// -p when the container has it: runc copies it from the container's
// config, but crun builds the exec'd process from the flags alone and runs
// it with no_new_privs off. The flag is bare ("--no-new-privs"), which both
// read; InsertFlag checks that runc reads the result as intended.
func (iv *invocation) keepNoNewPrivs(h *session, container *specs.Spec, args []string) ([]string, error) {
	if h.profile.Mode != policy.ModeEnforce || container.Process == nil || !container.Process.NoNewPrivileges {
		return args, nil
	}
	if _, set := iv.args.Bool("no-new-privs"); set {
		return args, nil
	}
	out, err := iv.args.InsertFlag("no-new-privs", "true")
	if err != nil {
		return nil, fmt.Errorf("exec: keep no_new_privs: %w", err)
	}
	for i, a := range out {
		if a == "--no-new-privs=true" {
			out[i] = "--no-new-privs"
			break
		}
	}
	return out, nil
}

// checkExecFlags checks the flags that override the process of an exec
// without -p. They cannot be rewritten the way a process.json can (runc
// applies them after we return), so what exceeds the container is denied.
func (iv *invocation) checkExecFlags(h *session, container *specs.Spec) error {
	if h.profile.Mode == policy.ModeOff {
		return nil
	}
	f := confine.ExecFlags{Caps: iv.args.Flags("cap")}
	if v, set := iv.args.Bool("no-new-privs"); set && !v {
		f.NoNewPrivsFalse = true
	}
	f.Cwd, _ = iv.args.Flag("cwd")
	f.User, _ = iv.args.Flag("user")
	err := confine.CheckExecFlags(h.ctx, h.profile, container, f)
	if err == nil {
		err = checkLabelFlags(iv, container)
	}
	if err != nil {
		return h.judge(err)
	}
	h.decision = Allowed
	return nil
}

// checkLabelFlags denies --apparmor and --process-label values other than
// the container's own: an exec must not leave the container's MAC confinement.
func checkLabelFlags(iv *invocation, container *specs.Spec) error {
	var own specs.Process
	if container.Process != nil {
		own = *container.Process
	}
	if a, ok := iv.args.Flag("apparmor"); ok && a != own.ApparmorProfile {
		return modifier.Deny("apparmor", fmt.Sprintf("exec --apparmor %q differs from the container's profile %q", a, own.ApparmorProfile),
			"drop --apparmor: exec'd processes run under the container's profile")
	}
	if l, ok := iv.args.Flag("process-label"); ok && l != own.SelinuxLabel {
		return modifier.Deny("selinux", fmt.Sprintf("exec --process-label %q differs from the container's label %q", l, own.SelinuxLabel),
			"drop --process-label: exec'd processes run with the container's label")
	}
	return nil
}

// memfdPath puts data in an anonymous in-memory file that survives execve
// and returns a /proc/self/fd path to it: the lower runtime opens that path
// as if it were a file, and nothing is left on disk to clean up (an exec
// liveness probe every few seconds would otherwise litter the host).
func memfdPath(name string, data []byte) (string, error) {
	fd, err := unix.MemfdCreate(name, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	// Deliberately not closed: the fd must stay open (without CLOEXEC)
	// across execve for runc to read it.
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
}
