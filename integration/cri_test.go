//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The Kubernetes path without a cluster: Debian's containerd with its CRI
// plugin, the runtime handlers written by `hardenctl runtime configure`,
// driven through the CRI API the kubelet uses.

const (
	criBusyboxImage = "docker.io/library/hr-busybox:test"
	criPauseImage   = "docker.io/library/hr-pause:test"
	// criProfileAnnotation is a pod annotation the test's [[select]] rule
	// matches; containerd passes it on because configure lists
	// "hardened-runc.io/*" in the handler's pod_annotations.
	criProfileAnnotation = "hardened-runc.io/profile"
)

// containerdInstance is a private containerd: its own root, state, socket
// and config under the test's directory.
type containerdInstance struct {
	dir, config, socket, state string
	build                      containerdBuild
	cmd                        *exec.Cmd
	log                        *os.File
}

// containerdBuild is one containerd to test: Debian's 1.6 from PATH, or
// 2.x built from the Go module proxy by scripts/deps.sh into Dir
// (HR_CONTAINERD2, default /opt/hardened-runc-test/containerd-2), with
// its own ctr and runc shim.
type containerdBuild struct {
	Name string // "containerd-1.6", "containerd-2"
	Dir  string // "" = PATH
}

func (b containerdBuild) bin(name string) string {
	if b.Dir == "" {
		return name
	}
	return filepath.Join(b.Dir, name)
}

// v2 reports a containerd 2.x: config version 3, CRI split into the
// io.containerd.cri.v1.images and io.containerd.cri.v1.runtime plugins.
func (b containerdBuild) v2() bool { return b.Dir != "" }

// containerdBuilds returns the containerds to test: Debian's always, 2.x
// where it is built, with the reason printed where not.
func containerdBuilds(t *testing.T) []containerdBuild {
	t.Helper()
	builds := []containerdBuild{{Name: "containerd-1.6"}}
	dir := envOr("HR_CONTAINERD2", "/opt/hardened-runc-test/containerd-2")
	for _, f := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Logf("SKIP containerd 2.x: %s missing (`make deps` builds it from the Go module proxy)", filepath.Join(dir, f))
			return builds
		}
	}
	return append(builds, containerdBuild{Name: "containerd-2", Dir: dir})
}

// skipOldCrunOnContainerd2 skips a crun without `features` (before 1.9)
// under containerd 2.x: containerd 2.x writes runtime-spec 1.2 configs and
// crun 1.8.1 refuses them ("unknown version specified"), with or without
// hardened-runc.
func skipOldCrunOnContainerd2(t *testing.T, b containerdBuild, l Lower) {
	t.Helper()
	if !b.v2() || l.Name != "crun" {
		return
	}
	if err := exec.Command(l.Path, "features").Run(); err != nil {
		t.Skip("SKIP: this crun (no `features` verb, before 1.9) refuses the runtime-spec 1.2 configs containerd 2.x writes (\"unknown version specified\"), with or without hardened-runc")
	}
}

// forEachContainerd runs f as a subtest for every containerd build.
func forEachContainerd(t *testing.T, f func(t *testing.T, b containerdBuild)) {
	for _, b := range containerdBuilds(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := os.Stat(tool); err == nil {
			continue
		}
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s not installed (apt-get install containerd containernetworking-plugins)", tool)
		}
	}
}

// handlerFor is the runtime handler (RuntimeClass handler) for a lower.
func handlerFor(l Lower) string {
	if l.Name == "runc-1.1" {
		return "hardened"
	}
	return "hardened-" + strings.ReplaceAll(strings.TrimPrefix(l.Name, "runc-"), ".", "")
}

