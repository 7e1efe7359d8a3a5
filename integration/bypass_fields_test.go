//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestBypassFields: spec fields that act on the host outside what any other
// control checks: hooks (host root commands), linux.netDevices (a host
// interface moved in), a cgroupsPath naming a populated host cgroup, the
// fields denied by default, and keys this build's runtime-spec does not know.
func TestBypassFields(t *testing.T) {
	runBypasses(t, "fields", []bypass{
		{name: `hooks.prestart /bin/sh (host root)`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker(t, h)}}}}
		}, want: []string{"hooks.allow", "/bin/sh"}},
		{name: `hooks.createRuntime /bin/sh`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker(t, h)}}}}
		}, want: []string{"hooks.allow"}},
		{name: `hooks.poststop /bin/sh`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker(t, h)}}}}
		}, want: []string{"hooks.allow"}},
		{name: `hooks: /bin/sh behind a symlink named dockerd`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			dir := filepath.Join(h.Dir, "fake-docker-"+strconv.FormatInt(env.seq.Add(1), 10))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/bin/sh", filepath.Join(dir, "dockerd")); err != nil {
				t.Fatal(err)
			}
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: filepath.Join(dir, "dockerd"),
				Args: []string{"libnetwork-setkey", "-c", "touch " + marker(t, h)}}}}
		}, want: []string{"hooks.allow"}},
		{name: `hooks: dockerd as its archive helper`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			dockerd, err := exec.LookPath("dockerd")
			if err != nil {
				t.Skipf("no dockerd on this host: %v", err)
			}
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: dockerd, Args: []string{"docker-untar", "/"}}}}
		}, want: []string{"hooks.docker"}},
		{name: `hooks: allowed binary with LD_PRELOAD`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			dockerd, err := exec.LookPath("dockerd")
			if err != nil {
				t.Skipf("no dockerd on this host: %v", err)
			}
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: dockerd, Args: []string{"libnetwork-setkey"}, Env: []string{"LD_PRELOAD=/tmp/x.so"}}}}
		}, want: []string{"hooks.allow", "LD_PRELOAD"}},
		{name: `linux.netDevices moving a host interface`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{dummyInterface(t): {Name: "eth9"}}
		}, want: []string{"spec.allow_fields", "linux.netDevices"}},
		{name: `linux.cgroupsPath naming a host cgroup with a process`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Linux.CgroupsPath = populatedCgroup(t)
		}, want: []string{"cgroups.path"}},
		{name: `linux.cgroupsPath "/"`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Linux.CgroupsPath = "/"
		}, want: []string{"cgroups.path"}},
		{name: `linux.cgroupsPath fresh (runc creates it)`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Linux.CgroupsPath = fmt.Sprintf("/hr-fresh-%d-%d", os.Getpid(), env.seq.Add(1))
		}, harmless: func(r Result) string {
			if !strings.Contains(r.Stdout, "CONTAINER-RAN") {
				return "the container did not run: " + r.Stderr
			}
			return ""
		}},
		{name: `linux.intelRdt`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "hr"}
		}, want: []string{"spec.allow_fields", "linux.intelRdt"}},
		{name: `process.scheduler SCHED_FIFO 99`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99}
		}, want: []string{"spec.allow_fields", "process.scheduler"}},
		{name: `annotation org.systemd.property.MemoryMax`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Annotations = map[string]string{"org.systemd.property.MemoryMax": "infinity"}
		}, want: []string{"spec.allow_fields", "org.systemd.property.MemoryMax"}},
		{name: `annotation bundle`, mod: func(t *testing.T, h *Harness, _ Lower, s *specs.Spec) {
			s.Annotations = map[string]string{"bundle": "/"}
		}, want: []string{"spec.allow_fields", "annotations.bundle"}},
	})
	runRawBypasses(t, "fields", []rawBypass{
		{name: `unknown key linux.x-future`, edit: func(doc map[string]any) {
			doc["linux"].(map[string]any)["x-future"] = map[string]any{"enable": true}
		}, want: []string{"spec.unknown_fields", "linux.x-future"}},
		{name: `unknown key process.landlock`, edit: func(doc map[string]any) {
			doc["process"].(map[string]any)["landlock"] = map[string]any{"rules": []any{}}
		}, want: []string{"spec.unknown_fields", "process.landlock"}},
		{name: `unknown key mounts[].x-order`, edit: func(doc map[string]any) {
			doc["mounts"].([]any)[0].(map[string]any)["x-order"] = 1
		}, want: []string{"spec.unknown_fields", "mounts[].x-order"}},
		{name: `unknown top-level key and annotation kept`, edit: func(doc map[string]any) {
			doc["x-vendor"] = map[string]any{"name": "acme"}
			doc["annotations"] = map[string]any{"org.example/owner": "team-a"}
		}, harmless: func(r Result) string {
			if !strings.Contains(r.Stdout, "CONTAINER-RAN") {
				return "the container did not run: " + r.Stderr
			}
			return ""
		}},
	})
}

