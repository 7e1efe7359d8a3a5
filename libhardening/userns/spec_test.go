package userns

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func TestClampPingGroupRange(t *testing.T) {
	cases := []struct {
		in, want string // want "" = dropped
	}{
		{"0 2147483647", "0 65535"}, // Docker's default
		{"1 1000", "1 1000"},
		{"70000 80000", ""},
		{"garbage", ""},
		{"1 2 3", ""},
	}
	for _, c := range cases {
		s := &specs.Spec{Linux: &specs.Linux{Sysctl: map[string]string{"net.ipv4.ping_group_range": c.in}}}
		clampPingGroupRange(s, 65536, &modifier.Report{})
		got, ok := s.Linux.Sysctl["net.ipv4.ping_group_range"]
		if c.want == "" && ok || c.want != "" && got != c.want {
			t.Errorf("%q: got %q (present %v), want %q", c.in, got, ok, c.want)
		}
	}
}

func TestFixNamespacedMounts(t *testing.T) {
	mounts := func() []specs.Mount {
		return []specs.Mount{
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue"},
			{Destination: "/proc", Type: "proc", Source: "proc"},
		}
	}
	type nsSet = map[specs.LinuxNamespaceType]bool
	net, ipc := specs.NetworkNamespace, specs.IPCNamespace
	cases := []struct {
		name       string
		foreign    nsSet
		host       nsSet
		hostMqueue bool
		want       []string // types after
	}{
		{"own namespaces", nil, nil, true, []string{"sysfs", "mqueue", "proc"}},
		{"host network", nsSet{net: true}, nsSet{net: true}, true, []string{"bind", "mqueue", "proc"}},
		// Issue 16 bug 2: a joined netns owned by the host's user namespace.
		{"joined foreign network", nsSet{net: true}, nil, true, []string{"bind", "mqueue", "proc"}},
		{"host ipc with /dev/mqueue", nsSet{ipc: true}, nsSet{ipc: true}, true, []string{"sysfs", "bind", "proc"}},
		{"host ipc without /dev/mqueue", nsSet{ipc: true}, nsSet{ipc: true}, false, []string{"sysfs", "proc"}},
		// Issue 16 bug 3: never the host's queues for another namespace.
		{"joined foreign ipc", nsSet{ipc: true}, nil, true, []string{"sysfs", "proc"}},
	}
	for _, c := range cases {
		s := &specs.Spec{Mounts: mounts()}
		var r modifier.Report
		fixNamespacedMounts(s, &joined{Foreign: c.foreign, Host: c.host}, c.hostMqueue, &r)
		var got []string
		for _, m := range s.Mounts {
			got = append(got, m.Type)
			if m.Type == "bind" && !hasOption(m, "ro") {
				t.Errorf("%s: replacement of %s is writable", c.name, m.Destination)
			}
			if m.Type == "bind" && m.Destination == "/dev/mqueue" && !c.host[ipc] {
				t.Errorf("%s: the host's /dev/mqueue bound for a joined IPC namespace", c.name)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if len(got) < 3 && len(r.Changes) == 0 {
			t.Errorf("%s: mount dropped without a recorded change", c.name)
		}
	}
}

func TestVolumeRule(t *testing.T) {
	r := volumeRule{containerID: "abc", dockerRoots: []string{"/var/lib/docker", "/srv/docker"}, profileGlobs: []string{"/data/shared", "/mnt/vol-*"}}
	cases := map[string]bool{
		"/var/lib/docker/containers/abc/hosts":       true,
		"/var/lib/docker/containers/abc/mounts/shm":  true,
		"/var/lib/docker/containers/other/hosts":     false, // another container's files
		"/srv/docker/volumes/db/_data":               true,
		"/srv/docker/volumes/db/_data/sub":           true,
		"/var/lib/docker/volumes/metadata.db":        false,
		"/var/lib/docker/volumes/../containers/x":    false,
		"/data/shared/x":                             true,
		"/mnt/vol-1":                                 true,
		"/home/user":                                 false, // arbitrary host paths stay unmapped
		"/var/lib/docker/containers/abcdef/hostname": false,
	}
	for src, want := range cases {
		if got := r.match(src) != ""; got != want {
			t.Errorf("%s: idmapped = %v, want %v", src, got, want)
		}
	}
}

func TestIdmapMounts(t *testing.T) {
	spec := func() *specs.Spec {
		return &specs.Spec{Mounts: []specs.Mount{
			{Destination: "/etc/hosts", Type: "bind", Source: "/var/lib/docker/containers/c1/hosts", Options: []string{"rbind", "rprivate"}},
			{Destination: "/vol", Type: "bind", Source: "/var/lib/docker/volumes/v/_data", Options: []string{"bind"}},
			{Destination: "/host", Type: "bind", Source: "/home", Options: []string{"rbind"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		}}
	}
	rule := volumeRule{containerID: "c1", dockerRoots: []string{"/var/lib/docker"}}
	s := spec()
	ctx := &modifier.Context{}
	idmapMounts(s, rule, true, &modifier.Report{})
	want := [][]string{{"rbind", "rprivate", "ridmap"}, {"bind", "idmap"}, {"rbind"}, nil}
	for i, m := range s.Mounts {
		if !reflect.DeepEqual(m.Options, want[i]) {
			t.Errorf("%s: options %v, want %v", m.Destination, m.Options, want[i])
		}
	}
	s = spec()
	var r modifier.Report
	copies := idmapMounts(s, rule, false, &r)
	if s.Mounts[0].Source != "/var/lib/docker/containers/c1/hosts" || len(r.Changes) != 2 {
		t.Errorf("planned copies changed the spec or were not recorded: %+v %v", s.Mounts, r.Changes)
	}
	if err := bindCopies(ctx, s, copies, fakeBinder{}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Changes[0].After != "/idmapped/var/lib/docker/containers/c1/hosts" {
		t.Errorf("the copy's change was not filled in: %v", r.Changes[0])
	}
	// Without runc's idmap, hardened-runc binds idmapped copies of the
	// selected sources (the fake fails for /vol: left unmapped, noted).
	if s.Mounts[0].Source != "/idmapped/var/lib/docker/containers/c1/hosts" || s.Mounts[1].Source != "/var/lib/docker/volumes/v/_data" || s.Mounts[2].Source != "/home" {
		t.Errorf("sources: %+v", s.Mounts)
	}
	if len(ctx.Notes) != 1 || !strings.Contains(ctx.Notes[0], "/vol") {
		t.Errorf("unmapped volume not noted: %v", ctx.Notes)
	}
}

type fakeBinder struct{}

func (fakeBinder) bind(src string, recursive bool) (string, error) {
	if strings.Contains(src, "volumes") {
		return "", errors.New("EINVAL")
	}
	return "/idmapped" + src, nil
}

func TestCheckProcessIDs(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1 << 30, Size: 65536}}
	cases := []struct {
		user specs.User
		ok   bool
	}{
		{specs.User{}, true},
		{specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}, true},
		{specs.User{UID: 65535, GID: 65535}, true},
		{specs.User{UID: 70000}, false},
		{specs.User{GID: 65536}, false},
		{specs.User{AdditionalGids: []uint32{1 << 20}}, false},
	}
	for _, c := range cases {
		err := checkProcessIDs(&specs.Process{User: c.user}, m, m)
		if _, denied := modifier.AsDenial(err); denied == c.ok {
			t.Errorf("%+v: err = %v, want ok=%v", c.user, err, c.ok)
		}
	}
}

func TestProcPid(t *testing.T) {
	cases := map[string]int{"/proc/123/ns/net": 123, "/proc/1/ns/ipc": 1, "/var/run/netns/cni-1": 0, "/proc/self/ns/net": 0, "/proc/0/ns/net": 0}
	for p, want := range cases {
		got, ok := procPid(p)
		if got != want || ok != (want != 0) {
			t.Errorf("%s: %d %v, want %d", p, got, ok, want)
		}
	}
}

func TestHostRoot(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{
		Namespaces:  []specs.LinuxNamespace{{Type: specs.UserNamespace}},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 300000, Size: 65536}},
	}}
	if u, g, ok := HostRoot(s); !ok || u != 200000 || g != 300000 {
		t.Errorf("HostRoot = %d %d %v", u, g, ok)
	}
	if _, _, ok := HostRoot(&specs.Spec{Linux: &specs.Linux{}}); ok {
		t.Error("HostRoot without user namespace reported ok")
	}
}