// startContainerd writes containerd's default config, points it at dir,
// lets hardenctl add one handler per lower runtime, and starts it.
func startContainerd(t *testing.T, h *Harness, profile string, b containerdBuild) *containerdInstance {
	t.Helper()
	requireTools(t, b.bin("containerd"), b.bin("ctr"), "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
	c := &containerdInstance{dir: filepath.Join(h.Dir, b.Name), build: b}
	c.config = filepath.Join(c.dir, "config.toml")
	c.socket = filepath.Join(c.dir, "containerd.sock")
	c.state = filepath.Join(c.dir, "state")
	for _, d := range []string{c.dir, filepath.Join(c.dir, "cni"), filepath.Join(c.dir, "logs")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(b.bin("containerd"), "config", "default").Output()
	if err != nil {
		t.Fatalf("containerd config default: %v", err)
	}
	cfg := map[string]any{}
	if err := toml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	set := func(v any, path ...string) {
		m := cfg
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[path[len(path)-1]] = v
	}
	set(filepath.Join(c.dir, "root"), "root")
	set(c.state, "state")
	if v, _ := cfg["version"].(int64); v >= 4 {
		// Version 4 (containerd 2.3+) moved the servers into plugins.
		set(c.socket, "plugins", "io.containerd.server.v1.grpc", "address")
		set(filepath.Join(c.dir, "ttrpc.sock"), "plugins", "io.containerd.server.v1.ttrpc", "address")
	} else {
		set(c.socket, "grpc", "address")
		set(filepath.Join(c.dir, "ttrpc.sock"), "ttrpc", "address")
	}
	// 2.x's default imports the host's /etc/containerd/conf.d/*.toml.
	set([]any{}, "imports")
	set(filepath.Join(c.dir, "opt"), "plugins", "io.containerd.internal.v1.opt", "path")
	// CRI asks oom_score_adj -998 for sandboxes; root without
	// CAP_SYS_RESOURCE (this CI VM) cannot lower it and runc fails. The
	// default profile raises it to 0 anyway; a profile with mode "off"
	// passes it on, so containerd clamps it here.
	restrictOOM := !hasCapSysResource()
	if b.v2() {
		images := []string{"plugins", "io.containerd.cri.v1.images"}
		runtime := []string{"plugins", "io.containerd.cri.v1.runtime"}
		set(restrictOOM, append(runtime, "restrict_oom_score_adj")...)
		set(criPauseImage, append(images, "pinned_images", "sandbox")...)
		set([]any{"/usr/lib/cni"}, append(runtime, "cni", "bin_dirs")...)
		set(filepath.Join(c.dir, "cni"), append(runtime, "cni", "conf_dir")...)
		// NRI's socket is per host by default: one of its own.
		set(filepath.Join(c.dir, "nri.sock"), "plugins", "io.containerd.nri.v1.nri", "socket_path")
		// The streaming server would listen on a fixed port otherwise.
		set("0", "plugins", "io.containerd.grpc.v1.cri", "stream_server_port")
	} else {
		cri := []string{"plugins", "io.containerd.grpc.v1.cri"}
		set(restrictOOM, append(cri, "restrict_oom_score_adj")...)
		set(criPauseImage, append(cri, "sandbox_image")...)
		set("/usr/lib/cni", append(cri, "cni", "bin_dir")...)
		set(filepath.Join(c.dir, "cni"), append(cri, "cni", "conf_dir")...)
		set("0", append(cri, "stream_server_port")...)
	}
	// No image is pulled: both come from `ctr images import`.
	set([]any{"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"}, "disabled_plugins")
	data, err := toml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.config, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// The handlers come from the product's own configure command.
	for _, l := range lowers(t) {
		wrapper := filepath.Join(c.dir, "hardened-runc-"+l.Name)
		script := fmt.Sprintf("#!/bin/sh\nexport HARDENED_RUNC_CONFIG=%q\nexec %q \"$@\"\n", h.configFor(l, profile), filepath.Join(env.bin, "hardened-runc"))
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, time.Minute, nil, nil, filepath.Join(env.bin, "hardenctl"), "runtime", "configure",
			"--runtime", "containerd", "--config", c.config, "--runtime-name", handlerFor(l), "--runtime-path", wrapper)
		if r.Code != 0 {
			t.Fatalf("hardenctl runtime configure: %s", r)
		}
		t.Logf("hardenctl runtime configure --runtime-name %s: %s", handlerFor(l), strings.TrimSpace(r.Stdout))
	}

	// CNI: a bridge with host-local addresses and no masquerading, so no
	// iptables rule is needed; the bridge is private to the test.
	subnet := 231
	if b.v2() {
		subnet = 233
	}
	bridge := fmt.Sprintf("hr%d-%d", subnet, os.Getpid()%100000)
	conflist := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "hr-test", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.%d.%d.0/24"}]], "dataDir": %q}},
  {"type": "loopback"}]}`, bridge, subnet, os.Getpid()%250, filepath.Join(c.dir, "ipam"))
	if err := os.WriteFile(filepath.Join(c.dir, "cni", "10-hr.conflist"), []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })

	c.log, err = os.Create(filepath.Join(c.dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(b.bin("containerd"), "--config", c.config, "--log-level", "debug")
	if b.Dir != "" {
		// containerd finds its shim in PATH: this build's own.
		c.cmd.Env = append(os.Environ(), "PATH="+b.Dir+":"+os.Getenv("PATH"))
	}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.Dial("unix", c.socket); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not start:\n%s", c.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

func (c *containerdInstance) logTail() string {
	data, _ := os.ReadFile(c.log.Name())
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// stop ends containerd and the shims it started (they are in containerd's
// process group only until they daemonize, so kill them by their socket
// directory too).
func (c *containerdInstance) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	// Shims of this instance carry its address on their command line.
	out, _ := exec.Command("pgrep", "-f", "containerd-shim-runc-v2 .*-address "+c.socket).Output()
	for _, pid := range strings.Fields(string(out)) {
		_ = exec.Command("kill", "-9", pid).Run()
	}
	unmountBelow(c.dir)
	c.log.Close()
}

func (c *containerdInstance) ctr(t *testing.T, args ...string) Result {
	t.Helper()
	return runCmd(t, 2*time.Minute, nil, nil, c.build.bin("ctr"), append([]string{"--address", c.socket}, args...)...)
}

// importImages imports a busybox image and a pause-like image (the same
// layer, `sleep` as its command) into namespace ns.
func (c *containerdInstance) importImages(t *testing.T, ns string) {
	t.Helper()
	for name, cmd := range map[string][]string{
		criBusyboxImage: {"/bin/sh"},
		criPauseImage:   {"/bin/sleep", "1000000"},
	} {
		tarPath := filepath.Join(c.dir, strings.NewReplacer("/", "_", ":", "_").Replace(name)+".tar")
		if err := writeOCIArchive(tarPath, env.rootfs, name, cmd); err != nil {
			t.Fatalf("build image %s: %v", name, err)
		}
		if r := c.ctr(t, "-n", ns, "images", "import", tarPath); r.Code != 0 {
			t.Fatalf("ctr images import %s: %s", name, r)
		}
	}
}

// writeOCIArchive writes an OCI image layout tarball (oci-layout,
// index.json, blobs) with one uncompressed layer made from rootfs: the
// format `ctr images import` reads. The image is named by the
// io.containerd.image.name annotation.
func writeOCIArchive(path, rootfs, name string, cmd []string) error {
	layer, err := tarDir(rootfs)
	if err != nil {
		return err
	}
	layerDigest := digestOf(layer)
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": cmd, "Env": []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": len(layer)}},
	})
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digestOf(manifest), "size": len(manifest),
			"platform":    map[string]string{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]string{"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name[strings.LastIndex(name, ":")+1:]},
		}},
	})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", index)
	for _, blob := range [][]byte{layer, config, manifest} {
		add("blobs/sha256/"+strings.TrimPrefix(digestOf(blob), "sha256:"), blob)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// tarDir archives dir with its modes, owners and symlinks.
func tarDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = tw.Close()
	return buf.Bytes(), err
}

func criClient(t *testing.T, socket string) runtimeapi.RuntimeServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn)
}

// criBaseProfile is what every CRI test container gets. The user
// namespace is off because this host has no subordinate-ID entry for
// hardened-runc (the userns tests cover it). process.nofile stays at the
// test process's hard limit: CRI sends no RLIMIT_NOFILE, the default
// profile then asks for 1048576, and raising a hard limit needs
// CAP_SYS_RESOURCE, which root on some hosts (this CI VM) lacks.
const criBaseProfile = `extends = "default"
[userns]
mode = "disabled"
[process]
nofile = 1024
`

// criProfile is selected by the pod annotation: a capability set no other
// profile has (only NET_BIND_SERVICE), so the container shows which
// profile it ran under, and a read-only root (the default audits it).
const criProfile = `extends = "cri-base"
description = "CRI test: selected by pod annotation"
[capabilities]
allow = ["NET_BIND_SERVICE"]
[rootfs]
readonly = "enforce"
`

func TestCRIRuntimeHandler(t *testing.T) {
	forEachContainerd(t, testCRIRuntimeHandler)
}

func testCRIRuntimeHandler(t *testing.T, b containerdBuild) {
	h := newHarness(t)
	h.writeProfile("cri-base", criBaseProfile)
	h.writeProfile("cri-test", criProfile)
	h.setConfig(fmt.Sprintf("[[select]]\nprofile = \"cri-test\"\nannotations = { %q = \"cri-test\" }\n", criProfileAnnotation))
	c := startContainerd(t, h, "cri-base", b)
	c.importImages(t, "k8s.io")
	rt := criClient(t, c.socket)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("CRI Version: %v\n%s", err, c.logTail())
	}

	forEachLower(t, func(t *testing.T, l Lower) {
		skipOldCrunOnContainerd2(t, b, l)
		handler := handlerFor(l)
		podName := "hr-pod-" + handler
		sandboxCfg := &runtimeapi.PodSandboxConfig{
			Metadata:     &runtimeapi.PodSandboxMetadata{Name: podName, Namespace: "hr-test", Uid: "uid-" + handler},
			Hostname:     "hr-pod",
			LogDirectory: filepath.Join(c.dir, "logs", handler),
			Annotations:  map[string]string{criProfileAnnotation: "cri-test"},
			Linux:        &runtimeapi.LinuxPodSandboxConfig{},
		}
		pod, ctr := startPodApp(ctx, t, rt, c, handler, sandboxCfg, &runtimeapi.LinuxContainerConfig{})

		// Inside the container: the profile the annotation selected.
		res, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"cat", "/proc/self/status"}, Timeout: 30})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("ExecSync cat /proc/self/status: %v %+v", err, res)
		}
		status := string(res.Stdout)
		// NET_BIND_SERVICE is bit 10.
		if got := statusField(status, "CapBnd"); got != "0000000000000400" {
			t.Errorf("CapBnd = %s, want 0000000000000400 (profile cri-test, selected by the pod annotation)", got)
		}
		if got := statusField(status, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs = %s, want 1", got)
		}
		if got := statusField(status, "Seccomp"); got != "2" {
			t.Errorf("Seccomp = %s, want 2 (filter)", got)
		}
		res, err = rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"touch", "/written"}, Timeout: 30})
		if err != nil || res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "Read-only file system") {
			t.Errorf("touch /written on the root filesystem: err=%v exit=%d stderr=%q, want EROFS", err, res.GetExitCode(), res.GetStderr())
		}

		// The pause container ran through the same handler: containerd
		// recorded it with the handler's name.
		st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
		if err != nil || st.Status.RuntimeHandler != handler {
			t.Errorf("PodSandboxStatus: %v, handler %q", err, st.GetStatus().GetRuntimeHandler())
		}

		// The pod's annotations reached the hardened spec and the forensic
		// record of the container.
		bundle := filepath.Join(c.state, "io.containerd.runtime.v2.task", "k8s.io", ctr)
		spec := readSpec(t, bundle)
		if spec.Annotations[criProfileAnnotation] != "cri-test" || spec.Annotations["io.kubernetes.cri.sandbox-namespace"] != "hr-test" {
			t.Errorf("bundle annotations: %v", spec.Annotations)
		}
		if spec.Root == nil || !spec.Root.Readonly {
			t.Errorf("bundle spec root not read-only: %+v", spec.Root)
		}
		checkForensicPod(t, h, l, ctr, "hr-test/"+podName)
	})
}

// checkForensicPod asserts that `hardenctl forensics list --pod` finds the
// container's create record with the pod's identity and the profile the
// annotation selected.
func checkForensicPod(t *testing.T, h *Harness, l Lower, id, pod string) {
	t.Helper()
	// --dir: the harness config for hardenctl selects "default", against
	// which the test's annotation-selected profile is weaker (no user
	// namespace), so that config is refused; the store is all it needs.
	r := h.hardenctl(t, l, "forensics", "list", "--dir", h.Forensics, "--output", "json", "--pod", pod)
	if r.Code != 0 {
		t.Errorf("hardenctl forensics list --pod %s: %s", pod, r)
		return
	}
	var records []struct {
		Verb        string `json:"verb"`
		ContainerID string `json:"container_id"`
		Engine      *struct {
			PodNamespace string `json:"pod_namespace"`
			PodName      string `json:"pod_name"`
		} `json:"engine"`
		Profile *struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &records); err != nil {
		t.Errorf("forensics list output: %v\n%s", err, r.Stdout)
		return
	}
	for _, rec := range records {
		if rec.ContainerID == id && rec.Verb == "create" {
			if rec.Engine == nil || rec.Engine.PodNamespace+"/"+rec.Engine.PodName != pod {
				t.Errorf("record engine = %+v, want pod %s", rec.Engine, pod)
			}
			if rec.Profile == nil || rec.Profile.Name != "cri-test" {
				t.Errorf("record profile = %+v, want cri-test", rec.Profile)
			}
			return
		}
	}
	t.Errorf("no create record of container %s for pod %s in:\n%s", id, pod, r.Stdout)
}

// A plain containerd task (no CRI): `ctr run` with the runc shim told to
// use hardened-runc as its runc binary, for each lower.
func TestCtrRunRuncBinary(t *testing.T) {
	forEachContainerd(t, testCtrRunRuncBinary)
}

func testCtrRunRuncBinary(t *testing.T, b containerdBuild) {
	h := newHarness(t)
	h.writeProfile("ctr-test", criBaseProfile)
	c := startContainerd(t, h, "ctr-test", b)
	c.importImages(t, "hr")
	forEachLower(t, func(t *testing.T, l Lower) {
		skipOldCrunOnContainerd2(t, b, l)
		wrapper := filepath.Join(c.dir, "hardened-runc-"+l.Name)
		id := "hr-ctr-" + strings.ReplaceAll(l.Name, ".", "")
		r := c.ctr(t, "-n", "hr", "run", "--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary", wrapper,
			criBusyboxImage, id, "cat", "/proc/self/status")
		if r.Code != 0 {
			t.Fatalf("ctr run: %s\n%s", r, c.logTail())
		}
		if got := statusField(r.Stdout, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs = %q, want 1\n%s", got, r.Stdout)
		}
		if got := statusField(r.Stdout, "Seccomp"); got != "2" {
			t.Errorf("Seccomp = %q, want 2", got)
		}
		// ctr's default spec grants Docker's capability set; the default
		// profile keeps 7 of them (CHOWN DAC_OVERRIDE FOWNER KILL SETGID
		// SETUID NET_BIND_SERVICE = bits 0,1,3,5,6,7,10).
		if got := statusField(r.Stdout, "CapBnd"); got != "00000000000004eb" {
			t.Errorf("CapBnd = %q, want 00000000000004eb (default profile)", got)
		}
	})
}

// criUsernsHost is the host range of the pod's own user namespace in
// TestCRIUserNamespacePod: 65536-aligned as the kubelet allocates, and
// clear of hardened-runc's built-in pool (from 2^30).
const criUsernsHost = 40 * 65536

// A pod with `hostUsers: false`: the kubelet sends user namespace mode POD
// with mappings from its own /etc/subuid range ("kubelet"), and containerd
// 2.x sets up the namespace and the idmapped rootfs. A caller's mapping is
// kept only inside a range a profile trusts (userns.trusted_subid_users),
// so the node's profile trusts the kubelet's range: hardened-runc keeps the
// mapping (the engine owns the rootfs it prepared for it) and confines the
// pod as usual. Without that trust the mapping would be replaced with a
// range of hardened-runc's own (bypass #6; TestBypassUserns).
func TestCRIUserNamespacePod(t *testing.T) {
	forEachContainerd(t, func(t *testing.T, b containerdBuild) {
		if !b.v2() {
			t.Skip("SKIP: containerd 1.6 has no CRI user namespaces (containerd 2.x does)")
		}
		h := newHarness(t)
		// The default profile (the user namespace modifier on), without
		// the RLIMIT_NOFILE/NPROC it adds where a spec has none: runc sets
		// those with prlimit(2) on its child in the pod's user namespace,
		// which containerd created, and that needs CAP_SYS_RESOURCE, which
		// root on this CI VM lacks (see criBaseProfile). Hosts where root
		// has it run the default profile unchanged.
		h.writeProfile("cri-userns", "extends = \"default\"\n[process]\nnofile = 0\nnproc = 0\n[userns]\ntrusted_subid_users = [\"kubelet\"]\n")
		trustKubeletRange(t, criUsernsHost, 65536)
		c := startContainerd(t, h, "cri-userns", b)
		c.importImages(t, "k8s.io")
		rt := criClient(t, c.socket)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		ids := []*runtimeapi.IDMapping{{HostId: criUsernsHost, ContainerId: 0, Length: 65536}}
		userns := &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ids, Gids: ids}}
		forEachLower(t, func(t *testing.T, l Lower) {
			// containerd asks the runtime's `features` for idmapped mounts
			// (hardened-runc passes the verb to its lower runtime).
			if out, err := exec.Command(l.Path, "features").Output(); err != nil || !strings.Contains(string(out), `"idmap"`) {
				t.Skipf("SKIP: %s reports no idmapped mounts in `features` (containerd 2.x refuses user namespace pods without them): %v", l.Name, err)
			}
			handler := handlerFor(l)
			sandboxCfg := &runtimeapi.PodSandboxConfig{
				Metadata:     &runtimeapi.PodSandboxMetadata{Name: "hr-userns-" + handler, Namespace: "hr-test", Uid: "uid-userns-" + handler},
				LogDirectory: filepath.Join(c.dir, "logs", "userns-"+handler),
				Linux:        &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: userns}},
			}
			_, ctr := startPodApp(ctx, t, rt, c, handler, sandboxCfg,
				&runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: userns}})
			res, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Timeout: 30,
				Cmd: []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; stat -c owner=%u /bin/busybox; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"}})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("ExecSync: %v %+v", err, res)
			}
			out := string(res.Stdout)
			want := fmt.Sprintf("0 %d 65536", criUsernsHost)
			if maps := strings.Fields(out); len(maps) < 6 || strings.Join(maps[0:3], " ") != want || strings.Join(maps[3:6], " ") != want {
				t.Errorf("uid/gid maps %q, want the pod's own %q kept", out, want)
			}
			if !strings.Contains(out, "owner=0") {
				t.Errorf("image files not owned by root inside (containerd's idmapped rootfs): %q", out)
			}
			if statusField(out, "NoNewPrivs") != "1" || statusField(out, "Seccomp") != "2" {
				t.Errorf("pod with its own user namespace not confined: %q", out)
			}
			spec := readSpec(t, filepath.Join(c.state, "io.containerd.runtime.v2.task", "k8s.io", ctr))
			if spec.Linux == nil || len(spec.Linux.UIDMappings) != 1 || spec.Linux.UIDMappings[0].HostID != criUsernsHost {
				t.Errorf("hardened spec mappings %+v, want containerd's %d kept", spec.Linux.UIDMappings, criUsernsHost)
			}
		})
	})
}

// trustKubeletRange gives the user "kubelet" the host range [start,
// start+n) in /etc/subuid and /etc/subgid until the test ends, as a node
// running user-namespaced pods has it (the kubelet allocates pod ranges
// from it).
func trustKubeletRange(t *testing.T, start, n int) {
	t.Helper()
	line := fmt.Sprintf("kubelet:%d:%d\n", start, n)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		old, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(old), "\nkubelet:") || strings.HasPrefix(string(old), "kubelet:") {
			t.Fatalf("%s already has a kubelet entry: this test would change a real node's", f)
		}
		body := string(old)
		if body != "" && !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		if err := os.WriteFile(f, []byte(body+line), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.WriteFile(f, old, 0o644); err != nil {
				t.Errorf("restore %s: %v", f, err)
			}
		})
	}
}

// startPodApp runs a pod sandbox under handler and starts an app container
// ("app", busybox sleeping) in it with the given Linux config; the pod is
// stopped and removed when the test ends. It returns the pod's and the
// container's ids.
func startPodApp(ctx context.Context, t *testing.T, rt runtimeapi.RuntimeServiceClient, c *containerdInstance, handler string,
	sandboxCfg *runtimeapi.PodSandboxConfig, linux *runtimeapi.LinuxContainerConfig) (pod, ctr string) {
	t.Helper()
	p, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxCfg, RuntimeHandler: handler})
	if err != nil {
		t.Fatalf("RunPodSandbox(handler %s): %v\n%s", handler, err, c.logTail())
	}
	t.Cleanup(func() {
		_, _ = rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.PodSandboxId})
		_, _ = rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.PodSandboxId})
	})
	cr, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  p.PodSandboxId,
		SandboxConfig: sandboxCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: criBusyboxImage},
			Command:  []string{"/bin/sleep", "1000000"},
			LogPath:  "app.log",
			Linux:    linux,
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v\n%s", err, c.logTail())
	}
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v\n%s", err, c.logTail())
	}
	return p.PodSandboxId, cr.ContainerId
}

// hasCapSysResource reports whether this process may raise limits and
// lower oom_score_adj (CAP_SYS_RESOURCE, bit 24 of CapEff).
func hasCapSysResource() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	v, err := strconv.ParseUint(statusField(string(data), "CapEff"), 16, 64)
	return err == nil && v&(1<<24) != 0
}

// unmountBelow lazily unmounts every mount below dir, deepest first: pods
// containerd had not removed leave their rootfs and shm mounts, and
// hardened-runc its idmapped root filesystems. dir itself is not a mount
// point, so `umount -R dir` would leave them all.
func unmountBelow(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}
