//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// Issue 12 bypasses #2, #5, #6, #9 (and #7 in TestBypassUsernsRelease):
// what the caller puts in a spec never decides the container's host IDs,
// and what the runtime remembers is out of the caller's reach.

// TestBypassUserns runs the spec-level cases on both lower runtimes.
func TestBypassUserns(t *testing.T) {
	runBypasses(t, "userns", []bypass{
		{
			// #2: the key the runtime once wrote for itself, from the
			// caller, swapping a checked bind for the host's procfs.
			name: "annotation run.hardened-runc.userns.original",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: t.TempDir(), Options: []string{"rbind", "ro"}})
				s.Annotations = map[string]string{userns.AnnotationOriginal: `{"root":"rootfs","sources":{"/mnt":"/proc"}}`}
			},
			want: []string{"userns.mode", userns.AnnotationOriginal},
		},
		{
			// #6: container root chosen by the caller (host uid 1,
			// group shadow's neighbourhood): replaced by a range of its own.
			name: "caller uidMappings 0->1",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 65536}}
				s.Linux.GIDMappings = s.Linux.UIDMappings
			},
			argv:     []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; echo CONTAINER-RAN"},
			harmless: ownRange,
		},
		{
			// #5: a user namespace mapping host root, joined by path.
			name: "user namespace path of a process mapping host root",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				pid := startUnshared(t, "--user", "--map-root-user")
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: fmt.Sprintf("/proc/%d/ns/user", pid)})
				// The decoy the record used to show.
				s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1 << 30, Size: 65536}}
				s.Linux.GIDMappings = s.Linux.UIDMappings
			},
			want: []string{"userns.mode", "real mapping uid 0-0 → 0-0"},
		},
		{
			// #5: the same namespace through a bind-mounted nsfs file
			// (as containerd 2.x pins a pod's): judged by the mapping
			// read from inside it, which maps host root.
			name: "user namespace path of an nsfs bind mount",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				pid := startUnshared(t, "--user", "--map-root-user")
				file := bindNS(t, fmt.Sprintf("/proc/%d/ns/user", pid))
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: file})
			},
			want: []string{"userns.mode", "real mapping uid 0-0 → 0-0", "not one hardened-runc allocated"},
		},
		{
			// #9: --network=host, on a host where /proc/1/ns is unreadable.
			name: "no network namespace entry (--network=host)",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Namespaces = withoutNS(s.Linux.Namespaces, specs.NetworkNamespace)
			},
			want: []string{"namespaces.allow_host", "network"},
		},
		{
			// #9: the host's network namespace through a host process.
			name: "network namespace path of a host process",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Namespaces = append(withoutNS(s.Linux.Namespaces, specs.NetworkNamespace),
					specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: fmt.Sprintf("/proc/%d/ns/net", os.Getpid())})
			},
			want: []string{"namespaces.allow_host", "joining the host's network namespace"},
		},
		{
			// #9: a path that cannot be compared is not "not the host's".
			name: "network namespace path that is not a namespace",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				s.Linux.Namespaces = append(withoutNS(s.Linux.Namespaces, specs.NetworkNamespace),
					specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/999999999/ns/net"})
			},
			want: []string{"namespaces.allow_host", "cannot tell"},
		},
	})
}

// ownRange is harmless when the container's uid_map and gid_map are a
// range of hardened-runc's pool, not the caller's choice.
func ownRange(r Result) string {
	f := strings.Fields(r.Stdout)
	if len(f) < 6 {
		return "no uid_map/gid_map in the output: " + r.Stdout
	}
	for _, host := range []string{f[1], f[4]} {
		if host == "1" || host == "0" {
			return "the caller's mapping was kept: " + strings.Join(f[:6], " ")
		}
	}
	return ""
}

func withoutNS(ns []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, n := range ns {
		if n.Type != t {
			out = append(out, n)
		}
	}
	return out
}

// startUnshared runs `sleep` in new namespaces made by unshare(1) and
// returns its pid once it is in them; it is killed at the test's end.
func startUnshared(t *testing.T, args ...string) int {
	t.Helper()
	cmd := exec.Command("unshare", append(args, "sleep", "300")...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 300; i++ {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); filepath.Base(exe) == "sleep" {
			return cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("unshare %v did not start sleep", args)
	return 0
}

// bindNS bind-mounts a namespace file onto a new file and returns it.
func bindNS(t *testing.T, ns string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ns")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(ns, file, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", ns, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(file, unix.MNT_DETACH) })
	return file
}

