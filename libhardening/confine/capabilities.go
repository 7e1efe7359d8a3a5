package confine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/enginestate"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// CapabilitiesModifier reduces every capability set to the profile's allow
// list and denies a privileged spec unless the profile allows it.
type CapabilitiesModifier struct{ p *policy.Profile }

// Capabilities returns the "capabilities" control of profile p.
func Capabilities(p *policy.Profile) *CapabilitiesModifier { return &CapabilitiesModifier{p: p} }

// Name implements modifier.Modifier.
func (*CapabilitiesModifier) Name() string { return "capabilities" }

// Modify implements modifier.Modifier. Dropping a capability of the
// engine's default list is a recorded fix: nobody asked for it by name. A
// capability asked for by name (--cap-add) that the allow list lacks is
// denied, or dropped and recorded under capabilities.on_request = "drop";
// a privileged spec is denied, because silently turning `--privileged`
// into an ordinary container breaks it in confusing ways.
func (m *CapabilitiesModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if IsPrivileged(s) {
		if !m.p.Capabilities.AllowPrivileged {
			return deny("capabilities.allow_privileged",
				"privileged container (every capability, no seccomp filter, no masked paths, access to all devices)",
				fix(ctx, "set capabilities.allow_privileged = true"), ctlPrivileged)
		}
		ctx.Note("capabilities: privileged container allowed by capabilities.allow_privileged")
		return nil
	}
	if PrivilegedAllowed(m.p, s) {
		return nil
	}
	allow := allowSet(m.p.Capabilities.Allow)
	switch m.p.Capabilities.Reduce {
	case policy.ControlEnforce, "":
	case policy.ControlAudit:
		if extra := beyond(containerBounding(s), allow); len(extra) > 0 {
			ctx.Note("audit capabilities.reduce: kept %s beyond capabilities.allow (their use is not observable without an audit daemon)", strings.Join(extra, ", "))
		}
		return nil
	default:
		return nil
	}
	if err := explicitRequests(ctx, m.p, s, allow); err != nil {
		return err
	}
	proc := spec.EnsureProcess(s)
	if proc.Capabilities == nil {
		// runc leaves the capabilities of its own (root) process untouched
		// when the spec has none: absent means "all".
		caps := spec.EnsureCapabilities(proc)
		caps.Bounding, caps.Effective, caps.Permitted = slices.Clone(allow), slices.Clone(allow), slices.Clone(allow)
		r.Set("process.capabilities", nil, caps, "capabilities.allow",
			"no capabilities in the spec means runc keeps all of them; set to the allow list", ctlCaps)
		return nil
	}
	reduceCaps(proc.Capabilities, allow, r, "process.capabilities", "capabilities.allow",
		"not in the profile's allow list")
	return nil
}

// engineDefaultCaps is the largest default set an engine grants without
// being asked: Docker's, which is also containerd's and CRI's (Podman,
// CRI-O and `runc spec` grant subsets of it). A capability outside it was
// asked for by name.
var engineDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// explicitRequests denies (or notes, with on_request = "drop") the
// capabilities the engine was asked for by name and the allow list lacks.
// Under Docker the request is read from hostconfig.json (--cap-add), so
// `--cap-add NET_RAW` counts although NET_RAW is in Docker's default set;
// elsewhere it is every capability outside engineDefaultCaps.
func explicitRequests(ctx *modifier.Context, p *policy.Profile, s *specs.Spec, allow []string) error {
	requested, how := requestedCaps(ctx, s)
	extra := beyond(requested, allow)
	if len(extra) == 0 {
		return nil
	}
	if p.Capabilities.OnRequest == policy.RequestDrop {
		ctx.Note("capabilities: the engine asked for %s (%s); dropped by capabilities.on_request = \"drop\"", strings.Join(extra, ", "), how)
		return nil
	}
	names := make([]string, len(extra))
	for i, c := range extra {
		names[i] = fmt.Sprintf("%q", strings.TrimPrefix(c, "CAP_"))
	}
	return deny("capabilities.allow",
		fmt.Sprintf("the engine explicitly asked for %s (%s), which the allow list lacks", strings.Join(extra, ", "), how),
		fix(ctx, "add %s to capabilities.allow (or set capabilities.on_request = \"drop\" to run without)", strings.Join(names, ", ")), ctlCaps)
}

// requestedCaps returns the capabilities asked for by name and how that
// was learned.
func requestedCaps(ctx *modifier.Context, s *specs.Spec) ([]string, string) {
	if d, err := enginestate.DockerContainer(s, ctx.ContainerID); err == nil {
		if slices.Contains(d.CapAdd, "ALL") {
			return containerBounding(s), "--cap-add ALL"
		}
		var out []string
		for _, c := range d.CapAdd {
			if slices.Contains(containerBounding(s), c) {
				out = append(out, c)
			}
		}
		return out, "--cap-add, from Docker's hostconfig.json"
	}
	return beyond(containerBounding(s), engineDefaultCaps), "beyond every engine's default set"
}

