package selinux

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	goselinux "github.com/opencontainers/selinux/go-selinux"

	"github.com/hardened-runc/hardened-runc/libhardening/confine"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// DefaultType is the process type when the profile names none.
const DefaultType = "container_t"

const (
	processField = "process.selinuxLabel"
	mountField   = "linux.mountLabel"
	control      = "CIS Docker 5.2: SELinux security options"
)

// Modifier sets process.selinuxLabel and linux.mountLabel. It runs near the
// end of the pipeline, with the AppArmor modifier, after the capability,
// rootfs, mount and namespace modifiers.
type Modifier struct {
	// Host is the kernel and SELinux policy; nil means System{}.
	Host    Host
	profile *policy.Profile
}

// New returns the modifier for profile p (its [selinux] section) on the
// running kernel.
func New(p *policy.Profile) *Modifier { return &Modifier{profile: p} }

// Cleaner returns the modifier as delete's cleaner: Cleanup reads no
// profile, so it releases the MCS pair whatever the policy says now.
func Cleaner() *Modifier { return &Modifier{} }

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "selinux" }

func (m *Modifier) host() Host {
	if m.Host == nil {
		return System{}
	}
	return m.Host
}

// Modify implements modifier.Modifier.
func (m *Modifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	cfg := m.profile.SELinux
	if confine.MACLeftAlone(ctx, m.profile, s, cfg.Mode, "selinux", "SELinux labels") {
		return nil
	}
	h := m.host()
	st := h.Status()
	if !st.Enforcing && cfg.Mode == policy.MACRequired {
		return modifier.Deny("selinux.mode",
			fmt.Sprintf("profile %q requires SELinux to enforce, but %s", ctx.ProfileName, st.Reason),
			fmt.Sprintf("run on a host with SELinux enforcing (SELINUX=enforcing), or set selinux.mode = %q in profile %q", policy.MACIfAvailable, ctx.ProfileName))
	}
	if !st.Enabled {
		return unavailable(ctx, s, st.Reason)
	}
	if !st.Enforcing {
		// Labels still apply in permissive mode, and the denials they
		// cause are logged: worth having before switching to enforcing.
		ctx.Note("selinux: %s; labels are set but not enforced", st.Reason)
	}
	return m.label(ctx, s, r, h)
}

// unavailable runs the container without labels and records why. A label
// on a host without SELinux can only be the caller's (hardened-runc adds
// none here): it is an explicit request runc refuses ("selinux label is
// specified in config, but selinux is disabled or not supported"), so it
// is denied rather than dropped.
func unavailable(ctx *modifier.Context, s *specs.Spec, why string) error {
	var asked []string
	if s.Process != nil && s.Process.SelinuxLabel != "" {
		asked = append(asked, fmt.Sprintf("process label %q", s.Process.SelinuxLabel))
	}
	if s.Linux != nil && s.Linux.MountLabel != "" {
		asked = append(asked, fmt.Sprintf("mount label %q", s.Linux.MountLabel))
	}
	if len(asked) > 0 {
		return modifier.Deny("selinux.mode",
			fmt.Sprintf("the caller asks for SELinux %s, but %s (runc refuses such a spec too; running it unlabelled would drop what was asked for)", strings.Join(asked, " and "), why),
			"drop process.selinuxLabel and linux.mountLabel from the request (engines set them only where SELinux is enabled), or run the container on a host with SELinux")
	}
	ctx.Note("selinux: not available on this host: %s; the container runs without SELinux labels", why)
	return nil
}

