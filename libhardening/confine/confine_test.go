package confine

import (
	"fmt"
	"math/rand"
	"path"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func TestModifierOrderAndNames(t *testing.T) {
	want := []string{"fields", "hooks", "namespaces", "capabilities", "no-new-privileges", "rootfs", "paths", "mounts", "devices", "sysctls", "process", "cgroups"}
	var got []string
	l := Modifiers(loadProfile(t, "default"))
	for _, m := range l {
		got = append(got, m.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for _, name := range []string{"fields", "capabilities", "no-new-privileges", "process"} {
		i := slices.Index(want, name)
		if _, ok := l[i].(modifier.ProcessModifier); !ok {
			t.Errorf("%s does not harden exec processes", name)
		}
	}
}

// TestEngineSpecs runs the whole list on what Docker, containerd (CRI and
// ctr), Podman and runc generate, under every shipped profile that accepts
// them, and checks the result and that a second run changes nothing.
func TestEngineSpecs(t *testing.T) {
	for _, prof := range []string{"default", "baseline"} {
		p := loadProfile(t, prof)
		for _, name := range engineSpecs {
			t.Run(prof+"/"+name, func(t *testing.T) {
				s := loadSpec(t, name)
				r := &modifier.Report{}
				if err := pipeline(p).Modify(newCtx(p), s, r); err != nil {
					t.Fatalf("ordinary %s spec denied: %v", name, err)
				}
				if len(r.Changes) == 0 {
					t.Fatal("no changes recorded")
				}
				for _, c := range r.Changes {
					if c.Rule == "" || c.Reason == "" || c.Modifier == "" || c.Path == "" {
						t.Errorf("incomplete change %+v", c)
					}
				}
				assertConfined(t, p, s)
				r2 := &modifier.Report{}
				if err := pipeline(p).Modify(newCtx(p), s, r2); err != nil {
					t.Fatal(err)
				}
				for _, c := range r2.Changes {
					t.Errorf("second run changed: %s", c)
				}
			})
		}
	}
}

// TestRestrictedDeniesRoot: every engine default runs as root, which the
// restricted profile refuses; as a non-root user the same specs pass.
func TestRestrictedDeniesRoot(t *testing.T) {
	p := loadProfile(t, "restricted")
	for _, name := range engineSpecs {
		s := loadSpec(t, name)
		err := pipeline(p).Modify(newCtx(p), s, &modifier.Report{})
		mustDeny(t, err, "process.require_non_root")
		s = loadSpec(t, name)
		s.Process.User.UID = 1000
		if err := pipeline(p).Modify(newCtx(p), s, &modifier.Report{}); err != nil {
			t.Errorf("%s as uid 1000: %v", name, err)
		}
		assertConfined(t, p, s)
		if got := s.Process.Capabilities.Bounding; len(got) > 1 {
			t.Errorf("%s: restricted keeps %v", name, got)
		}
	}
}

// assertConfined checks the invariants every hardened spec must satisfy.
func assertConfined(t *testing.T, p *policy.Profile, s *specs.Spec) {
	t.Helper()
	allow := allowSet(p.Capabilities.Allow)
	c := s.Process.Capabilities
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, cp := range set {
			if !slices.Contains(allow, cp) {
				t.Errorf("capability %s kept", cp)
			}
		}
	}
	for _, cp := range c.Inheritable {
		if !slices.Contains(c.Ambient, cp) {
			t.Errorf("inheritable %s without ambient (CVE-2022-24769)", cp)
		}
	}
	if !s.Process.NoNewPrivileges {
		t.Error("noNewPrivileges off")
	}
	if p.Rootfs.Readonly == policy.ControlEnforce {
		if !s.Root.Readonly {
			t.Error("root is writable")
		}
		for _, d := range p.Rootfs.Tmpfs {
			if !hasMountAt(s.Mounts, d) {
				t.Errorf("no mount at %s", d)
			}
		}
	}
	for _, m := range p.Paths.Masked {
		if !slices.Contains(s.Linux.MaskedPaths, m) {
			t.Errorf("%s not masked", m)
		}
	}
	for _, m := range p.Paths.Readonly {
		if !slices.Contains(s.Linux.ReadonlyPaths, m) {
			t.Errorf("%s not read-only", m)
		}
	}
	for _, ns := range p.Namespaces.Required {
		if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return string(n.Type) == ns }) {
			t.Errorf("no %s namespace", ns)
		}
	}
	for _, m := range s.Mounts {
		if isBind(&m) && (!hasOption(m.Options, "nosuid") || !hasOption(m.Options, "nodev")) {
			t.Errorf("bind %s lacks nosuid,nodev: %v", m.Destination, m.Options)
		}
		if (m.Type == "sysfs" || m.Type == "cgroup") && !isReadonly(&m) {
			t.Errorf("%s is writable", m.Destination)
		}
	}
	res := s.Linux.Resources
	if res.Pids == nil || res.Pids.Limit == nil || *res.Pids.Limit <= 0 || *res.Pids.Limit > p.Cgroups.PidsMax {
		t.Errorf("pids limit %+v", res.Pids)
	}
	if res.Memory == nil || res.Memory.Limit == nil || res.Memory.Swap == nil || *res.Memory.Swap != *res.Memory.Limit {
		t.Errorf("memory %+v", res.Memory)
	}
	if len(res.Devices) == 0 || !isDenyAllRule(res.Devices[0]) {
		t.Errorf("device rules do not start from deny-all: %+v", res.Devices)
	}
	for _, typ := range []string{"RLIMIT_NOFILE", "RLIMIT_NPROC"} {
		if !slices.ContainsFunc(s.Process.Rlimits, func(l specs.POSIXRlimit) bool { return l.Type == typ }) {
			t.Errorf("no %s", typ)
		}
	}
	if s.Process.OOMScoreAdj == nil || *s.Process.OOMScoreAdj < p.Process.MinOOMScoreAdj {
		t.Errorf("oomScoreAdj %v", s.Process.OOMScoreAdj)
	}
}