// containerPid is the init pid of a created container.
func containerPid(t *testing.T, h *Harness, l Lower, id string) int {
	t.Helper()
	st := h.hardenedRunc(t, l, "--root", h.StateRoot, "state", id)
	var state struct{ Pid int }
	if err := json.Unmarshal([]byte(st.Stdout), &state); err != nil || state.Pid == 0 {
		t.Fatalf("state %s: %v %s", id, err, st)
	}
	return state.Pid
}

// createSleeper creates a detached container running sleep and deletes it
// at the end of the test.
func createSleeper(t *testing.T, h *Harness, l Lower, mod func(*specs.Spec)) (id string, pid int) {
	t.Helper()
	bundle, id := h.newBundle(l, mod, "sleep", "300")
	if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundle, id); r.Code != 0 {
		t.Fatalf("create %s: %s", id, r)
	}
	t.Cleanup(func() { h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id) })
	return id, containerPid(t, h, l, id)
}

// TestBypassUsernsSharedRange (#6): a caller asking for exactly the range
// of a live container gets a range of its own.
func TestBypassUsernsSharedRange(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		_, pid := createSleeper(t, h, l, nil)
		victim := uidMapBase(t, pid)
		var host uint32
		fmt.Sscan(victim, &host)
		r := h.run(t, l, "default", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: host, Size: 65536}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}, "cat", "/proc/self/uid_map")
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		if f := strings.Fields(r.Stdout); len(f) < 2 || f[1] == victim {
			t.Fatalf("the container got the live container's range %s: %q", victim, r.Stdout)
		}
	})
}

// TestBypassUsernsRelease (#7): a range and an idmapped root are released
// only by deleting their container from the same --root.
func TestBypassUsernsRelease(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		id, pid := createSleeper(t, h, l, nil)
		base := uidMapBase(t, pid)
		other := filepath.Join(h.Dir, "other-root")
		if err := os.MkdirAll(other, 0o711); err != nil {
			t.Fatal(err)
		}
		held := func(step string) {
			t.Helper()
			tab, err := userns.ReadTable(h.RunDir)
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := tab.Lookup(id); !ok || fmt.Sprint(e.HostUID) != base {
				t.Fatalf("after %s: the live container's range %s is gone from the table", step, base)
			}
			if n, _ := userns.MountsUnder(filepath.Join(h.RunDir, "userns", id)); n == 0 {
				t.Fatalf("after %s: the live container's idmapped root was unmounted", step)
			}
		}
		h.hardenedRunc(t, l, "--root", other, "delete", id)
		held("--root /other delete")
		h.hardenedRunc(t, l, "--root", other, "delete", "--force", id)
		held("--root /other delete --force")
		bundle, _ := h.newBundle(l, nil, "true")
		if r := h.hardenedRunc(t, l, "--root", other, "create", "--bundle", bundle, id); r.Code == 0 {
			h.hardenedRunc(t, l, "--root", other, "delete", "--force", id)
			t.Fatalf("create of a live ID under another root succeeded: %s", r)
		}
		held("a failed create under another root")
		if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundle, id); r.Code == 0 {
			t.Fatalf("second create of a live ID succeeded: %s", r)
		}
		held("a failed create of the same ID")
		if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id); r.Code != 0 {
			t.Fatalf("delete: %s", r)
		}
		assertReleased(t, h.RunDir, id)
	})
}

// TestUsernsRerunFromRunDir (#2, item 3): a bundle run twice is hardened
// twice from the caller's original, which hardened-runc keeps in its run
// directory, not in the spec.
func TestUsernsRerunFromRunDir(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "cat", "/proc/self/uid_map")
		for i := 0; i < 2; i++ {
			r := h.hardenedRunc(t, l, "--root", h.StateRoot, "run", "--bundle", bundle, id)
			h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
			if r.Code != 0 {
				t.Fatalf("run %d: %s", i+1, r)
			}
			s := readSpec(t, bundle)
			if _, ok := s.Annotations[userns.AnnotationOriginal]; ok {
				t.Fatalf("run %d: the runtime's memory is in the spec", i+1)
			}
		}
		assertReleased(t, h.RunDir, id)
	})
}