func trusting(users ...string) *policy.Profile {
	p := testProfile("enabled", "deny")
	p.Userns.TrustedSubIDUsers = users
	return p
}

// withMapping gives the spec a new user namespace with the caller's
// mapping 0 -> host, size.
func withMapping(host, size uint32) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: host, Size: size}}
		s.Linux.GIDMappings = s.Linux.UIDMappings
	}
}

// replacedBy checks that the caller's mapping gave way to the range the
// allocator picks (host) and an idmapped root.
func replacedBy(host uint32) func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
	return func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
		for _, ms := range [][]specs.LinuxIDMapping{s.Linux.UIDMappings, s.Linux.GIDMappings} {
			if len(ms) != 1 || ms[0].HostID != host || ms[0].Size != 65536 {
				t.Errorf("mappings %v, want the container's own range at %d", ms, host)
			}
		}
		if s.Root.Path == "rootfs" {
			t.Error("root not idmapped for the replaced range")
		}
		n := 0
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d user namespaces", n)
		}
	}
}

func testProfile(mode, fallback string) *policy.Profile {
	return &policy.Profile{Mode: policy.ModeEnforce, Userns: policy.Userns{Mode: policy.UsernsMode(mode), Size: 65536, SubIDUser: "hardened-runc", Fallback: fallback}}
}

