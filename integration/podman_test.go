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
	"syscall"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// Rootful Podman (Debian 12: 4.3.1) with hardened-runc, both ways an admin
// would use it: `podman --runtime /path/to/hardened-runc` and the runtime
// named in [engine.runtimes] by `hardenctl runtime configure --runtime
// podman`. Podman runs with its own --root/--runroot/--tmpdir and its own
// containers.conf (CONTAINERS_CONF), inside a private mount namespace
// where /etc/subuid and /etc/subgid are the test's (a "containers" range
// for --userns=auto): the host's storage and ID files are not touched.

// podmanSubIDStart is the "containers" range of the test's subuid/subgid:
// clear of hardened-runc's built-in pool (from 2^30).
const (
	podmanSubIDStart = 300000
	podmanSubIDCount = 655360
)

// podmanEnv is one private Podman.
type podmanEnv struct {
	dir, conf string
	holder    *exec.Cmd // holds the private mount namespace
}

func startPodman(t *testing.T, h *Harness) *podmanEnv {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("SKIP: podman not installed (apt-get install podman, or `make deps`)")
	}
	// Podman refuses a runroot longer than 50 characters: a short
	// directory of its own, not under the harness's.
	dir, err := os.MkdirTemp("/var/tmp", "hrpod-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanEnv{dir: dir, conf: filepath.Join(dir, "containers.conf")}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "tmp"), 0o711); err != nil {
		t.Fatal(err)
	}
	// cgroupfs and file events: no systemd here. The ulimits: Podman asks
	// for RLIMIT_NOFILE 1048576 and RLIMIT_NPROC above this VM's hard
	// limits, and root here lacks CAP_SYS_RESOURCE, so runc alone fails
	// the same way without them.
	conf := `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
`
	ids := fmt.Sprintf("containers:%d:%d\n", podmanSubIDStart, podmanSubIDCount)
	for name, body := range map[string]string{"containers.conf": conf, "subuid": ids, "subgid": ids} {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("mount --bind %s /etc/subuid && mount --bind %s /etc/subgid && exec sleep infinity",
		filepath.Join(p.dir, "subuid"), filepath.Join(p.dir, "subgid"))
	p.holder = exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	p.holder.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.holder.Start(); err != nil {
		t.Fatalf("private mount namespace: %v", err)
	}
	t.Cleanup(p.stop(t))
	// Wait until the bind mounts are in place.
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/subuid", p.holder.Process.Pid))
		if strings.HasPrefix(string(data), "containers:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("private mount namespace for podman did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// stop removes every container, volume and image of this Podman, then
// ends the namespace (its mounts go with it).
func (p *podmanEnv) stop(t *testing.T) func() {
	return func() {
		p.run(t, "rm", "--all", "--force", "--time", "0")
		p.run(t, "volume", "rm", "--all", "--force")
		_ = p.holder.Process.Kill()
		_ = p.holder.Wait()
		unmountBelow(p.dir)
		if os.Getenv("HR_KEEP") == "" {
			_ = os.RemoveAll(p.dir)
		}
	}
}

// run runs podman with this instance's storage and configuration inside
// its mount namespace.
func (p *podmanEnv) run(t *testing.T, args ...string) Result {
	t.Helper()
	argv := append([]string{"--target", strconv.Itoa(p.holder.Process.Pid), "--mount", "--", "podman",
		"--root", filepath.Join(p.dir, "root"), "--runroot", filepath.Join(p.dir, "runroot"), "--tmpdir", filepath.Join(p.dir, "tmp")}, args...)
	return runCmd(t, 2*time.Minute, []string{"CONTAINERS_CONF=" + p.conf}, nil, "nsenter", argv...)
}

func (p *podmanEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	r := p.run(t, args...)
	if r.Code != 0 {
		t.Fatalf("podman %s: %s", strings.Join(args, " "), r)
	}
	return r.Stdout
}

const podmanImage = "localhost/hr-busybox:test"

// podmanProfile: the default profile, with Podman's named volumes
// idmapped by glob, and Podman's "containers" subordinate range trusted,
// as a host running Podman's --userns=auto sets it. hardened-runc
// recognises Docker's volumes/<name>/_data under the overlay2 root only;
// Podman's (containers/storage "overlay") are not idmapped by default, so
// the mapped root could not write them. A caller's mapping is kept only
// inside a trusted range (otherwise it is replaced, or denied where the
// engine built the root for it).
func podmanProfile(p *podmanEnv) string {
	return fmt.Sprintf("extends = \"default\"\n[userns]\nidmap_volumes = [%q]\ntrusted_subid_users = [\"containers\"]\n", filepath.Join(p.dir, "root", "volumes")+"/*")
}

func TestPodman(t *testing.T) {
	h := newHarness(t)
	p := startPodman(t, h)
	h.writeProfile("podman", podmanProfile(p))
	imp := exec.Command("sh", "-c", fmt.Sprintf("tar -C %s -c . | nsenter --target %d --mount -- podman --root %s --runroot %s --tmpdir %s import -c 'CMD [\"/bin/sh\"]' - %s",
		env.rootfs, p.holder.Process.Pid, filepath.Join(p.dir, "root"), filepath.Join(p.dir, "runroot"), filepath.Join(p.dir, "tmp"), podmanImage))
	imp.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("podman import: %v\n%s", err, out)
	}

	forEachLower(t, func(t *testing.T, l Lower) {
		wrapper := filepath.Join(p.dir, "hardened-runc-"+l.Name)
		script := fmt.Sprintf("#!/bin/sh\nexport HARDENED_RUNC_CONFIG=%q\nexec %q \"$@\"\n", h.configFor(l, "podman"), filepath.Join(env.bin, "hardened-runc"))
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		name := "hardened-" + strings.ReplaceAll(l.Name, ".", "")
		r := runCmd(t, time.Minute, nil, nil, filepath.Join(env.bin, "hardenctl"), "runtime", "configure",
			"--runtime", "podman", "--config", p.conf, "--runtime-name", name, "--runtime-path", wrapper)
		if r.Code != 0 {
			t.Fatalf("hardenctl runtime configure --runtime podman: %s", r)
		}
		for _, way := range []struct{ name, runtime string }{
			{"runtime-path", wrapper},
			{"engine-runtimes", name},
		} {
			t.Run(way.name, func(t *testing.T) { podmanLifecycle(t, h, p, l, way.runtime) })
		}
		t.Run("userns-auto", func(t *testing.T) { podmanUsernsAuto(t, p, name) })
		t.Run("mount-held-across-stop", func(t *testing.T) { podmanMountHeld(t, h, p, l, name) })
		t.Run("named-volume", func(t *testing.T) { podmanVolume(t, p, name) })
	})
}

// podmanLifecycle: run -d, exec, stop, rm through hardened-runc; the
// container and the exec'd process are hardened, and the forensic record
// of the container exists.
func podmanLifecycle(t *testing.T, h *Harness, p *podmanEnv, l Lower, runtime string) {
	ctr := fmt.Sprintf("hr-pod-%d", env.seq.Add(1))
	id := strings.TrimSpace(p.must(t, "run", "-d", "--name", ctr, "--runtime", runtime, podmanImage, "sleep", "1000"))
	defer p.run(t, "rm", "--force", "--time", "0", ctr)
	if st := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.Status}} {{.OCIRuntime}}", ctr)); st != "running "+runtime {
		t.Fatalf("after run -d: %q, want running under %s", st, runtime)
	}
	status := p.must(t, "exec", ctr, "cat", "/proc/self/status", "/proc/self/uid_map")
	assertHardenedStatus(t, status)
	if f := uidMapLine(status); len(f) != 3 || f[1] == "0" {
		t.Errorf("exec'd process: uid_map %q, want container root mapped to a non-root host range", f)
	}
	// The exec'd process holds the container's capabilities: an exec
	// judged without the container's spec (its state not found) is
	// clamped to nothing.
	if init := p.must(t, "exec", ctr, "cat", "/proc/1/status"); statusField(status, "CapEff") != statusField(init, "CapEff") {
		t.Errorf("exec'd process: CapEff %s, want the container's %s", statusField(status, "CapEff"), statusField(init, "CapEff"))
	}
	// The default profile audits the read-only root: container root writes
	// its own layer (through hardened-runc's in-place overlay on idmapped
	// lowers) and reads it back, owned by container root.
	podmanWriteRoot(t, p, ctr, "/written", "first")
	// Another container's create garbage-collects the ID ranges of
	// containers whose lower runtime has no state for them. Podman passes
	// crun no --root: when hardened-runc looked for crun's state in runc's
	// /run/runc, this create released the live container's range and put
	// the engine's overlay back under it (upper shifted back to container
	// IDs, host root 0 = unmapped inside), and exec had found no container
	// spec, so the exec'd root held no capabilities: "touch: /written:
	// Permission denied" over crun only. The first container must still
	// write its root after another one is created.
	other := ctr + "-other"
	p.must(t, "run", "--name", other, "--runtime", runtime, podmanImage, "true")
	p.must(t, "rm", other)
	podmanWriteRoot(t, p, ctr, "/etc/written", "second")
	// The privileged exec Podman sends for `exec --privileged` is clamped:
	// still the container's capabilities, never the full set.
	priv := p.must(t, "exec", "--privileged", ctr, "cat", "/proc/self/status")
	if got, want := statusField(priv, "CapEff"), statusField(status, "CapEff"); got != want {
		t.Errorf("exec --privileged: CapEff %s, want the container's %s", got, want)
	}
	p.must(t, "stop", "--time", "2", ctr)
	if st := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.Status}}", ctr)); st != "exited" {
		t.Errorf("after stop: %q", st)
	}
	p.must(t, "rm", ctr)
	if r := p.run(t, "inspect", ctr); r.Code == 0 {
		t.Errorf("container still there after rm")
	}
	rec := h.hardenctl(t, l, "forensics", "list", "--output", "json")
	if rec.Code != 0 || !strings.Contains(rec.Stdout, id) {
		t.Errorf("no forensic record of container %s: %s", id, rec)
	}
}