// marker is a host file a hook would create; the test fails if it exists
// after the launch was denied.
func marker(t *testing.T, h *Harness) string {
	p := filepath.Join(h.Dir, fmt.Sprintf("hook-ran-%d", env.seq.Add(1)))
	t.Cleanup(func() {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a denied hook ran on the host: %s exists", p)
		}
	})
	return p
}

// dummyInterface creates a throw-away network interface on the host (a
// dummy, or a veth pair where the kernel has no dummy driver) and removes it
// when the test ends, failing the test if it left the host.
func dummyInterface(t *testing.T) string {
	n := env.seq.Add(1) % 100000
	name := fmt.Sprintf("hrdum%d", n)
	out, err := exec.Command("ip", "link", "add", name, "type", "dummy").CombinedOutput()
	if err != nil {
		var err2 error
		if out, err2 = exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", fmt.Sprintf("hrdup%d", n)).CombinedOutput(); err2 != nil {
			t.Skipf("cannot create a dummy or veth interface: %v; %v %s", err, err2, out)
		}
	}
	t.Cleanup(func() {
		if _, err := os.Stat("/sys/class/net/" + name); err != nil {
			t.Errorf("host interface %s is gone from the host: %v", name, err)
		}
		_ = exec.Command("ip", "link", "del", name).Run()
	})
	return name
}

// populatedCgroup creates a cgroup in the pids hierarchy (v1) or the unified
// one (v2) holding a sleeping host process, and returns its path.
func populatedCgroup(t *testing.T) string {
	name := fmt.Sprintf("/hr-busy-%d-%d", os.Getpid(), env.seq.Add(1))
	var dir string
	for _, root := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err == nil {
			dir = filepath.Join(root, name)
			break
		}
	}
	if dir == "" {
		t.Skip("no writable cgroup hierarchy found")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup: %v", err)
	}
	sleep := exec.Command("sleep", "300")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
		for i := 0; i < 50 && os.Remove(dir) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644); err != nil {
		t.Fatalf("move the sleeper into %s: %v", dir, err)
	}
	return name
}

// rawBypass is a bypass that needs JSON the typed spec cannot hold (keys
// runtime-spec does not know): edit changes the document as a generic tree.
type rawBypass struct {
	name     string
	edit     func(doc map[string]any)
	want     []string
	harmless func(r Result) string
}