// TestModifyTable runs the whole modifier on specs as engines send them, in
// explain mode (no mounts, no allocation) so it needs no root.
func TestModifyTable(t *testing.T) {
	sub := filepath.Join(t.TempDir(), "subid")
	os.WriteFile(sub, []byte("hardened-runc:1048576:655360\ndockremap:165536:65536\n"), 0o644)
	opts := Options{SubUIDFile: sub, SubGIDFile: sub}
	base := func() *specs.Spec {
		return &specs.Spec{
			Root:    &specs.Root{Path: "rootfs"},
			Process: &specs.Process{},
			Mounts: []specs.Mount{
				{Destination: "/sys", Type: "sysfs", Source: "sysfs"},
				{Destination: "/etc/hosts", Type: "bind", Source: "/var/lib/docker/containers/c1/hosts", Options: []string{"rbind", "rprivate"}},
			},
			Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
				Sysctl:     map[string]string{"net.ipv4.ping_group_range": "0 2147483647"},
			},
		}
	}
	cases := []struct {
		name    string
		profile *policy.Profile
		edit    func(*specs.Spec)
		denied  bool
		check   func(t *testing.T, s *specs.Spec, ctx *modifier.Context)
	}{
		{
			name: "docker default", profile: testProfile("enabled", "deny"),
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				if _, ok := namespace(s, specs.UserNamespace); !ok {
					t.Fatal("no user namespace")
				}
				if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != 1048576 || m[0].Size != 65536 {
					t.Errorf("uid mappings %v", m)
				}
				if want := filepath.Join(ctx.RunDir, "userns", "c1", "rootfs"); s.Root.Path != want {
					t.Errorf("root.path %q, want %q", s.Root.Path, want)
				}
				if s.Linux.Sysctl["net.ipv4.ping_group_range"] != "0 65535" {
					t.Errorf("ping_group_range %q", s.Linux.Sysctl["net.ipv4.ping_group_range"])
				}
				if !hasOption(s.Mounts[1], "ridmap") || s.Mounts[0].Type != "sysfs" {
					t.Errorf("mounts %+v", s.Mounts)
				}
			},
		},
		{
			name: "disabled by profile", profile: testProfile("disabled", "deny"),
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				if _, ok := namespace(s, specs.UserNamespace); ok || s.Root.Path != "rootfs" {
					t.Error("spec changed although disabled")
				}
				if len(ctx.Notes) == 0 || !strings.Contains(ctx.Notes[0], "disabled") {
					t.Errorf("opt-out not recorded: %v", ctx.Notes)
				}
			},
		},
		{
			name: "disabled: the caller's mapping outside the pool is the engine's", profile: testProfile("disabled", "deny"),
			edit: withMapping(165536, 65536),
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				if s.Linux.UIDMappings[0].HostID != 165536 {
					t.Error("mapping changed although userns is disabled")
				}
			},
		},
		{
			name: "disabled: the caller's mapping in hardened-runc's pool denied", profile: testProfile("disabled", "deny"),
			edit:   withMapping(1048576+65536, 65536),
			denied: true,
		},
		{
			name: "host network: sysfs bound read-only", profile: testProfile("enabled", "deny"),
			edit: func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:1] },
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				if s.Mounts[0].Type != "bind" || s.Mounts[0].Source != "/sys" {
					t.Errorf("sysfs not replaced: %+v", s.Mounts[0])
				}
			},
		},
		{
			name: "host pid denied", profile: testProfile("enabled", "deny"),
			edit:   func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[1:] },
			denied: true,
		},
		{
			name: "engine mapping in a trusted range kept (userns-remap)", profile: trusting("dockremap"),
			edit: withMapping(165536, 65536),
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				if s.Root.Path != "rootfs" || s.Linux.UIDMappings[0].HostID != 165536 {
					t.Error("engine's user namespace was changed")
				}
			},
		},
		{
			// Bypass #6: the caller chose which host IDs container root is.
			name: "caller mapping replaced (0->1000, 2000)", profile: testProfile("enabled", "deny"),
			edit:  withMapping(1000, 2000),
			check: replacedBy(1048576),
		},
		{
			name: "userns-remap range not trusted by this profile: replaced", profile: testProfile("enabled", "deny"),
			edit:  withMapping(165536, 65536),
			check: replacedBy(1048576),
		},
		{
			name: "caller picks another container's range: replaced", profile: testProfile("enabled", "deny"),
			edit:  withMapping(1048576+65536, 65536),
			check: replacedBy(1048576),
		},
		{
			name: "caller mapping beyond the trusted range: replaced", profile: trusting("dockremap"),
			edit:  withMapping(165536, 65537),
			check: replacedBy(1048576),
		},
		{
			name: "engine mapping of host root replaced", profile: trusting("dockremap"),
			edit:  withMapping(0, 65536),
			check: replacedBy(1048576),
		},
		{
			// Bypass #2: a key only the runtime writes, from the caller.
			name: "the runtime's own annotation refused", profile: testProfile("enabled", "deny"),
			edit: func(s *specs.Spec) {
				s.Annotations = map[string]string{AnnotationOriginal: `{"root":"rootfs","sources":{"/mnt":"/proc"}}`}
			},
			denied: true,
		},
		{
			// Bypass #5: a user namespace not reached through a process.
			name: "user namespace by nsfs file denied", profile: testProfile("enabled", "deny"),
			edit: func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/run/userns/x"})
			},
			denied: true,
		},
		{
			name: "bare user namespace completed, not doubled", profile: testProfile("enabled", "deny"),
			edit: func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			},
			check: func(t *testing.T, s *specs.Spec, ctx *modifier.Context) {
				n := 0
				for _, ns := range s.Linux.Namespaces {
					if ns.Type == specs.UserNamespace {
						n++
					}
				}
				if n != 1 || len(s.Linux.UIDMappings) != 1 {
					t.Errorf("%d user namespaces, mappings %v", n, s.Linux.UIDMappings)
				}
			},
		},
		{
			name: "joining the host user namespace denied", profile: testProfile("enabled", "deny"),
			edit: func(s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/proc/self/ns/user"})
			},
			denied: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			if c.edit != nil {
				c.edit(s)
			}
			ctx := &modifier.Context{ContainerID: "c1", Bundle: t.TempDir(), RunDir: filepath.Join(t.TempDir(), "run"), Profile: c.profile, DryRun: true,
				Lower: modifier.Lower{Version: "1.5.2", Features: &modifier.Features{IDMap: true}}}
			err := NewWithOptions(c.profile.Userns, opts).Modify(ctx, s, &modifier.Report{})
			if _, denied := modifier.AsDenial(err); denied != c.denied || (err != nil && !denied) {
				t.Fatalf("err = %v, want denied=%v", err, c.denied)
			}
			if c.check != nil {
				c.check(t, s, ctx)
			}
			if _, err := os.Stat(filepath.Join(ctx.RunDir, "userns")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("explain touched the host: %v", err)
			}
		})
	}
}

