package confine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

func bind(src, dst string, opts ...string) specs.Mount {
	return specs.Mount{Source: src, Destination: dst, Type: "bind", Options: append([]string{"rbind"}, opts...)}
}

func TestMounts(t *testing.T) {
	sockDir := t.TempDir()
	sock := filepath.Join(sockDir, "engine.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "etc-link")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		m     specs.Mount
		prop  string
		rule  string
		named string
	}{
		{"docker.sock", bind("/var/run/docker.sock", "/var/run/docker.sock"), "", "mounts.deny_sources", "/var/run/docker.sock → /var/run/docker.sock"},
		{"docker.sock read-only", bind("/var/run/docker.sock", "/d.sock", "ro"), "", "mounts.deny_sources", "/d.sock"},
		{"socket anywhere by name", bind("/srv/x/containerd.sock", "/c.sock"), "", "mounts.deny_sources", "/srv/x/containerd.sock"},
		{"crio.sock", bind("/run/crio/crio.sock", "/crio.sock", "ro"), "", "mounts.deny_sources", "crio.sock"},
		{"podman.sock", bind("/run/user/1000/podman/podman.sock", "/p.sock"), "", "mounts.deny_sources", "podman.sock"},
		{"containerd dir", bind("/run/containerd", "/ctd", "ro"), "", "mounts.deny_sources", "/run/containerd"},
		{"dir holding a socket", bind(sockDir, "/s", "ro"), "", "mounts.engine_sockets", sock},
		{"host /proc", bind("/proc", "/hostproc", "ro"), "", "mounts.deny_sources", "/proc"},
		{"/ holds an engine socket, even read-only", bind("/", "/host", "ro"), "", "mounts.engine_sockets", "/ → /host"},
		{"writable /etc", bind("/etc", "/host-etc", "rw"), "", "mounts.deny_writable_sources", "/etc"},
		{"writable /lib64", bind("/lib64", "/l"), "", "mounts.deny_writable_sources", "/lib64"},
		{"writable /usr/bin", bind("/usr/bin", "/b"), "", "mounts.deny_writable_sources", "/usr/bin"},
		// Where dockerd runs, /run also holds its socket: either denial is right.
		{"writable /var/run", bind("/var/run", "/vr"), "", "mounts.deny_writable_sources|mounts.engine_sockets", "/var/run"},
		{"writable /etc via symlink", bind(link, "/e"), "", "mounts.deny_writable_sources", link},
		{"read-only /etc", bind("/etc", "/host-etc", "ro"), "", "", ""},
		{"read-only /usr", bind("/usr", "/u", "ro"), "", "", ""},
		{"volume", bind("/var/lib/docker/volumes/v/_data", "/data"), "", "", ""},
		{"CRI shm under /run/containerd", bind("/run/containerd/io.containerd.grpc.v1.cri/sandboxes/x/shm", "/dev/shm"), "", "", ""},
		{"rshared", bind("/srv", "/srv", "rshared"), "", "mounts.allow_shared_propagation", "/srv → /srv"},
		{"rootfsPropagation shared", bind("/srv", "/srv"), "shared", "mounts.allow_shared_propagation", "rootfsPropagation"},
		{"rslave ok", bind("/srv", "/srv", "rslave"), "rslave", "", ""},
		{"extra proc", specs.Mount{Type: "proc", Source: "proc", Destination: "/host/proc"}, "", "mounts.allow_kernel_fs", "proc → /host/proc"},
		{"extra sysfs", specs.Mount{Type: "sysfs", Source: "sysfs", Destination: "/s2"}, "", "mounts.allow_kernel_fs", "/s2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp := loadProfile(t, "default")
			pp.Mounts.EngineSockets = append(pp.Mounts.EngineSockets, sock)
			s := loadSpec(t, "docker-20.10.json")
			s.Mounts = append(s.Mounts, tc.m)
			s.Linux.RootfsPropagation = tc.prop
			_, err := runOne(t, lenientMounts(pp), pp, s)
			if tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				m := s.Mounts[len(s.Mounts)-1]
				if !hasOption(m.Options, "nosuid") || !hasOption(m.Options, "nodev") {
					t.Fatalf("bind options %v", m.Options)
				}
				return
			}
			rule := tc.rule
			if d, ok := modifier.AsDenial(err); ok && strings.Contains(rule, "|") && strings.Contains(rule, d.Rule) {
				rule = d.Rule
			}
			d := mustDeny(t, err, rule)
			if !strings.Contains(d.Reason, tc.named) {
				t.Fatalf("reason %q does not name %q", d.Reason, tc.named)
			}
		})
	}
	t.Run("allow_sources", func(t *testing.T) {
		pp := loadProfile(t, "default")
		pp.Mounts.AllowSources = []string{"/var/run/docker.sock"}
		s := loadSpec(t, "docker-20.10.json")
		s.Mounts = append(s.Mounts, bind("/var/run/docker.sock", "/var/run/docker.sock"))
		if _, err := runOne(t, lenientMounts(pp), pp, s); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDevices(t *testing.T) {
	dev := func(path, typ string, major, minor int64) specs.LinuxDevice {
		return specs.LinuxDevice{Path: path, Type: typ, Major: major, Minor: minor}
	}
	rule := func(typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: major, Minor: minor, Access: access}
	}
	for _, tc := range []struct {
		name  string
		devs  []specs.LinuxDevice
		rules []specs.LinuxDeviceCgroup
		allow []string
		deny  string
	}{
		{"engine defaults", nil, nil, nil, ""},
		{"default nodes", []specs.LinuxDevice{dev("/dev/null", "c", 1, 3), dev("/dev/pts/0", "c", 136, 0)}, nil, nil, ""},
		{"fake /dev/null", []specs.LinuxDevice{dev("/dev/null", "b", 8, 0)}, nil, nil, "/dev/null"},
		{"--device /dev/sda", []specs.LinuxDevice{dev("/dev/sda", "b", 8, 0)}, []specs.LinuxDeviceCgroup{rule("b", i64(8), i64(0), "rwm")}, nil, "/dev/sda"},
		{"--device allowed", []specs.LinuxDevice{dev("/dev/fuse", "c", 10, 229)}, []specs.LinuxDeviceCgroup{rule("c", i64(10), i64(229), "rwm")}, []string{"/dev/fuse"}, ""},
		{"allow a rwm", nil, []specs.LinuxDeviceCgroup{rule("", nil, nil, "rwm")}, nil, "allow a *:* rwm"},
		{"allow a rwm with *", nil, []specs.LinuxDeviceCgroup{rule("a", nil, nil, "rwm")}, []string{"*"}, ""},
		{"broad char rule", nil, []specs.LinuxDeviceCgroup{rule("c", i64(1), nil, "rw")}, nil, "allow c 1:* rw"},
		{"block rule", nil, []specs.LinuxDeviceCgroup{rule("b", i64(8), i64(1), "r")}, nil, "allow b 8:1 r"},
		{"mknod only", nil, []specs.LinuxDeviceCgroup{rule("c", nil, nil, "m"), rule("b", nil, nil, "m")}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProfile(t, "default")
			p.Devices.Allow = tc.allow
			s := loadSpec(t, "docker-20.10.json")
			s.Linux.Devices = tc.devs
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, tc.rules...)
			_, err := runOne(t, Devices(p), p, s)
			if tc.deny == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			d := mustDeny(t, err, "devices.allow")
			if !strings.Contains(d.Reason, tc.deny) {
				t.Fatalf("reason %q does not name %q", d.Reason, tc.deny)
			}
		})
	}
	t.Run("tun rule dropped, deny-all added", func(t *testing.T) {
		p := loadProfile(t, "default")
		s := loadSpec(t, "containerd-ctr.json")
		s.Linux.Resources.Devices = s.Linux.Resources.Devices[1:]
		r, err := runOne(t, Devices(p), p, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Changes) != 2 || !isDenyAllRule(s.Linux.Resources.Devices[0]) {
			t.Fatalf("changes %v rules %+v", r.Changes, s.Linux.Resources.Devices)
		}
		for _, d := range s.Linux.Resources.Devices {
			if d.Major != nil && *d.Major == 10 {
				t.Fatal("tun rule kept")
			}
		}
	})
}