// TestNeverWeakens mutates engine specs at random (seeded) and checks that
// every setting the controls manage is at least as strict after the
// pipeline as before, whenever the launch is not denied.
func TestNeverWeakens(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	profiles := []*policy.Profile{loadProfile(t, "default"), loadProfile(t, "baseline"), loadProfile(t, "restricted")}
	passed := 0
	for i := range 600 {
		s := loadSpec(t, engineSpecs[rng.Intn(len(engineSpecs))])
		mutate(rng, s)
		before := clone(t, s)
		p := profiles[rng.Intn(len(profiles))]
		if err := pipeline(p).Modify(newCtx(p), s, &modifier.Report{}); err != nil {
			if _, ok := modifier.AsDenial(err); !ok {
				t.Fatalf("case %d: non-denial error %v", i, err)
			}
			continue
		}
		passed++
		if msg := weakened(before, s); msg != "" {
			t.Fatalf("case %d (%s): weakened: %s", i, p.Name, msg)
		}
	}
	if passed < 100 {
		t.Fatalf("only %d of 600 random specs passed: the property is barely exercised", passed)
	}
}

func mutate(rng *rand.Rand, s *specs.Spec) {
	coin := func() bool { return rng.Intn(3) == 0 }
	if coin() {
		s.Process.Capabilities = nil
	} else if coin() {
		s.Process.Capabilities.Ambient = []string{"CAP_SYS_ADMIN", "CAP_CHOWN"}
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NET_ADMIN")
	}
	if coin() {
		s.Process.NoNewPrivileges = !s.Process.NoNewPrivileges
	}
	if coin() {
		s.Root.Readonly = !s.Root.Readonly
	}
	if coin() {
		s.Linux.MaskedPaths = s.Linux.MaskedPaths[:rng.Intn(len(s.Linux.MaskedPaths)+1)]
	}
	if coin() {
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64([]int64{-1, 0, 10, 100000}[rng.Intn(4)])}
	}
	if coin() {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64([]int64{-1, 0, 1 << 20, 1 << 40}[rng.Intn(4)])}
	}
	if coin() {
		adj := []int{-1000, -500, 0, 500}[rng.Intn(4)]
		s.Process.OOMScoreAdj = &adj
	}
	if coin() {
		s.Process.Rlimits = nil
	}
	if coin() {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "suid"}})
	}
	if coin() {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/host-etc", Type: "bind", Source: "/etc", Options: []string{"rbind", []string{"ro", "rw"}[rng.Intn(2)]}})
	}
	if coin() {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == []specs.LinuxNamespaceType{"cgroup", "network", "mount"}[rng.Intn(3)]
		})
	}
	if coin() {
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"})
	}
	if coin() {
		s.Process.Cwd = []string{"/", "/app", "/proc/self/fd/7"}[rng.Intn(3)]
	}
}