// TestUsernsPodJoins is issue 16 bugs 2 and 3: an app container joins the
// namespaces of a sandbox in its own user namespace, whose network
// namespace was made by the engine in the host's (a CNI netns). sysfs is
// bound instead of mounted (the user namespace does not own that netns),
// mqueue stays (it owns the sandbox's IPC namespace), and both start.
func TestUsernsPodJoins(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		pause := podSandbox(t, h, l)
		r := h.run(t, l, "default", joinPod(pause, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace), "sh", "-c", "cat /proc/self/uid_map; grep -E ' /sys | /dev/mqueue ' /proc/self/mounts")
		if r.Code != 0 {
			t.Fatalf("app container joining the sandbox: %s", r)
		}
		shared := strings.Contains(r.Stdout, " "+uidMapBase(t, pause)+" ")
		mqueue := strings.Contains(r.Stdout, " /dev/mqueue mqueue ")
		if l.Name == "runc-1.1" {
			// runc 1.1 joins the user namespace first and then cannot
			// join the host-owned netns: the app container gets its own
			// user namespace, and the sandbox's IPC namespace is foreign.
			if shared || mqueue {
				t.Errorf("runc 1.1: shared range %v, mqueue mounted %v, want neither: %q", shared, mqueue, r.Stdout)
			}
		} else if !shared || !mqueue {
			t.Errorf("shared range %v, mqueue of the owned IPC namespace %v, want both: %q", shared, mqueue, r.Stdout)
		}
		if !bindOfSys(r.Config) {
			t.Errorf("sysfs of a host-owned netns not replaced by a bind")
		}
	})
}

func bindOfSys(s *specs.Spec) bool {
	if s == nil {
		return false
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" {
			return m.Type == "bind" && m.Source == "/sys"
		}
	}
	return false
}

// TestUsernsForeignIPC is issue 16 bug 3: an IPC namespace joined by path
// and owned by another user namespace gets no bind of the host's
// /dev/mqueue; the mqueue mount is dropped with a recorded change and the
// container starts.
func TestUsernsForeignIPC(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		ipc := startUnshared(t, "--ipc")
		r := h.run(t, l, "default", func(s *specs.Spec) {
			s.Linux.Namespaces = append(withoutNS(s.Linux.Namespaces, specs.IPCNamespace),
				specs.LinuxNamespace{Type: specs.IPCNamespace, Path: fmt.Sprintf("/proc/%d/ns/ipc", ipc)})
		}, "sh", "-c", "grep -c mqueue /proc/self/mounts; echo CONTAINER-RAN")
		if r.Code != 0 || !strings.Contains(r.Stdout, "CONTAINER-RAN") {
			t.Fatalf("run: %s", r)
		}
		if !strings.HasPrefix(r.Stdout, "0\n") {
			t.Errorf("an mqueue mount inside a container of a foreign IPC namespace: %q", r.Stdout)
		}
		for _, m := range r.Config.Mounts {
			if m.Destination == "/dev/mqueue" {
				t.Errorf("/dev/mqueue still in the spec: %+v", m)
			}
		}
	})
}

// TestUsernsCallerMappingNoMountPoints is issue 16 bug 4: a rootfs without
// /tmp, /run and /var, with the caller's uidMappings 0->1000 (2000 IDs),
// starts as it does under plain runc.
func TestUsernsCallerMappingNoMountPoints(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2000}}
			s.Linux.GIDMappings = s.Linux.UIDMappings
		}, "sh", "-c", "echo ok > /tmp/x && cat /tmp/x /proc/self/uid_map")
		for _, d := range []string{"tmp", "run", "var"} {
			if err := os.RemoveAll(filepath.Join(bundle, "rootfs", d)); err != nil {
				t.Fatal(err)
			}
		}
		r := h.hardenedRunc(t, l, "--root", h.StateRoot, "run", "--bundle", bundle, id)
		h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "ok\n") {
			t.Fatalf("run: %s", r)
		}
		if f := strings.Fields(r.Stdout); len(f) < 3 || f[2] == "1000" {
			t.Errorf("the caller's mapping 0->1000 was kept: %q", r.Stdout)
		}
	})
}

// TestUsernsForeignNetSysctls: a pod sandbox as containerd 2.x makes it
// joins a network namespace created in the host's user namespace and sets
// net.ipv4.ip_unprivileged_port_start and ping_group_range. runc cannot
// write those from the container's own user namespace (every pod failed
// with EACCES); hardened-runc writes them in that namespace itself, and the
// container sees them.
func TestUsernsForeignNetSysctls(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		cni := startUnshared(t, "--net")
		r := h.run(t, l, "default", func(s *specs.Spec) {
			s.Linux.Namespaces = append(withoutNS(s.Linux.Namespaces, specs.NetworkNamespace),
				specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: fmt.Sprintf("/proc/%d/ns/net", cni)})
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}
		}, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
		if r.Code != 0 {
			t.Fatalf("sandbox with net sysctls in a host-owned netns: %s", r)
		}
		if got := strings.TrimSpace(r.Stdout); got != "0" {
			t.Errorf("ip_unprivileged_port_start inside the container: %q, want 0 (the default is 1024)", got)
		}
		// The group range is shown through the reader's user namespace,
		// where the host's gids are unmapped: read it from the host.
		out, err := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", cni), "cat", "/proc/sys/net/ipv4/ping_group_range").Output()
		if f := strings.Fields(string(out)); err != nil || len(f) != 2 || f[0] != "0" || f[1] != "2147483647" {
			t.Errorf("ping_group_range of the pod's netns: %q (%v), want 0 2147483647", out, err)
		}
	})
}

