package confine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// fakeCgroupHost builds a hybrid host under a temp dir: pids and memory v1
// hierarchies, the named systemd one and v2 unified, with the given cgroups
// (host-absolute cgroup path -> pids) in every hierarchy. This process
// (runc) lives in /user.slice/session-1.scope; PID 1 in /init.scope.
func fakeCgroupHost(t *testing.T, cgroups map[string]string) string {
	t.Helper()
	root := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mi, err := os.ReadFile("testdata/host/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.ReadFile("testdata/host/proc/self/cgroup")
	write("proc/self/mountinfo", string(mi))
	write("proc/self/cgroup", string(self))
	write("proc/1/cgroup", "9:name=systemd:/init.scope\n0::/init.scope\n")
	for _, h := range []string{"cpu,cpuacct", "memory", "pids", "systemd", "unified"} {
		write("sys/fs/cgroup/"+h+"/cgroup.procs", "1\n")
		for cg, pids := range cgroups {
			dir := "sys/fs/cgroup/" + h + cg
			write(dir+"/cgroup.procs", pids)
			if h == "unified" {
				pop := "0"
				if pids != "" {
					pop = "1"
				}
				write(dir+"/cgroup.events", "populated "+pop+"\nfrozen 0\n")
			}
		}
	}
	return root
}

func TestCgroupsPath(t *testing.T) {
	p := loadProfile(t, "default")
	host := fakeCgroupHost(t, map[string]string{
		"/system.slice":                     "",
		"/system.slice/ssh.service":         "812\n",
		"/docker/old":                       "", // left over by a dead container
		"/docker/busy":                      "4242\n",
		"/user.slice/session-1.scope/child": "77\n",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-pause.scope": "900\n",
	})
	for _, tc := range []struct {
		name, path string
		systemd    bool
		deny       string // "" when allowed
	}{
		{"fresh docker cgroup", "/docker/new", false, ""},
		{"empty leftover", "/docker/old", false, ""},
		{"fresh CRI scope in a populated pod slice", "kubepods-burstable-pod1.slice:cri-containerd:abc", true, ""},
		{"fresh podman scope", "machine.slice:libpod:abc", true, ""},
		{"default systemd", "", true, ""},
		{"default cgroupfs (container id, relative)", "", false, ""},
		{"another container's cgroup", "/docker/busy", false, "4242"},
		{"the root cgroup", "/", false, "pid 1"},
		{"a host slice whose services hold processes", "/system.slice", false, "812"},
		{"climbing with ..", "/docker/new/../busy", false, "4242"},
		{"relative, into runc's own cgroup", "child", false, "77"},
		{"relative cannot climb above runc's cgroup", "../../docker/busy", false, ""},
		{"the pause container's scope", "kubepods-burstable-pod1.slice:cri-containerd:pause", true, "900"},
		{"a systemd service's unit as a slice", "-.slice::system.slice", true, "812"},
		{"malformed systemd path", "/docker/busy", true, "slice:prefix:name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadSpec(t, "runc-1.5-spec.json")
			s.Linux.CgroupsPath = tc.path
			ctx := newCtx(p)
			ctx.SystemdCgroup = tc.systemd
			err := modifier.List{&CgroupsModifier{hostRoot: host, p: p}}.Modify(ctx, s, &modifier.Report{})
			if tc.deny == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			d := mustDeny(t, err, "cgroups.path")
			if !strings.Contains(d.Error(), tc.deny) || strings.Contains(d.Error(), "\n") {
				t.Errorf("denial does not say %q on one line: %v", tc.deny, d)
			}
		})
	}
}

// Where the hierarchies cannot be read, the path cannot be judged: deny.
func TestCgroupsPathFailsClosed(t *testing.T) {
	p := loadProfile(t, "default")
	s := loadSpec(t, "runc-1.5-spec.json")
	s.Linux.CgroupsPath = "/docker/new"
	_, err := runOne(t, &CgroupsModifier{hostRoot: t.TempDir(), p: p}, p, s)
	mustDeny(t, err, "cgroups.path")
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"-.slice":                  "/",
		"system.slice":             "/system.slice",
		"kubepods-burstable.slice": "/kubepods.slice/kubepods-burstable.slice",
		"a--b.slice":               "",
		"a/b.slice":                "",
		"foo":                      "",
	} {
		got, err := expandSlice(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("expandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
