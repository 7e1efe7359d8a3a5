package confine

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func TestCapabilities(t *testing.T) {
	p := loadProfile(t, "default")
	t.Run("dropped silently", func(t *testing.T) {
		s := loadSpec(t, "docker-20.10.json")
		s.Process.Capabilities.Ambient = []string{"CAP_SYS_ADMIN"}
		r, err := runOne(t, Capabilities(p), p, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Process.Capabilities.Ambient) != 0 || len(s.Process.Capabilities.Inheritable) != 0 || slices.Contains(s.Process.Capabilities.Bounding, "CAP_NET_RAW") {
			t.Fatalf("caps %+v", s.Process.Capabilities)
		}
		if len(r.Changes) != 5 || r.Changes[0].Rule != "capabilities.allow" {
			t.Fatalf("changes %v", r.Changes)
		}
	})
	t.Run("absent means all", func(t *testing.T) {
		s := loadSpec(t, "runc-1.5-spec.json")
		s.Process.Capabilities = nil
		if _, err := runOne(t, Capabilities(p), p, s); err != nil {
			t.Fatal(err)
		}
		if got := s.Process.Capabilities.Bounding; !slices.Equal(got, allowSet(p.Capabilities.Allow)) {
			t.Fatalf("bounding %v", got)
		}
	})
	t.Run("privileged denied", func(t *testing.T) {
		_, err := runOne(t, Capabilities(p), p, loadSpec(t, "docker-20.10-privileged.json"))
		d := mustDeny(t, err, "capabilities.allow_privileged")
		if !strings.Contains(d.Fix, "capabilities.allow_privileged = true") || d.Control == "" {
			t.Fatalf("denial %+v", d)
		}
	})
	t.Run("all caps with seccomp is not privileged: an explicit request, denied", func(t *testing.T) {
		s := loadSpec(t, "docker-20.10-privileged.json")
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
		before := clone(t, s)
		_, err := runOne(t, Capabilities(p), p, s)
		d := mustDeny(t, err, "capabilities.allow")
		if !strings.Contains(d.Reason, "CAP_SYS_ADMIN") || !strings.Contains(d.Fix, `capabilities.on_request = "drop"`) {
			t.Fatalf("denial %+v", d)
		}
		if !slices.Equal(before.Process.Capabilities.Bounding, s.Process.Capabilities.Bounding) {
			t.Fatal("spec changed by a denied launch")
		}
	})
	t.Run("explicit request dropped under on_request drop", func(t *testing.T) {
		pd := loadProfile(t, "default")
		pd.Capabilities.OnRequest = policy.RequestDrop
		s := loadSpec(t, "docker-20.10.json")
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NET_ADMIN")
		ctx := newCtx(pd)
		if err := Capabilities(pd).Modify(ctx, s, &modifier.Report{}); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(s.Process.Capabilities.Bounding, "CAP_NET_ADMIN") || !slices.ContainsFunc(ctx.Notes, func(n string) bool {
			return strings.Contains(n, "CAP_NET_ADMIN") && strings.Contains(n, "on_request")
		}) {
			t.Fatalf("bounding %v, notes %v", s.Process.Capabilities.Bounding, ctx.Notes)
		}
	})
	t.Run("engine default set is not an explicit request", func(t *testing.T) {
		s := loadSpec(t, "docker-20.10.json") // Docker's 14, NET_RAW and SYS_CHROOT among them
		if _, err := runOne(t, Capabilities(p), p, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("reduce audit keeps and notes", func(t *testing.T) {
		pa := loadProfile(t, "default")
		pa.Capabilities.Reduce = policy.ControlAudit
		s := loadSpec(t, "docker-20.10.json")
		before := clone(t, s)
		ctx := newCtx(pa)
		r := &modifier.Report{}
		if err := Capabilities(pa).Modify(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		if len(r.Changes) != 0 || !slices.Equal(before.Process.Capabilities.Bounding, s.Process.Capabilities.Bounding) ||
			!slices.ContainsFunc(ctx.Notes, func(n string) bool {
				return strings.Contains(n, "audit capabilities.reduce") && strings.Contains(n, "CAP_NET_RAW")
			}) {
			t.Fatalf("changes %v, notes %v", r.Changes, ctx.Notes)
		}
	})
	t.Run("privileged allowed passes unchanged and idempotent", func(t *testing.T) {
		pp := loadProfile(t, "default")
		pp.Capabilities.AllowPrivileged = true
		s := loadSpec(t, "docker-20.10-privileged.json")
		before := clone(t, s)
		r := &modifier.Report{}
		if err := pipeline(pp).Modify(newCtx(pp), s, r); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before.Process.Capabilities.Bounding, s.Process.Capabilities.Bounding) || len(s.Linux.MaskedPaths) != 0 {
			t.Fatal("privileged container weakened")
		}
		r2 := &modifier.Report{}
		if err := pipeline(pp).Modify(newCtx(pp), s, r2); err != nil || len(r2.Changes) != 0 {
			t.Fatalf("second run: %v %v", err, r2.Changes)
		}
	})
}

func TestExecProcess(t *testing.T) {
	p := loadProfile(t, "default")
	container := loadSpec(t, "docker-20.10.json")
	if err := pipeline(p).Modify(newCtx(p), container, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	all := loadSpec(t, "docker-20.10-privileged.json").Process.Capabilities.Bounding
	// What `docker exec --privileged` writes to process.json.
	proc := &specs.Process{
		Args: []string{"sh"}, Cwd: "/",
		Capabilities: &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all, Inheritable: all},
	}
	r := &modifier.Report{}
	if err := pipeline(p).ModifyProcess(newCtx(p), container, proc, r); err != nil {
		t.Fatal(err)
	}
	if !sameSet(proc.Capabilities.Bounding, container.Process.Capabilities.Bounding) {
		t.Fatalf("exec bounding %v, container %v", proc.Capabilities.Bounding, container.Process.Capabilities.Bounding)
	}
	if !proc.NoNewPrivileges {
		t.Fatal("exec without noNewPrivileges")
	}
	if len(proc.Rlimits) != 2 {
		t.Fatalf("exec rlimits %+v, want the container's", proc.Rlimits)
	}
	proc.Cwd = "/proc/self/fd/7"
	mustDeny(t, pipeline(p).ModifyProcess(newCtx(p), container, proc, &modifier.Report{}), "process.cwd")
	rp := loadProfile(t, "restricted")
	proc.Cwd = "/"
	mustDeny(t, pipeline(rp).ModifyProcess(newCtx(rp), container, proc, &modifier.Report{}), "process.require_non_root")
}

func TestCheckExecFlags(t *testing.T) {
	p := loadProfile(t, "default")
	container := loadSpec(t, "docker-20.10.json")
	if err := pipeline(p).Modify(newCtx(p), container, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    ExecFlags
		rule string
	}{
		{"nothing", ExecFlags{}, ""},
		{"cap the container has", ExecFlags{Caps: []string{"CAP_CHOWN", "kill"}}, ""},
		{"cap beyond", ExecFlags{Caps: []string{"CAP_SYS_ADMIN"}}, "capabilities.allow"},
		{"no-new-privs=false", ExecFlags{NoNewPrivsFalse: true}, "privileges.no_new_privileges"},
		{"cwd", ExecFlags{Cwd: "/proc/self/fd/5"}, "process.cwd"},
		{"cwd dotdot", ExecFlags{Cwd: "/tmp/../proc/1/cwd"}, "process.cwd"},
		{"user root allowed", ExecFlags{User: "0:0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckExecFlags(newCtx(p), p, container, tc.f)
			if tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustDeny(t, err, tc.rule)
		})
	}
	rp := loadProfile(t, "restricted")
	mustDeny(t, CheckExecFlags(newCtx(rp), rp, container, ExecFlags{User: "0"}), "process.require_non_root")
}

func TestRootfsModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		readonly policy.ControlMode
		noexec   policy.ControlMode
		callerRO bool
		wantRO   bool
		wantNote string
		wantExec bool
	}{
		{name: "audit leaves the root writable, no tmpfs", readonly: policy.ControlAudit, noexec: policy.ControlEnforce, wantNote: "audit rootfs.readonly"},
		{name: "audit gives a root the caller made read-only its tmpfs", readonly: policy.ControlAudit, noexec: policy.ControlEnforce, callerRO: true, wantRO: true},
		{name: "off leaves the root alone", readonly: policy.ControlOff, noexec: policy.ControlEnforce},
		{name: "enforce with noexec", readonly: policy.ControlEnforce, noexec: policy.ControlEnforce, wantRO: true},
		{name: "enforce, noexec audited", readonly: policy.ControlEnforce, noexec: policy.ControlAudit, wantRO: true, wantExec: true, wantNote: "audit rootfs.tmpfs_noexec"},
		{name: "enforce, noexec off", readonly: policy.ControlEnforce, noexec: policy.ControlOff, wantRO: true, wantExec: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProfile(t, "default")
			p.Rootfs.Readonly, p.Rootfs.TmpfsNoexec = tc.readonly, tc.noexec
			s := loadSpec(t, "docker-20.10.json")
			s.Root.Readonly = tc.callerRO
			ctx := newCtx(p)
			if err := Rootfs(p).Modify(ctx, s, &modifier.Report{}); err != nil {
				t.Fatal(err)
			}
			if s.Root.Readonly != tc.wantRO {
				t.Errorf("root.readonly %v, want %v", s.Root.Readonly, tc.wantRO)
			}
			i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/var/tmp" })
			if (i >= 0) != tc.wantRO {
				t.Fatalf("/var/tmp tmpfs at %d, want one only when read-only", i)
			}
			if i >= 0 && hasOption(s.Mounts[i].Options, "noexec") == tc.wantExec {
				t.Errorf("tmpfs options %v, executable %v wanted", s.Mounts[i].Options, tc.wantExec)
			}
			hasNote := slices.ContainsFunc(ctx.Notes, func(n string) bool { return tc.wantNote != "" && strings.HasPrefix(n, tc.wantNote) })
			if hasNote != (tc.wantNote != "") {
				t.Errorf("notes %v, want %q", ctx.Notes, tc.wantNote)
			}
		})
	}
}