// label sets both labels: the profile's type, and the caller's MCS pair
// when it chose one (Podman, CRI-O and Docker relabel volumes with it),
// else a pair reserved for this container.
func (m *Modifier) label(ctx *modifier.Context, s *specs.Spec, r *modifier.Report, h Host) error {
	typ := m.profile.SELinux.Type
	if typ == "" {
		typ = DefaultType
	}
	p := spec.EnsureProcess(s)
	level, reason := callerLevel(p.SelinuxLabel), "keep the MCS categories the engine chose (its volumes are labelled with them)"
	reserve := level == ""
	if reserve {
		// A pair is reserved by the effect, once the launch is certain;
		// until then the labels carry an example pair.
		var err error
		if level, err = randomLevel(categories); err != nil {
			return err
		}
		if ctx.DryRun {
			ctx.Note("selinux: a free MCS category pair is reserved at create; the pair shown is an example")
		}
		reason = "a per-container MCS category pair keeps containers out of each other's files"
	}
	process, mount, err := h.Labels(typ, level)
	if err != nil {
		return err
	}
	set := labelled{processChange: -1, mountChange: -1}
	if p.SelinuxLabel != process {
		set.processChange = r.Len()
		r.Set(processField, p.SelinuxLabel, process, "selinux.type", "run the container as "+typ+"; "+reason, control)
		p.SelinuxLabel = process
	}
	l := spec.EnsureLinux(s)
	if l.MountLabel != mount {
		set.mountChange = r.Len()
		r.Set(mountField, l.MountLabel, mount, "selinux.type", "label the container's files to match its process label", control)
		l.MountLabel = mount
	}
	if reserve {
		ctx.Effect(set.reserve(h, typ))
	}
	return nil
}

// labelled is where label recorded the labels an effect fills in.
type labelled struct {
	processChange, mountChange int
}

// reserve is the effect that reserves the container's MCS pair and puts
// it in both labels in place of the example.
func (w labelled) reserve(h Host, typ string) modifier.Effect {
	return func(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
		level, err := reservations(ctx).Reserve(ctx.ContainerID, self(ctx.Root))
		if err != nil {
			return err
		}
		process, mount, err := h.Labels(typ, level)
		if err != nil {
			return err
		}
		spec.EnsureProcess(s).SelinuxLabel = process
		spec.EnsureLinux(s).MountLabel = mount
		amendAfter(r, w.processChange, process)
		amendAfter(r, w.mountChange, mount)
		return nil
	}
}

func amendAfter(r *modifier.Report, i int, after string) {
	if i < 0 || i >= len(r.Changes) {
		return
	}
	c := r.Changes[i]
	c.After = after
	r.Amend(i, &c)
}

// callerLevel returns the MCS level of label if it has categories.
func callerLevel(label string) string {
	if label == "" {
		return ""
	}
	c, err := goselinux.NewContext(label)
	if err != nil {
		return ""
	}
	if level := c["level"]; strings.Contains(level, ":c") {
		return level
	}
	return ""
}

// ModifyProcess implements modifier.ProcessModifier: an exec'd process
// runs with the container's label. A process.json asking for another label
// is clamped to the container's, not denied, as for AppArmor.
func (m *Modifier) ModifyProcess(ctx *modifier.Context, container *specs.Spec, p *specs.Process, r *modifier.Report) error {
	if m.profile.SELinux.Mode == policy.MACOff || confine.PrivilegedAllowed(m.profile, container) {
		return nil
	}
	want := ""
	if container != nil && container.Process != nil {
		want = container.Process.SelinuxLabel
	}
	if p.SelinuxLabel != want {
		r.Set(processField, p.SelinuxLabel, want, "selinux.mode", "an exec'd process runs with the container's SELinux label", control)
		p.SelinuxLabel = want
	}
	return nil
}

// Cleanup implements modifier.Cleaner: it releases the container's MCS
// pair at delete. It needs no profile and is idempotent.
func (m *Modifier) Cleanup(ctx *modifier.Context) error {
	if ctx.ContainerID == "" {
		return nil
	}
	return reservations(ctx).Release(ctx.ContainerID, func(o Owner) bool {
		if ctx.Verb != "delete" {
			// A failed launch frees only what it reserved itself: a
			// duplicate ID's create must not free the live one's pair.
			return o == self(o.Root)
		}
		// delete frees the pair of a container under its own --root
		// whose create has ended (not one a create is still making).
		return lower.NormalizeRoot(o.Root) == lower.NormalizeRoot(ctx.Root) && !alive(o)
	})
}

// self is this process as the owner of a reservation under root.
func self(root string) Owner {
	p := lower.Self()
	return Owner{Root: root, Pid: p.Pid, Start: p.Start}
}

// alive reports whether the process that reserved o still runs.
func alive(o Owner) bool { return lower.Process{Pid: o.Pid, Start: o.Start}.Running("/proc") }

func reservations(ctx *modifier.Context) Reservations {
	return Reservations{Dir: filepath.Join(ctx.StateDir(), "selinux")}
}

var (
	_ modifier.ProcessModifier = (*Modifier)(nil)
	_ modifier.Cleaner         = (*Modifier)(nil)
)