func TestSysctls(t *testing.T) {
	for _, tc := range []struct {
		sysctl map[string]string
		allow  []string
		deny   bool
	}{
		{map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}, nil, false},
		{map[string]string{"net.ipv4.tcp_rmem": "4096 87380 6291456", "kernel.shm_rmid_forced": "1"}, nil, false},
		{map[string]string{"kernel.msgmax": "65536"}, nil, true},
		{map[string]string{"net.ipv4.ip_forward": "1"}, nil, true},
		{map[string]string{"net/ipv4/ip_forward": "1"}, []string{"net.ipv4.ip_forward"}, false},
		{map[string]string{"net.ipv4.conf.all.rp_filter": "1"}, []string{"net.ipv4.conf.*"}, false},
		{map[string]string{"kernel.core_pattern": "|/x"}, []string{"net.*"}, true},
	} {
		p := loadProfile(t, "default")
		p.Sysctls.Allow = tc.allow
		s := loadSpec(t, "docker-20.10.json")
		s.Linux.Sysctl = tc.sysctl
		_, err := runOne(t, Sysctls(p), p, s)
		if tc.deny {
			mustDeny(t, err, "sysctls.allow")
		} else if err != nil {
			t.Errorf("%v: %v", tc.sysctl, err)
		}
	}
}