func TestRootfs(t *testing.T) {
	p := loadProfile(t, "default")
	p.Rootfs.Readonly = policy.ControlEnforce
	s := loadSpec(t, "podman-4.json")
	if _, err := runOne(t, Rootfs(p), p, s); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/run" })
	j := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/run/.containerenv" })
	if i < 0 || j < i {
		t.Fatalf("/run tmpfs at %d must come before /run/.containerenv at %d", i, j)
	}
	for _, o := range []string{"nosuid", "nodev", "noexec", "size=64m"} {
		if !hasOption(s.Mounts[i].Options, o) {
			t.Errorf("tmpfs lacks %s: %v", o, s.Mounts[i].Options)
		}
	}
	// containerd's own /run tmpfs is kept, not duplicated.
	s = loadSpec(t, "containerd-ctr.json")
	if _, err := runOne(t, Rootfs(p), p, s); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == "/run" {
			n++
			if hasOption(m.Options, "size=64m") {
				t.Error("engine /run replaced")
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d mounts at /run", n)
	}
}

func TestPaths(t *testing.T) {
	p := loadProfile(t, "default")
	sys := t.TempDir()
	for _, d := range []string{"cpu0/thermal_throttle", "cpu1/thermal_throttle", "cpu2"} {
		if err := os.MkdirAll(filepath.Join(sys, "sys/devices/system/cpu", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := loadSpec(t, "docker-20.10-privileged.json")
	if _, err := runOne(t, &PathsModifier{sysRoot: sys, p: p}, p, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/proc/kcore", "/sys/devices/virtual/powercap", "/sys/devices/system/cpu/cpu0/thermal_throttle", "/sys/devices/system/cpu/cpu1/thermal_throttle"} {
		if !slices.Contains(s.Linux.MaskedPaths, want) {
			t.Errorf("%s not masked: %v", want, s.Linux.MaskedPaths)
		}
	}
	if slices.Contains(s.Linux.MaskedPaths, "/sys/devices/system/cpu/cpu2/thermal_throttle") {
		t.Error("masked a path the host does not have")
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && (!isReadonly(&m) || hasOption(m.Options, "rw")) {
			t.Errorf("%s options %v", m.Destination, m.Options)
		}
	}
}

func TestNamespaces(t *testing.T) {
	without := func(typ specs.LinuxNamespaceType) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == typ })
		}
	}
	with := func(typ specs.LinuxNamespaceType, path string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			without(typ)(s)
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
		}
	}
	for _, tc := range []struct {
		name      string
		mod       func(*specs.Spec)
		allowHost []string
		rule      string
		added     specs.LinuxNamespaceType
	}{
		{"--network=host", without("network"), nil, "namespaces.allow_host", ""},
		{"--pid=host", without("pid"), nil, "namespaces.allow_host", ""},
		{"--ipc=host", without("ipc"), nil, "namespaces.allow_host", ""},
		{"--uts=host", without("uts"), nil, "namespaces.allow_host", ""},
		{"--network=host allowed", without("network"), []string{"network"}, "", ""},
		{"/proc/1/ns/net", with("network", "/proc/1/ns/net"), nil, "namespaces.allow_host", ""},
		{"/proc/self/ns/pid", with("pid", "/proc/self/ns/pid"), nil, "namespaces.allow_host", ""},
		{"same inode as host", with("network", "/host-netns"), nil, "namespaces.allow_host", ""},
		{"another container", with("network", "/proc/4242/ns/net"), nil, "", ""},
		{"CNI netns file", with("network", "/var/run/netns/cni-1"), nil, "", ""},
		{"path that cannot be compared", with("network", "/gone"), nil, "namespaces.allow_host", ""},
		{"no cgroup ns: added", nil, nil, "", "cgroup"},
		{"no mount ns: added", without("mount"), nil, "", "mount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp := loadProfile(t, "default")
			pp.Namespaces.AllowHost = tc.allowHost
			s := loadSpec(t, "docker-20.10.json")
			if tc.mod != nil {
				tc.mod(s)
			}
			r, err := runOne(t, fakeNS(pp), pp, s)
			if tc.rule != "" {
				d := mustDeny(t, err, tc.rule)
				if !strings.Contains(d.Fix, "namespaces.allow_host") || d.Control == "" {
					t.Fatalf("denial %+v", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.added != "" && !slices.ContainsFunc(r.Changes, func(c modifier.Change) bool { return strings.Contains(c.Reason, string(tc.added)) }) {
				t.Fatalf("%s not added: %v", tc.added, r.Changes)
			}
		})
	}
	// The real inode comparison: a path by pid to the namespace this test
	// (and so the runtime) runs in is the host's, whether or not /proc/1/ns
	// can be read; a directory is not a namespace and cannot be decided.
	real := Namespaces(loadProfile(t, "default"))
	if host, err := real.isHost("network", "/proc/"+strconv.Itoa(os.Getpid())+"/ns/net"); !host || err != nil {
		t.Fatalf("own netns by pid: host=%v err=%v, want the host's", host, err)
	}
	if host, err := real.isHost("network", t.TempDir()); host || err == nil || !strings.Contains(err.Error(), "not a namespace file") {
		t.Fatalf("a directory as netns: host=%v err=%v, want undecided", host, err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
