package confine

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// devNum is a character device's major and minor; minor -1 is "any".
type devNum struct{ major, minor int64 }

// defaultDevices are the OCI default devices (runtime-spec config-linux.md)
// every engine gives a container: null, zero, full, random, urandom, tty,
// console, ptmx. runc creates them itself; engines allow them in the device
// cgroup (moby oci/defaults.go, containerd WithDefaultUnixDevices).
var defaultDevices = map[string]devNum{
	"/dev/null":    {1, 3},
	"/dev/zero":    {1, 5},
	"/dev/full":    {1, 7},
	"/dev/random":  {1, 8},
	"/dev/urandom": {1, 9},
	"/dev/tty":     {5, 0},
	"/dev/console": {5, 1},
	"/dev/ptmx":    {5, 2},
}

// ptsMajors are the Unix98 pseudo-terminal slave majors (/dev/pts/N).
const ptsMajorFirst, ptsMajorLast = 136, 143

// tunDevice is /dev/net/tun. containerd's WithDefaultUnixDevices (ctr, CRI)
// and runc < 1.2 allow it by default although no engine creates the node;
// its allow rule is dropped (recorded) rather than denied, so every
// Kubernetes pod does not fail, unless the profile lists /dev/net/tun.
var tunDevice = devNum{10, 200}

// DevicesModifier allows only the default character devices: extra device
// nodes and device cgroup rules are denied unless devices.allow lists them.
type DevicesModifier struct{ p *policy.Profile }

// Devices returns the "devices" control of profile p.
func Devices(p *policy.Profile) *DevicesModifier { return &DevicesModifier{p: p} }

// Name implements modifier.Modifier.
func (*DevicesModifier) Name() string { return "devices" }

// Modify implements modifier.Modifier.
func (m *DevicesModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if PrivilegedAllowed(m.p, s) || slices.Contains(m.p.Devices.Allow, "*") {
		return nil
	}
	l := spec.EnsureLinux(s)
	for _, d := range l.Devices {
		if !deviceAllowed(m.p, d) {
			return deny("devices.allow",
				fmt.Sprintf("device %s (%s %d:%d) is not one of the default devices", d.Path, d.Type, d.Major, d.Minor),
				fix(ctx, "add %q to devices.allow", d.Path), ctlDevices)
		}
	}
	res := spec.EnsureResources(s)
	kept := make([]specs.LinuxDeviceCgroup, 0, len(res.Devices))
	for _, rule := range res.Devices {
		ok, drop := ruleAllowed(m.p, l.Devices, rule)
		switch {
		case drop:
			r.Set("linux.resources.devices", rule, nil, "devices.allow",
				fmt.Sprintf("dropped the engine-default allow rule %s: no such device in the container", ruleString(rule)), ctlDevices)
			continue
		case !ok:
			return deny("devices.allow",
				fmt.Sprintf("device cgroup rule %s gives access to host devices", ruleString(rule)),
				fix(ctx, "add the device's path (or \"*\" for every device) to devices.allow"), ctlDevices)
		}
		kept = append(kept, rule)
	}
	if len(kept) == 0 || !isDenyAllRule(kept[0]) {
		kept = slices.Insert(kept, 0, specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"})
		r.Set("linux.resources.devices[0]", nil, kept[0], "devices.allow",
			"device cgroup starts from deny-all", ctlDevices)
	}
	res.Devices = kept
	return nil
}

// deviceAllowed reports whether a linux.devices node may be created: a
// default device with its real numbers (a "/dev/null" that is block 8:0 is
// not /dev/null), a pts node, or a path the profile lists.
func deviceAllowed(p *policy.Profile, d specs.LinuxDevice) bool {
	if n, ok := defaultDevices[d.Path]; ok && d.Type == "c" && d.Major == n.major && d.Minor == n.minor {
		return true
	}
	if strings.HasPrefix(d.Path, "/dev/pts/") && d.Type == "c" && d.Major >= ptsMajorFirst && d.Major <= ptsMajorLast {
		return true
	}
	return matchAny(p.Devices.Allow, d.Path) != ""
}

// ruleAllowed decides one device cgroup rule: ok keeps it, drop removes it
// (recorded), neither denies the launch.
func ruleAllowed(p *policy.Profile, devs []specs.LinuxDevice, rule specs.LinuxDeviceCgroup) (ok, drop bool) {
	if !rule.Allow || rule.Access == "m" {
		// Deny rules only tighten; mknod alone opens nothing (and needs
		// CAP_MKNOD).
		return true, false
	}
	if rule.Type != "c" && rule.Type != "b" || rule.Major == nil {
		return false, false
	}
	if rule.Type == "c" && isDefaultNum(*rule.Major, rule.Minor) {
		return true, false
	}
	for _, d := range devs {
		if d.Type == rule.Type && d.Major == *rule.Major && rule.Minor != nil && d.Minor == *rule.Minor && deviceAllowed(p, d) {
			return true, false
		}
	}
	if rule.Type == "c" && *rule.Major == tunDevice.major && rule.Minor != nil && *rule.Minor == tunDevice.minor {
		if matchAny(p.Devices.Allow, "/dev/net/tun") != "" {
			return true, false
		}
		return false, true
	}
	return false, false
}

func isDefaultNum(major int64, minor *int64) bool {
	if major >= ptsMajorFirst && major <= ptsMajorLast {
		return true
	}
	if minor == nil {
		return false
	}
	for _, n := range defaultDevices {
		if n.major == major && n.minor == *minor {
			return true
		}
	}
	return false
}

func isDenyAllRule(d specs.LinuxDeviceCgroup) bool {
	return !d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil &&
		(d.Access == "" || d.Access == "rwm")
}

// ruleString renders a rule as the cgroup v1 devices.allow line.
func ruleString(d specs.LinuxDeviceCgroup) string {
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return fmt.Sprint(*p)
	}
	t := d.Type
	if t == "" {
		t = "a"
	}
	verb := "allow"
	if !d.Allow {
		verb = "deny"
	}
	access := d.Access
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("`%s %s %s:%s %s`", verb, t, num(d.Major), num(d.Minor), access)
}