func TestProcess(t *testing.T) {
	p := loadProfile(t, "default")
	t.Run("cwd under /proc", func(t *testing.T) {
		for _, cwd := range []string{"/proc/self/fd/7", "/proc", "/app/../proc/1/cwd", "/dev/fd/3", "/dev/fd", "dev/stdin/..", "/dev/core"} {
			s := loadSpec(t, "docker-20.10.json")
			s.Process.Cwd = cwd
			_, err := runOne(t, Process(p), p, s)
			mustDeny(t, err, "process.cwd")
		}
	})
	t.Run("cwd symlink into /proc in the rootfs", func(t *testing.T) {
		root := t.TempDir()
		if err := os.Symlink("/proc/self/fd/8", filepath.Join(root, "work")); err != nil {
			t.Fatal(err)
		}
		s := loadSpec(t, "docker-20.10.json")
		s.Root.Path = root
		s.Process.Cwd = "/work"
		_, err := runOne(t, Process(p), p, s)
		mustDeny(t, err, "process.cwd")
		if err := os.Symlink("/dev/fd/5", filepath.Join(root, "fd")); err != nil {
			t.Fatal(err)
		}
		s.Process.Cwd = "/fd/../.."
		_, err = runOne(t, Process(p), p, s)
		mustDeny(t, err, "process.cwd")
		for _, ok := range []string{"/app", "/dev", "/devices/fd"} {
			s.Process.Cwd = ok
			if _, err := runOne(t, Process(p), p, s); err != nil {
				t.Fatalf("cwd %s: %v", ok, err)
			}
		}
	})
	t.Run("rlimits capped at the runtime's hard limit", func(t *testing.T) {
		s := loadSpec(t, "docker-20.10.json")
		m := &ProcessModifier{p: p, hardLimit: func(typ string) (uint64, bool) { return 20000, typ == "RLIMIT_NOFILE" }}
		if _, err := runOne(t, m, p, s); err != nil {
			t.Fatal(err)
		}
		if got := s.Process.Rlimits; len(got) != 2 || got[0].Hard != 20000 || got[0].Soft != 20000 || got[1].Hard != p.Process.Nproc {
			t.Fatalf("rlimits %+v", got)
		}
	})
	t.Run("rlimits set when absent, kept when present", func(t *testing.T) {
		s := loadSpec(t, "containerd-ctr.json")
		if _, err := runOne(t, &ProcessModifier{hardLimit: noHardLimit, p: p}, p, s); err != nil {
			t.Fatal(err)
		}
		if len(s.Process.Rlimits) != 2 || s.Process.Rlimits[0].Hard != 1024 || s.Process.Rlimits[1].Hard != p.Process.Nproc {
			t.Fatalf("rlimits %+v", s.Process.Rlimits)
		}
	})
	t.Run("oomScoreAdj raised", func(t *testing.T) {
		s := loadSpec(t, "containerd-cri.json")
		adj := -997
		s.Process.OOMScoreAdj = &adj
		if _, err := runOne(t, Process(p), p, s); err != nil {
			t.Fatal(err)
		}
		if *s.Process.OOMScoreAdj != 0 {
			t.Fatalf("oomScoreAdj %d", *s.Process.OOMScoreAdj)
		}
	})
	t.Run("non-root", func(t *testing.T) {
		rp := loadProfile(t, "restricted")
		s := loadSpec(t, "podman-4.json")
		_, err := runOne(t, Process(rp), rp, s)
		mustDeny(t, err, "process.require_non_root")
		s.Process.User.UID = 65534
		if _, err := runOne(t, Process(rp), rp, s); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCgroups(t *testing.T) {
	p := loadProfile(t, "default")
	for _, tc := range []struct {
		name            string
		pids, mem, swap *int64
		unified         map[string]string
		wantPids        int64
		wantMem         int64
		deny            string
	}{
		{"absent", nil, nil, nil, nil, 4096, 2 << 30, ""},
		{"unlimited", i64(-1), i64(-1), i64(-1), nil, 4096, 2 << 30, ""},
		{"kept", i64(100), i64(1 << 20), i64(1 << 30), nil, 100, 1 << 20, ""},
		{"clamped", i64(1 << 20), i64(1 << 40), nil, nil, 32768, 16 << 30, ""},
		{"unified pids.max=max", nil, nil, nil, map[string]string{"pids.max": "max"}, 0, 0, "cgroups.pids_max"},
		{"unified memory.max too big", nil, nil, nil, map[string]string{"memory.max": "1099511627776"}, 0, 0, "cgroups.memory_max"},
		{"unified swap", nil, nil, nil, map[string]string{"memory.swap.max": "max"}, 0, 0, "cgroups.memory"},
		{"unified memory.high ok", nil, nil, nil, map[string]string{"memory.high": "1000000"}, 4096, 2 << 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadSpec(t, "docker-20.10.json")
			res := s.Linux.Resources
			res.Pids = &specs.LinuxPids{Limit: tc.pids}
			res.Memory = &specs.LinuxMemory{Limit: tc.mem, Swap: tc.swap}
			res.Unified = tc.unified
			_, err := runOne(t, Cgroups(p), p, s)
			if tc.deny != "" {
				mustDeny(t, err, tc.deny)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *res.Pids.Limit != tc.wantPids || *res.Memory.Limit != tc.wantMem || *res.Memory.Swap != tc.wantMem {
				t.Fatalf("pids %d memory %d swap %d", *res.Pids.Limit, *res.Memory.Limit, *res.Memory.Swap)
			}
			if *res.CPU.Shares != 1024 {
				t.Fatalf("shares %d", *res.CPU.Shares)
			}
		})
	}
	t.Run("kubelet shares and quota kept", func(t *testing.T) {
		s := loadSpec(t, "containerd-cri.json")
		if _, err := runOne(t, Cgroups(p), p, s); err != nil {
			t.Fatal(err)
		}
		c := s.Linux.Resources.CPU
		if *c.Shares != 102 || *c.Quota != 50000 {
			t.Fatalf("cpu %+v", c)
		}
	})
	t.Run("quota and blkio defaults", func(t *testing.T) {
		pp := loadProfile(t, "default")
		pp.Cgroups.CPUQuota, pp.Cgroups.BlkioWeight = 200000, 500
		s := loadSpec(t, "runc-1.1-spec.json")
		if _, err := runOne(t, Cgroups(pp), pp, s); err != nil {
			t.Fatal(err)
		}
		res := s.Linux.Resources
		if *res.CPU.Quota != 200000 || *res.CPU.Period != 100000 || *res.BlockIO.Weight != 500 {
			t.Fatalf("cpu %+v blkio %+v", res.CPU, res.BlockIO)
		}
	})
}

func TestClampResources(t *testing.T) {
	p := loadProfile(t, "default")
	for _, tc := range []struct {
		name      string
		res       specs.LinuxResources
		deny      string
		pids, mem int64
	}{
		{"nothing", specs.LinuxResources{}, "", 0, 0},
		{"pids clamped", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(1 << 30)}}, "", 32768, 0},
		{"pids removed", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, "cgroups.pids_limit", 0, 0},
		{"memory removed", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}}, "cgroups.memory", 0, 0},
		{"swap unlimited", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(-1)}}, "cgroups.memory", 0, 0},
		{"memory clamped", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 40)}}, "", 0, 16 << 30},
		{"memory raised in range", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(4 << 30), Swap: i64(8 << 30)}}, "", 0, 4 << 30},
		{"unified", specs.LinuxResources{Unified: map[string]string{"pids.max": "max"}}, "cgroups.pids_max", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res
			changes, err := ClampResources(p, &res)
			if tc.deny != "" {
				d := mustDeny(t, err, tc.deny)
				if d.Modifier != "cgroups" {
					t.Fatalf("modifier %q", d.Modifier)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.pids != 0 && *res.Pids.Limit != tc.pids {
				t.Fatalf("pids %d", *res.Pids.Limit)
			}
			if tc.mem != 0 && (*res.Memory.Limit != tc.mem || *res.Memory.Swap != tc.mem) {
				t.Fatalf("memory %d swap %d", *res.Memory.Limit, *res.Memory.Swap)
			}
			if tc.pids == 0 && tc.mem == 0 && len(changes) != 0 {
				t.Fatalf("changed an empty update: %v", changes)
			}
			if res.CPU != nil || (tc.res.Memory == nil && res.Memory != nil) {
				t.Fatal("update added fields the caller did not send")
			}
		})
	}
}

func TestClampUpdateFlags(t *testing.T) {
	p := loadProfile(t, "default")
	out, changes, err := ClampUpdateFlags(p, map[string]string{"memory": "64g", "pids-limit": "100", "cpu-shares": "512"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"memory": "17179869184", "memory-swap": "17179869184", "pids-limit": "100", "cpu-shares": "512"}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %q, want %q", k, out[k], v)
		}
	}
	if len(changes) != 2 {
		t.Errorf("changes %v", changes)
	}
	out, changes, err = ClampUpdateFlags(p, map[string]string{"memory": "512m", "memory-swap": "512m"})
	if err != nil || len(changes) != 0 || out["memory"] != "512m" {
		t.Fatalf("in-range flags changed: %v %v %v", out, changes, err)
	}
	for _, f := range []map[string]string{{"pids-limit": "-1"}, {"memory": "-1"}, {"memory-swap": "-1"}} {
		_, _, err := ClampUpdateFlags(p, f)
		if _, ok := modifier.AsDenial(err); !ok {
			t.Errorf("%v: want denial, got %v", f, err)
		}
	}
	if _, _, err := ClampUpdateFlags(p, map[string]string{"memory": "lots"}); err == nil {
		t.Error("malformed --memory accepted")
	}
}