// runRawBypasses is runBypasses for raw JSON edits, with the same verdicts.
func runRawBypasses(t *testing.T, area string, cases []rawBypass) {
	t.Helper()
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		for _, tc := range cases {
			tc := tc
			t.Run(sanitize(tc.name), func(t *testing.T) {
				bundle, id := h.newBundle(l, nil, "sh", "-c", "echo CONTAINER-RAN")
				path := filepath.Join(bundle, "config.json")
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var doc map[string]any
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				tc.edit(doc)
				before, err := json.MarshalIndent(doc, "", "\t")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, before, 0o644); err != nil {
					t.Fatal(err)
				}
				r := h.hardenedRunc(t, l, "--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json", "run", "--bundle", bundle, id)
				h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
				verdict := checkBypass(bypass{want: tc.want, harmless: tc.harmless}, r, bundle, before)
				recordBypassRow(area, tc.name, l.Name, verdict)
				if !strings.HasPrefix(verdict, "blocked") && !strings.HasPrefix(verdict, "harmless") {
					t.Errorf("%s: %s\n%s", tc.name, verdict, r)
				}
			})
		}
	})
}

// TestDockerOwnHookAllowed: on a user-defined network Docker adds its own
// prestart hook (/proc/<dockerd pid>/exe libnetwork-setkey ...); the default
// profile lets it run because it is the running dockerd's binary, and the
// container gets its network. The record notes why the hook was allowed.
func TestDockerOwnHookAllowed(t *testing.T) {
	d := docker(t)
	net := fmt.Sprintf("hr-hooknet-%d", os.Getpid())
	if r := d.Run(t, "network", "create", "--driver", "bridge", net); r.Code != 0 {
		t.Fatalf("docker network create: %s", r)
	}
	defer d.Run(t, "network", "rm", net)
	forEachLower(t, func(t *testing.T, l Lower) {
		r := d.Run(t, "run", "--rm", "--network", net, "--runtime", d.runtimeFor(l), Image, "cat", "/proc/net/dev")
		if r.Code != 0 {
			t.Fatalf("docker run on a bridge network (Docker's libnetwork-setkey hook): %s", r)
		}
		if !strings.Contains(r.Stdout, "eth0") {
			t.Errorf("the container has no eth0: the network hook did not do its work:\n%s", r.Stdout)
		}
	})
	records, _ := filepath.Glob(filepath.Join(d.Forensics, "records-*.ndjson"))
	found := false
	for _, f := range records {
		data, _ := os.ReadFile(f)
		found = found || strings.Contains(string(data), "as libnetwork-setkey (hooks.docker)")
	}
	if !found {
		t.Errorf("no forensic record notes Docker's hook as allowed (records %v)", records)
	}
}

// TestBypassFieldsExec: `runc exec --process FILE` gets the same decisions
// for the process: a real-time scheduler and a key this build does not know
// are refused, with the container left running.
func TestBypassFieldsExec(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "sleep", "60")
		root := []string{"--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json"}
		hr := func(args ...string) Result {
			return h.hardenedRunc(t, l, append(append([]string{}, root...), args...)...)
		}
		if r := hr("run", "--detach", "--bundle", bundle, id); r.Code != 0 {
			t.Fatalf("run -d: %s", r)
		}
		defer hr("delete", "--force", id)
		for _, tc := range []struct {
			name, json, want string
		}{
			{"ordinary", `{"args":["echo","EXEC-RAN"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}`, ""},
			{"scheduler", `{"args":["echo","EXEC-RAN"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"scheduler":{"policy":"SCHED_FIFO","priority":99}}`, "process.scheduler"},
			{"unknown key", `{"args":["echo","EXEC-RAN"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"x-execFuture":{"a":1}}`, "process.x-execFuture"},
		} {
			pj := filepath.Join(h.Dir, "process-"+strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(pj, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			r := hr("exec", "--process", pj, id)
			switch {
			case tc.want == "" && (r.Code != 0 || !strings.Contains(r.Stdout, "EXEC-RAN")):
				t.Errorf("%s exec failed: %s", tc.name, r)
			case tc.want != "" && (r.Code == 0 || strings.Contains(r.Stdout, "EXEC-RAN") || !strings.Contains(r.Stderr, tc.want)):
				t.Errorf("%s exec not denied naming %s: %s", tc.name, tc.want, r)
			}
		}
	})
}
