package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// execVerb hardens the process of `runc exec`. With -p/--process FILE the
// process is rewritten into a private in-memory copy (the caller's file is
// never edited) whose path replaces FILE in the argv. Without -p, runc
// builds the process from the (already hardened) config.json and the flags,
// so the flags are checked against the container's policy instead.
func (iv *invocation) execVerb() int {
	id := iv.containerID()
	launch := &Launch{Verb: "exec", Args: iv.args.Args(), ContainerID: id}
	bundle, container := iv.containerSpec(id)
	launch.Bundle = bundle
	h, err := iv.session(container, bundle)
	if err != nil {
		return iv.failLaunch(launch, nil, err)
	}
	h.fill(launch)
	args := iv.args.Args()
	if unknown := iv.args.Unknown(); len(unknown) > 0 {
		// An unknown flag's arity is a guess, and a wrong guess could hide
		// --process or a flag that overrides the process: refuse rather
		// than run an exec we could not check.
		return iv.failLaunch(launch, h.profile, fmt.Errorf("exec: unknown flags %v: hardened-runc cannot check this exec; upgrade hardened-runc to one that knows them", unknown))
	}
	if path, ok := iv.args.Flag("process"); ok {
		args, err = iv.hardenProcessFile(h, container, path, launch)
	} else {
		err = iv.checkExecFlags(h, container)
	}
	h.fill(launch)
	if err != nil {
		return iv.failLaunch(launch, h.profile, err)
	}
	if err := iv.record(launch, h.profile); err != nil {
		return iv.fail(err)
	}
	// exec is the liveness-probe hot path: keep the log quiet.
	iv.log.WithField("id", id).Debugf("hardened-runc: exec %s, %d changes", h.decision, len(h.report.Changes))
	return iv.exec(args)
}

// containerSpec finds the running container's bundle through the lower
// runtime's state and returns its hardened spec. A container hardened-runc
// cannot find (created by another runtime, bundle removed) is checked against
// the profile alone, with an empty spec.
func (iv *invocation) containerSpec(id string) (string, *specs.Spec) {
	bundle := bundleFromState(iv.stateDir(id))
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

// stateDir is the lower runtime's state directory for the container.
func (iv *invocation) stateDir(id string) string {
	root := iv.args.Global().Root
	if root == "" {
		root = "/run/runc"
	}
	return filepath.Join(root, id)
}

// bundleFromState reads the bundle path that runc records as a label in its
// state.json ("bundle=/path").
func bundleFromState(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return ""
	}
	var st struct {
		Config struct {
			Labels []string `json:"labels"`
		} `json:"config"`
	}
	if json.Unmarshal(data, &st) != nil {
		return ""
	}
	for _, l := range st.Config.Labels {
		if b, ok := strings.CutPrefix(l, "bundle="); ok {
			return b
		}
	}
	return ""
}

func (iv *invocation) hardenProcessFile(h *session, container *specs.Spec, path string, l *Launch) ([]string, error) {
	pd, err := spec.LoadProcess(path)
	if err != nil {
		return nil, fmt.Errorf("exec --process %s: %w (file left as it was)", path, err)
	}
	l.Original = pd.Original()
	if h.profile.Mode == "off" {
		return iv.args.Args(), nil
	}
	if err := h.applyProcess(container, pd.Process); err != nil {
		return nil, err
	}
	if h.profile.Mode == "audit" {
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
	if h.profile.Mode == "audit" {
		h.ctx.DryRun = true
		h.decision = Audited
		cp := *p
		target = &cp
	}
	err := list.ModifyProcess(h.ctx, container, target, &h.report)
	if err != nil {
		if d, ok := modifier.AsDenial(err); ok {
			h.denial = d
			if h.profile.Mode == "audit" {
				h.ctx.Note("audit: would deny: %s", d.Error())
				return nil
			}
			h.decision = Denied
			return fmt.Errorf("%s (profile %q)", d.Error(), h.profile.Name)
		}
		h.decision = Failed
		return fmt.Errorf("harden exec process (profile %q): %w", h.profile.Name, err)
	}
	if h.decision == "" {
		h.decision = Allowed
	}
	return nil
}

// checkExecFlags applies the flags that override the process (--cap,
// --no-new-privs, --cwd, -u, --apparmor, --process-label) to a copy of the
// container's process and runs the process modifiers on it. The container's
// own process is already hardened, so anything a modifier has to change came
// from a flag: that is denied rather than silently rewritten, because runc
// would apply the flag after we return.
func (iv *invocation) checkExecFlags(h *session, container *specs.Spec) error {
	if h.profile.Mode == "off" {
		return nil
	}
	p := specs.Process{}
	if container.Process != nil {
		p = *spec.Clone(&specs.Spec{Process: container.Process}).Process
	}
	flagged := iv.overlayExecFlags(&p)
	if !flagged {
		h.decision = Allowed
		return nil
	}
	before := len(h.report.Changes)
	if err := h.applyProcess(container, &p); err != nil {
		return err
	}
	if h.profile.Mode == "enforce" && len(h.report.Changes) > before {
		c := h.report.Changes[before]
		h.decision = Denied
		return fmt.Errorf("exec flags denied by policy rule %s: %s; the container's policy (profile %q) does not allow it", c.Rule, c.Reason, h.profile.Name)
	}
	return nil
}

func (iv *invocation) overlayExecFlags(p *specs.Process) bool {
	flagged := false
	if caps := iv.args.Flags("cap"); len(caps) > 0 {
		c := spec.EnsureCapabilities(p)
		for _, cp := range caps {
			cp = strings.ToUpper(cp)
			if !strings.HasPrefix(cp, "CAP_") {
				cp = "CAP_" + cp
			}
			c.Bounding = append(c.Bounding, cp)
			c.Effective = append(c.Effective, cp)
			c.Permitted = append(c.Permitted, cp)
			c.Ambient = append(c.Ambient, cp)
		}
		flagged = true
	}
	if v, set := iv.args.Bool("no-new-privs"); set && !v {
		p.NoNewPrivileges = false
		flagged = true
	}
	if cwd, ok := iv.args.Flag("cwd"); ok {
		p.Cwd = cwd
		flagged = true
	}
	if u, ok := iv.args.Flag("user"); ok {
		uid, gid, _ := strings.Cut(u, ":")
		if n, err := strconv.ParseUint(uid, 10, 32); err == nil {
			p.User.UID = uint32(n)
		}
		if n, err := strconv.ParseUint(gid, 10, 32); err == nil {
			p.User.GID = uint32(n)
		}
		flagged = true
	}
	if a, ok := iv.args.Flag("apparmor"); ok {
		p.ApparmorProfile = a
		flagged = true
	}
	if l, ok := iv.args.Flag("process-label"); ok {
		p.SelinuxLabel = l
		flagged = true
	}
	return flagged
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