// weakened returns what got less strict from a to b, or "".
func weakened(a, b *specs.Spec) string {
	if a.Process.Capabilities != nil {
		ac, bc := a.Process.Capabilities, b.Process.Capabilities
		pairs := [][2][]string{{ac.Bounding, bc.Bounding}, {ac.Effective, bc.Effective}, {ac.Permitted, bc.Permitted}, {ac.Inheritable, bc.Inheritable}, {ac.Ambient, bc.Ambient}}
		for _, pr := range pairs {
			for _, c := range pr[1] {
				if !slices.Contains(pr[0], c) {
					return "capability " + c + " added"
				}
			}
		}
	}
	if a.Process.NoNewPrivileges && !b.Process.NoNewPrivileges {
		return "noNewPrivileges turned off"
	}
	if a.Root.Readonly && !b.Root.Readonly {
		return "root made writable"
	}
	for _, m := range a.Linux.MaskedPaths {
		if !slices.Contains(b.Linux.MaskedPaths, m) {
			return "unmasked " + m
		}
	}
	for _, m := range a.Linux.ReadonlyPaths {
		if !slices.Contains(b.Linux.ReadonlyPaths, m) {
			return "read-only path removed " + m
		}
	}
	for _, n := range a.Linux.Namespaces {
		if !slices.Contains(b.Linux.Namespaces, n) {
			return fmt.Sprintf("namespace %+v removed", n)
		}
	}
	if msg := weakerLimit("pids", pidsOf(a), pidsOf(b)); msg != "" {
		return msg
	}
	if msg := weakerLimit("memory", memOf(a), memOf(b)); msg != "" {
		return msg
	}
	if a.Process.OOMScoreAdj != nil && (b.Process.OOMScoreAdj == nil || *b.Process.OOMScoreAdj < *a.Process.OOMScoreAdj) {
		return "oomScoreAdj lowered"
	}
	for _, l := range a.Process.Rlimits {
		if !slices.Contains(b.Process.Rlimits, l) {
			return "rlimit changed " + l.Type
		}
	}
	for _, m := range a.Mounts {
		i := slices.IndexFunc(b.Mounts, func(n specs.Mount) bool { return n.Destination == m.Destination && n.Source == m.Source })
		if i < 0 {
			return "mount removed " + m.Destination
		}
		n := b.Mounts[i]
		if isReadonly(&m) && !isReadonly(&n) {
			return "mount made writable " + m.Destination
		}
		for _, o := range []string{"nosuid", "nodev", "noexec"} {
			if hasOption(m.Options, o) && !hasOption(n.Options, o) {
				return "mount lost " + o + " " + path.Clean(m.Destination)
			}
		}
	}
	for _, d := range b.Linux.Resources.Devices {
		if d.Allow && !slices.ContainsFunc(a.Linux.Resources.Devices, func(e specs.LinuxDeviceCgroup) bool { return ruleString(e) == ruleString(d) }) {
			return "device rule added " + ruleString(d)
		}
	}
	return ""
}

func pidsOf(s *specs.Spec) int64 {
	if r := s.Linux.Resources; r != nil && r.Pids != nil && r.Pids.Limit != nil {
		return *r.Pids.Limit
	}
	return 0
}

func memOf(s *specs.Spec) int64 {
	if r := s.Linux.Resources; r != nil && r.Memory != nil && r.Memory.Limit != nil {
		return *r.Memory.Limit
	}
	return 0
}

// weakerLimit: a limit <= 0 is unlimited.
func weakerLimit(name string, a, b int64) string {
	switch {
	case b <= 0 && a > 0:
		return name + " limit removed"
	case a > 0 && b > a:
		return fmt.Sprintf("%s limit raised %d → %d", name, a, b)
	}
	return ""
}