// podmanWriteRoot writes body to path inside the running container as its
// root and reads it back: the content, and the file, its directory and /
// owned by container root. stat reads the owners from the upper layer as
// it is now; a write alone can succeed on an overlay inode cached before
// the upper's owners changed under it.
func podmanWriteRoot(t *testing.T, p *podmanEnv, ctr, path, body string) {
	t.Helper()
	r := p.run(t, "exec", ctr, "sh", "-c", fmt.Sprintf("echo %s > %s && cat %s && stat -c owner=%%u / %s %s", body, path, path, filepath.Dir(path), path))
	want := body + "\nowner=0\nowner=0\nowner=0\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("write %s to the root filesystem and read it back (audited, not enforced): %s, want %q", path, r, want)
	}
}

// podmanUsernsAuto: --userns=auto is Podman's own user namespace, from
// the "containers" range; hardened-runc keeps it (it is not host root)
// and the container runs confined as usual.
func podmanUsernsAuto(t *testing.T, p *podmanEnv, runtime string) {
	out := p.must(t, "run", "--rm", "--userns=auto", "--runtime", runtime, podmanImage,
		"sh", "-c", "cat /proc/self/uid_map; stat -c owner=%u /bin/busybox; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status")
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "0" {
		t.Fatalf("uid_map: %q", out)
	}
	start, _ := strconv.Atoi(f[1])
	if start < podmanSubIDStart || start >= podmanSubIDStart+podmanSubIDCount {
		t.Errorf("uid_map %q: want Podman's own range from %d (the caller's namespace kept), got host start %d", out, podmanSubIDStart, start)
	}
	if !strings.Contains(out, "owner=0") {
		t.Errorf("image files not owned by root inside: %q", out)
	}
	if statusField(out, "NoNewPrivs") != "1" || statusField(out, "Seccomp") != "2" {
		t.Errorf("not confined under --userns=auto: %q", out)
	}
}