// TestUsernsPodSharedPID: an app container joining the sandbox's PID
// namespace as containerd 1.6 makes it (pid, ipc, uts and net by
// /proc/<pause>/ns/*, the sandbox in a host-owned CNI netns). On runc 1.1
// the app container gets its own user namespace (runc 1.1 could not join
// the sandbox's and then the host-owned netns), which may not mount procfs
// for the sandbox's PID namespace: its /proc is the sandbox's, bound. On
// runc 1.5 it shares the sandbox's user namespace and mounts its own. Both
// see the sandbox's process as PID 1.
func TestUsernsPodSharedPID(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		pause := podSandbox(t, h, l)
		r := h.run(t, l, "default", joinPod(pause, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.PIDNamespace), "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; grep -c . /proc/self/status")
		if r.Code != 0 {
			t.Fatalf("app container sharing the sandbox's PID namespace: %s", r)
		}
		// PID 1 is the sandbox's process: its init, still waiting to exec
		// (runc init, or crun create), never the app's own shell.
		if first, _, _ := strings.Cut(r.Stdout, "\n"); !strings.Contains(first, "runc init") && !strings.Contains(first, "crun") && !strings.HasPrefix(first, "sleep 300") {
			t.Errorf("PID 1 seen from the app container: %q, want the sandbox's process", r.Stdout)
		}
	})
}

// podSandbox creates a pod sandbox as containerd does: a sleeping container
// in its own user namespace, in a network namespace the host's user
// namespace owns (a CNI netns). It returns the sandbox's pid.
func podSandbox(t *testing.T, h *Harness, l Lower) int {
	t.Helper()
	cni := startUnshared(t, "--net")
	_, pause := createSleeper(t, h, l, func(s *specs.Spec) {
		s.Linux.Namespaces = append(withoutNS(s.Linux.Namespaces, specs.NetworkNamespace),
			specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: fmt.Sprintf("/proc/%d/ns/net", cni)})
	})
	return pause
}

// joinPod makes an app container's spec join the sandbox's namespaces of
// the given types through /proc/<pause>/ns/*, as containerd writes it.
func joinPod(pause int, types ...specs.LinuxNamespaceType) func(*specs.Spec) {
	file := map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.PIDNamespace: "pid"}
	return func(s *specs.Spec) {
		for i, n := range s.Linux.Namespaces {
			if slices.Contains(types, n.Type) {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/%s", pause, file[n.Type])
			}
		}
	}
}

// TestUsernsPodExec: exec into a pod's app container. runc 1.5 joins the
// sandbox's user namespace and its namespaces; runc 1.1 cannot (it joins
// the user namespace first, then may not join the host-owned CNI network
// namespace) and would only say "error executing setns process":
// hardened-runc names the limitation and the fix instead.
func TestUsernsPodExec(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		pause := podSandbox(t, h, l)
		id, _ := createSleeper(t, h, l, joinPod(pause, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace))
		if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "start", id); r.Code != 0 {
			t.Fatalf("start: %s", r)
		}
		r := h.hardenedRunc(t, l, "--root", h.StateRoot, "exec", id, "echo", "EXEC-RAN")
		if l.Name == "runc-1.1" {
			if r.Code == 0 || !strings.Contains(r.Stderr, "cannot exec into this container") || !strings.Contains(r.Stderr, "runc >= 1.2") {
				t.Errorf("runc 1.1: exec into a pod container: want the limitation named, got %s", r)
			}
			return
		}
		if r.Code != 0 || !strings.Contains(r.Stdout, "EXEC-RAN") {
			t.Errorf("exec into a pod container: %s", r)
		}
	})
}

// TestUsernsPodBindsLowPort: a web server in a pod's app container binds
// port 80. The profile grants NET_BIND_SERVICE, but that capability counts
// in the user namespace that owns the network namespace, and a pod's CNI
// namespace is the host's: hardened-runc opens the pod's low ports instead.
func TestUsernsPodBindsLowPort(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		pause := podSandbox(t, h, l)
		r := h.run(t, l, "default", joinPod(pause, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace),
			"sh", "-c", "httpd -p 80 -h /www && echo BOUND")
		if r.Code != 0 || !strings.Contains(r.Stdout, "BOUND") {
			t.Errorf("httpd on port 80 in a pod: %s", r)
		}
	})
}