// TestForeignNetSysctls: net.* sysctls of a joined network namespace the
// container's user namespace does not own leave the spec (runc could not
// write them) and are written by hardened-runc before exec; the others, and
// those of an owned namespace, stay for runc.
func TestForeignNetSysctls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		path    string
		foreign bool
		want    []string // keys left in the spec
		moved   bool
	}{
		{"host-owned CNI netns", "/var/run/netns/cni-1", true, []string{"kernel.shm_rmid_forced"}, true},
		{"owned netns", "/proc/42/ns/net", false, []string{"kernel.shm_rmid_forced", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range"}, false},
		{"private netns", "", false, []string{"kernel.shm_rmid_forced", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: tc.path}},
				Sysctl: map[string]string{
					"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647",
					"kernel.shm_rmid_forced": "1",
				},
			}}
			j := &joined{Foreign: map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: tc.foreign}}
			ctx := &modifier.Context{DryRun: true}
			var r modifier.Report
			foreignNetSysctls(ctx, s, j, &r)
			got := slices.Sorted(maps.Keys(s.Linux.Sysctl))
			if !slices.Equal(got, tc.want) {
				t.Errorf("left %v, want %v", got, tc.want)
			}
			if moved := len(r.Changes) > 0; moved != tc.moved {
				t.Errorf("changes %v, want moved %v", r.Changes, tc.moved)
			}
			if len(ctx.BeforeExec) != 0 {
				t.Error("a dry run scheduled a host effect")
			}
		})
	}
}