// podmanVolume: a named volume is written by one container and read by
// the next, both in their own user namespaces, and is owned by root on
// the host (idmapped, not chowned).
func podmanVolume(t *testing.T, p *podmanEnv, runtime string) {
	vol := fmt.Sprintf("hr-vol-%d", env.seq.Add(1))
	p.must(t, "volume", "create", vol)
	defer p.run(t, "volume", "rm", "--force", vol)
	// Not --rm: Podman mounts the rootfs of a --rm container "volatile",
	// which the idmapped rootfs cannot be re-mounted from (see
	// docs/podman.md).
	w, r := vol+"-w", vol+"-r"
	defer p.run(t, "rm", "--force", "--time", "0", w, r)
	p.must(t, "run", "--name", w, "--runtime", runtime, "-v", vol+":/data", podmanImage, "sh", "-c", "echo kept > /data/f")
	if out := p.must(t, "run", "--name", r, "--runtime", runtime, "-v", vol+":/data:ro", podmanImage, "sh", "-c", "cat /data/f; stat -c owner=%u /data/f"); out != "kept\nowner=0\n" {
		t.Errorf("second container reads %q, want kept, owned by root inside", out)
	}
	var vols []struct{ Mountpoint string }
	if err := json.Unmarshal([]byte(p.must(t, "volume", "inspect", vol)), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("volume inspect: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(vols[0].Mountpoint, "f"), &st); err != nil || st.Uid != 0 {
		t.Errorf("the file on the host: %v uid %d, want owned by host root (idmapped volume)", err, st.Uid)
	}
}

// podmanMountHeld: `podman mount` holds the container's root across a
// stop, so Podman does not unmount it, and hardened-runc's overlay, left
// for the engine at delete, stays there with the container's files. The
// next start replaces it as it does the engine's (Podman first chowns its
// root through it), and what the host wrote through it meanwhile belongs
// to container root; once Podman unmounts it, `hardenctl gc`, run from
// another mount namespace than Podman's, frees its range.
func podmanMountHeld(t *testing.T, h *Harness, p *podmanEnv, l Lower, runtime string) {
	ctr := fmt.Sprintf("hr-mnt-%d", env.seq.Add(1))
	p.must(t, "run", "-d", "--name", ctr, "--runtime", runtime, podmanImage, "sleep", "1000")
	defer p.run(t, "rm", "--force", "--time", "0", ctr)
	mp := strings.TrimSpace(p.must(t, "mount", ctr))
	defer p.run(t, "umount", "--force", ctr)
	podmanWriteRoot(t, p, ctr, "/etc/held", "first")
	p.must(t, "stop", "--time", "2", ctr)
	inNS := func(args ...string) Result {
		return runCmd(t, time.Minute, nil, nil, "nsenter", append([]string{"--target", strconv.Itoa(p.holder.Process.Pid), "--mount", "--"}, args...)...)
	}
	if r := inNS("cat", filepath.Join(mp, "etc", "held")); r.Code != 0 || r.Stdout != "first\n" {
		t.Errorf("the held mount after stop: %s, want the container's file", r)
	}
	if r := inNS("sh", "-c", "echo late > "+filepath.Join(mp, "etc", "late")); r.Code != 0 {
		t.Errorf("a write through the held mount after stop: %s", r)
	}
	p.must(t, "start", ctr)
	podmanWriteRoot(t, p, ctr, "/etc/held", "second")
	podmanWriteRoot(t, p, ctr, "/etc/late", "third")
	p.must(t, "stop", "--time", "2", ctr)
	p.must(t, "umount", ctr)
	if r := h.hardenctl(t, l, "gc"); r.Code != 0 {
		t.Fatalf("hardenctl gc: %s", r)
	}
	tab, err := userns.ReadTable(h.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, lingers := tab.LingeringAt(mp); lingers {
		t.Errorf("the range of the overlay at %s is still taken after podman umount and gc", mp)
	}
}

// uidMapLine returns the fields of the first "0 <host> <size>" line.
func uidMapLine(s string) []string {
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "0" {
			return f
		}
	}
	return nil
}