// beyond returns the capabilities of have that are not in allow.
func beyond(have, allow []string) []string {
	var out []string
	for _, c := range have {
		if c = capName(c); !slices.Contains(allow, c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// ModifyProcess implements modifier.ProcessModifier: an exec'd process never
// has a capability the container's (hardened) bounding set lacks, so
// `docker exec --privileged`, which sends every capability, is clamped.
func (m *CapabilitiesModifier) ModifyProcess(ctx *modifier.Context, container *specs.Spec, proc *specs.Process, r *modifier.Report) error {
	if proc.Capabilities == nil {
		// runc exec then uses the container's capabilities.
		return nil
	}
	limit := containerBounding(container)
	if !PrivilegedAllowed(m.p, container) {
		allow := allowSet(m.p.Capabilities.Allow)
		limit, _ = filter(limit, func(c string) bool { return slices.Contains(allow, c) })
	}
	reduceCaps(proc.Capabilities, limit, r, "process.capabilities", "capabilities.allow",
		"above the container's bounding set")
	return nil
}

// reduceCaps filters each set of caps to allow, recording one change per
// set. The inheritable set lets a non-root process gain capabilities by
// exec'ing a binary with inheritable file capabilities (CVE-2022-24769), so
// it keeps only what the ambient set needs.
func reduceCaps(caps *specs.LinuxCapabilities, allow []string, r *modifier.Report, path, rule, why string) {
	// Ambient is reduced first: inheritable is filtered against the result.
	sets := []struct {
		name string
		v    *[]string
	}{
		{"bounding", &caps.Bounding}, {"effective", &caps.Effective}, {"permitted", &caps.Permitted},
		{"ambient", &caps.Ambient}, {"inheritable", &caps.Inheritable},
	}
	for _, set := range sets {
		inh := set.name == "inheritable"
		kept, dropped := filter(*set.v, func(c string) bool {
			return slices.Contains(allow, capName(c)) && (!inh || slices.Contains(caps.Ambient, c))
		})
		if len(dropped) == 0 {
			continue
		}
		before := *set.v
		*set.v = kept
		reason, ctl := fmt.Sprintf("dropped %s: %s", strings.Join(dropped, ", "), why), ctlCaps
		if inh {
			reason, ctl = fmt.Sprintf("dropped %s: inheritable capabilities are kept only for the ambient set", strings.Join(dropped, ", ")), ctlCaps+"; CVE-2022-24769"
		}
		r.Set(path+"."+set.name, before, kept, rule, reason, ctl)
	}
}

func allowSet(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, capName(n))
	}
	return out
}

func containerBounding(s *specs.Spec) []string {
	if s == nil || s.Process == nil || s.Process.Capabilities == nil {
		return nil
	}
	out := make([]string, 0, len(s.Process.Capabilities.Bounding))
	for _, c := range s.Process.Capabilities.Bounding {
		out = append(out, capName(c))
	}
	return out
}

// allCaps are the capabilities every kernel since 3.16 has (CHOWN through
// AUDIT_READ). Engines fill a privileged spec from their own list of known
// or current capabilities, so "privileged" means "has at least all of these".
func allCaps() []string {
	var out []string
	for _, c := range capability.ListKnown() {
		if c <= capability.CAP_AUDIT_READ {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return out
}

func hasAllCaps(s *specs.Spec) bool {
	b := containerBounding(s)
	if len(b) == 0 {
		return false
	}
	for _, c := range allCaps() {
		if !slices.Contains(b, c) {
			return false
		}
	}
	return true
}

// IsPrivileged reports whether s looks like what `docker run --privileged`
// or a Kubernetes privileged container produces: there is no OCI flag for
// it, so it is inferred from every capability, no (or an allow-all) seccomp
// filter, no masked paths and an `allow a rwm` device rule.
func IsPrivileged(s *specs.Spec) bool {
	if !hasAllCaps(s) || s.Linux == nil {
		return false
	}
	l := s.Linux
	if l.Seccomp != nil && l.Seccomp.DefaultAction != specs.ActAllow {
		return false
	}
	if len(l.MaskedPaths) != 0 {
		return false
	}
	return l.Resources != nil && slices.ContainsFunc(l.Resources.Devices, isAllowAllRule)
}

// PrivilegedAllowed reports whether the profile lets s keep every
// capability: it allows privileged containers and s has all capabilities.
// Once the paths, devices, seccomp and MAC modifiers have run, a privileged
// spec no longer looks privileged; this weaker test keeps the pipeline
// idempotent, and those modifiers use it to leave such a container alone.
func PrivilegedAllowed(p *policy.Profile, s *specs.Spec) bool {
	return p != nil && p.Capabilities.AllowPrivileged && hasAllCaps(s)
}

// MACLeftAlone reports whether a MAC modifier (AppArmor, SELinux) leaves
// the spec as the engine set it: its mode is off, or the container is
// privileged and the profile allows that. Docker runs privileged containers
// unconfined and the profile chose to allow them, so the engine's choice
// stands; that case is noted for the forensic record. p is the MAC
// modifier's profile, lsm names the modifier in the note and what names
// what it would have set.
func MACLeftAlone(ctx *modifier.Context, p *policy.Profile, s *specs.Spec, mode policy.MACMode, lsm, what string) bool {
	if mode == policy.MACOff {
		return true
	}
	if PrivilegedAllowed(p, s) {
		ctx.Note("%s: privileged container allowed by capabilities.allow_privileged; %s left as the engine set it", lsm, what)
		return true
	}
	return false
}

func isAllowAllRule(d specs.LinuxDeviceCgroup) bool {
	return d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil &&
		(d.Access == "" || strings.ContainsAny(d.Access, "rw"))
}