// TestForeignNetnsLowPorts: a container holding NET_BIND_SERVICE that
// joins a network namespace owned elsewhere gets the pod's low ports
// opened (its capability does not count there); without the capability,
// or with the sysctl already set, nothing is added.
func TestForeignNetnsLowPorts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caps    []string
		sysctl  map[string]string
		changes int
	}{
		{"NET_BIND_SERVICE held", []string{"CAP_NET_BIND_SERVICE"}, nil, 1},
		{"not held", []string{"CAP_KILL"}, nil, 0},
		{"already set by the engine", []string{"CAP_NET_BIND_SERVICE"}, map[string]string{unprivilegedPortStart: "0"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{
				Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: tc.caps}},
				Linux: &specs.Linux{
					Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/var/run/netns/cni-1"}},
					Sysctl:     tc.sysctl,
				},
			}
			j := &joined{Foreign: map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: true}}
			var r modifier.Report
			foreignNetSysctls(&modifier.Context{DryRun: true}, s, j, &r)
			if len(r.Changes) != tc.changes {
				t.Errorf("changes %v, want %d", r.Changes, tc.changes)
			}
			if _, left := s.Linux.Sysctl[unprivilegedPortStart]; left {
				t.Error("the sysctl was left for runc, which cannot write it")
			}
		})
	}
}
