//go:build integration

package integration

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// idmapRuntime registers a Docker runtime named name: hardened-runc over
// lower with profile as its default, and the crash hook
// (userns.KillAtEnv) read from killFile on every call, so a test can make
// one step of one call die. dockerd reloads its runtimes on SIGHUP.
func (d *Docker) idmapRuntime(t *testing.T, name, profile string, l Lower, killFile string) (runtime, config string) {
	t.Helper()
	cfg := filepath.Join(d.Dir, "config-"+name+".toml")
	body := fmt.Sprintf("runtime = %q\nprofiles_dir = %q\nforensics_dir = %q\nrun_dir = %q\nlog_level = \"info\"\ndefault_profile = %q\n",
		l.Path, d.Profiles, d.Forensics, d.RunDir, profile)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(d.Dir, "hardened-runc-"+name)
	script := fmt.Sprintf("#!/bin/sh\n%s=$(cat %s 2>/dev/null) HARDENED_RUNC_CONFIG=%s exec %s \"$@\"\n",
		userns.KillAtEnv, killFile, cfg, filepath.Join(env.bin, "hardened-runc"))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d.addRuntime(t, name, wrapper)
	return name, cfg
}

// addRuntime registers the runtime name (the program at path) with dockerd,
// as an admin would (`hardenctl runtime configure`), unless it has it; and
// waits until dockerd has reloaded its runtimes (SIGHUP).
func (d *Docker) addRuntime(t *testing.T, name, path string) {
	t.Helper()
	if info, _ := d.cli("info", "--format", "{{json .Runtimes}}"); strings.Contains(info, `"`+name+`"`) {
		return
	}
	r := runCmd(t, time.Minute, nil, nil, filepath.Join(env.bin, "hardenctl"), "runtime", "configure", "--runtime", "docker",
		"--engine-config", d.Config, "--runtime-name", name, "--runtime-path", path)
	if r.Code != 0 {
		t.Fatalf("hardenctl runtime configure: %s", r)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if info, _ := d.cli("info", "--format", "{{json .Runtimes}}"); strings.Contains(info, `"`+name+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd did not load runtime %s", name)
		}
	}
}

// tarFiles reads a tar stream into name → content (regular files) and
// name → "uid:gid".
func tarFiles(t *testing.T, data string) (content, owner map[string]string) {
	t.Helper()
	content, owner = map[string]string{}, map[string]string{}
	tr := tar.NewReader(strings.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		name := "/" + strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")
		name = strings.TrimSuffix(name, "/")
		owner[name] = fmt.Sprintf("%d:%d", h.Uid, h.Gid)
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			content[name] = string(b)
		}
	}
}

// rootObservation is what the engine and the container saw of one running
// container's root filesystem, written through both views.
type rootObservation struct {
	CpOut  map[string]string // docker cp out: path → content
	Inside string            // the container reading what docker cp wrote
	Diff   []string          // docker diff lines under /etc and /cpdir
	// DiffStopped is docker diff after stop.
	DiffStopped []string
	Export      map[string]string // docker export: path → content
	Commit      string            // a container of the committed image reading the files
	// Stopped is docker export after stop: path → uid:gid.
	Stopped map[string]string
	// Restarted is the container appending to its own file after a restart.
	Restarted string
}

// idmapScenario runs the scenario on runtime rt: the container writes to
// its root (when writable), the engine copies a file and a directory into
// it, and each side reads what the other wrote, while it runs; then the
// engine's diff, export and commit, and after stop, export and a restart.
func idmapScenario(t *testing.T, d *Docker, rt string, writable bool) rootObservation {
	t.Helper()
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "cpin.txt"), []byte("engine-wrote\n"), 0o644)
	os.MkdirAll(filepath.Join(host, "cpdir"), 0o755)
	os.WriteFile(filepath.Join(host, "cpdir", "f.txt"), []byte("engine-dir\n"), 0o644)

	r := d.Run(t, "run", "-d", "--runtime", rt, Image, "sh", "-c", "echo from-container > /etc/c.txt; sleep 300")
	if r.Code != 0 {
		t.Fatalf("docker run: %s", r)
	}
	id := strings.TrimSpace(r.Stdout)
	defer d.Run(t, "rm", "-f", id)
	waitRunning(t, d, id)
	var o rootObservation
	for _, cp := range [][2]string{{filepath.Join(host, "cpin.txt"), id + ":/etc/cpin.txt"}, {filepath.Join(host, "cpdir"), id + ":/cpdir"}} {
		if c := d.Run(t, "cp", cp[0], cp[1]); c.Code != 0 {
			t.Fatalf("docker cp %s %s: %s", cp[0], cp[1], c)
		}
	}
	o.Inside = d.Run(t, "exec", id, "cat", "/etc/cpin.txt", "/cpdir/f.txt").Stdout
	files := []string{"/etc/cpin.txt", "/cpdir/f.txt"}
	if writable {
		if c := d.Run(t, "exec", id, "sh", "-c", "echo late > /etc/late.txt"); c.Code != 0 {
			t.Errorf("container write after docker cp: %s", c)
		}
		files = append(files, "/etc/c.txt", "/etc/late.txt")
	}
	o.CpOut = map[string]string{}
	for _, f := range files {
		c := d.Run(t, "cp", id+":"+f, "-")
		if c.Code != 0 {
			t.Errorf("docker cp out %s: %s", f, c)
			continue
		}
		content, _ := tarFiles(t, c.Stdout)
		o.CpOut[f] = content["/"+filepath.Base(f)]
	}
	o.Diff = dockerDiff(t, d, id)
	ex := d.Run(t, "export", id)
	if ex.Code != 0 {
		t.Fatalf("docker export: %s", ex.Stderr)
	}
	all, _ := tarFiles(t, ex.Stdout)
	o.Export = map[string]string{}
	for _, f := range files {
		o.Export[f] = all[f]
	}
	img := "hr-idmap-commit-" + strings.ToLower(sanitize(t.Name()))
	if c := d.Run(t, "commit", id, img); c.Code != 0 {
		t.Fatalf("docker commit of the running container: %s", c)
	}
	defer d.Run(t, "rmi", "-f", img)
	o.Commit = d.Run(t, append([]string{"run", "--rm", "--runtime", "runc", img, "cat"}, files...)...).Stdout

	if c := d.Run(t, "stop", "-t", "1", id); c.Code != 0 {
		t.Fatalf("docker stop: %s", c)
	}
	o.DiffStopped = dockerDiff(t, d, id)
	ex = d.Run(t, "export", id)
	_, owners := tarFiles(t, ex.Stdout)
	o.Stopped = map[string]string{}
	for _, f := range append(files, "/etc", "/cpdir") {
		o.Stopped[f] = owners[f]
	}
	if writable {
		if c := d.Run(t, "start", id); c.Code != 0 {
			t.Fatalf("docker start after stop: %s", c)
		}
		o.Restarted = d.Run(t, "exec", id, "sh", "-c", "echo again >> /etc/c.txt && cat /etc/c.txt").Stdout
	}
	if c := d.Run(t, "rm", "-f", id); c.Code != 0 {
		t.Fatalf("docker rm: %s", c)
	}
	assertReleased(t, d.RunDir, id)
	return o
}

// dockerDiff is `docker diff` of id, the lines under /etc and /cpdir.
func dockerDiff(t *testing.T, d *Docker, id string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(d.Run(t, "diff", id).Stdout, "\n") {
		if f := strings.Fields(line); len(f) == 2 && (strings.HasPrefix(f[1], "/etc") || strings.HasPrefix(f[1], "/cpdir")) {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

func waitRunning(t *testing.T, d *Docker, id string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c := d.Run(t, "exec", id, "true"); c.Code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s not running: %s", id, d.Run(t, "logs", id))
		}
	}
}

// TestIdmapRootDocker: a running container under hardened-runc (default:
// writable root, audited; "readonly": the default with the read-only root
// enforced) and under plain runc, through
// the same dockerd: docker cp both ways, diff, export and commit of the
// running container agree on every file's content; after stop, the layer
// holds container IDs as under runc; a restarted container still owns what
// it wrote.
func TestIdmapRootDocker(t *testing.T) {
	d := docker(t)
	want := idmapScenario(t, d, "runc", true)
	if want.Inside != "engine-wrote\nengine-dir\n" || want.CpOut["/etc/c.txt"] != "from-container\n" {
		t.Fatalf("reference run under runc: %+v", want)
	}
	ro := "extends = \"default\"\n[rootfs]\nreadonly = \"enforce\"\n"
	if err := os.WriteFile(filepath.Join(d.Profiles, "readonly.toml"), []byte(ro), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		for _, profile := range []string{"default", "readonly"} {
			t.Run(profile, func(t *testing.T) {
				rt, _ := d.idmapRuntime(t, "idmap-"+profile+"-"+l.Name, profile, l, filepath.Join(d.Dir, "no-kill"))
				writable := profile != "readonly"
				got := idmapScenario(t, d, rt, writable)
				check := func(what string, got, want any) {
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s:\n got  %v\n want %v (runc)", what, got, want)
					}
				}
				check("container reads what docker cp wrote", got.Inside, want.Inside)
				for f, c := range got.CpOut {
					check("docker cp out "+f, c, want.CpOut[f])
				}
				for f, c := range got.Export {
					check("docker export "+f, c, want.Export[f])
				}
				check("docker commit", got.Commit, onlyLines(want.Commit, got.Commit))
				for f, ow := range got.Stopped {
					check("owner after stop of "+f, ow, want.Stopped[f])
				}
				wantDiff, wantStopped := want.Diff, want.DiffStopped
				if writable {
					check("restarted container appends to its own file", got.Restarted, want.Restarted)
				} else {
					wantDiff, wantStopped = withoutContainerWrites(wantDiff), withoutContainerWrites(wantStopped)
				}
				// After stop the layer holds container IDs: exactly runc's.
				check("docker diff after stop", got.DiffStopped, wantStopped)
				// While it runs, the engine sees the image's files owned
				// by the container's range: Docker's naive differ (used
				// when the kernel has overlay redirect_dir) lists them as
				// changed too. Every one of runc's lines is there, and the
				// extra ones are only "C" (see docs/userns.md).
				extra := map[string]bool{}
				for _, l := range got.Diff {
					extra[l] = true
				}
				for _, l := range wantDiff {
					if !extra[l] {
						t.Errorf("docker diff of the running container lacks %q (runc has it): %v", l, got.Diff)
					}
					delete(extra, l)
				}
				for l := range extra {
					if !strings.HasPrefix(l, "C ") {
						t.Errorf("docker diff of the running container has %q, runc does not", l)
					}
				}
			})
		}
	})
}

// onlyLines keeps the lines of want that got's files can have (a
// read-only root has no container-written files).
func onlyLines(want, got string) string {
	if strings.Count(got, "\n") >= strings.Count(want, "\n") {
		return want
	}
	return strings.Join(strings.SplitAfter(want, "\n")[:strings.Count(got, "\n")], "")
}

func withoutContainerWrites(diff []string) []string {
	var out []string
	for _, l := range diff {
		if !strings.HasSuffix(l, "/etc/c.txt") && !strings.HasSuffix(l, "/etc/late.txt") {
			out = append(out, l)
		}
	}
	return out
}

// TestIdmapRootKill: hardened-runc is SIGKILLed at every step of setting
// up (docker run) and tearing down (docker stop) the idmapped root
// (userns.KillAtEnv). Afterwards the engine can start, stop and remove the
// container, `hardenctl gc` repairs what was left, every byte written by
// the container and by the engine is still there, the container still owns
// what it wrote, and nothing is left mounted.
func TestIdmapRootKill(t *testing.T) {
	d := docker(t)
	l := lowers(t)[0]
	killFile := filepath.Join(d.Dir, "kill-at")
	rt, cfg := d.idmapRuntime(t, "idmap-kill", "baseline", l, killFile)
	defer os.Remove(killFile)
	setKill := func(step string) {
		if err := os.WriteFile(killFile, []byte(step), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gc := func(t *testing.T) {
		t.Helper()
		r := runCmd(t, time.Minute, []string{"HARDENED_RUNC_CONFIG=" + cfg}, nil, filepath.Join(env.bin, "hardenctl"), "gc")
		if r.Code != 0 {
			t.Errorf("hardenctl gc: %s", r)
		}
	}
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "cpin.txt"), []byte("engine-wrote\n"), 0o644)
	// check runs the container after the crash and proves nothing is lost.
	// owned checks that the stopped container's layer holds container
	// IDs, as under runc: nothing is left shifted into a range.
	owned := func(t *testing.T, id string) {
		t.Helper()
		_, owners := tarFiles(t, d.Run(t, "export", id).Stdout)
		for _, f := range []string{"/etc", "/etc/c.txt"} {
			if o, ok := owners[f]; ok && o != "0:0" || f == "/etc" && !ok {
				t.Errorf("stopped container: %s owned by %s, want 0:0", f, owners[f])
			}
		}
	}
	check := func(t *testing.T, id, want string) {
		t.Helper()
		owned(t, id)
		if c := d.Run(t, "start", id); c.Code != 0 {
			t.Fatalf("docker start after the crash: %s", c)
		}
		waitRunning(t, d, id)
		if c := d.Run(t, "cp", filepath.Join(host, "cpin.txt"), id+":/etc/cpin.txt"); c.Code != 0 {
			t.Errorf("docker cp in after the crash: %s", c)
		}
		c := d.Run(t, "exec", id, "sh", "-c", "echo after >> /etc/c.txt && cat /etc/c.txt /etc/cpin.txt")
		if c.Stdout != want+"after\nengine-wrote\n" {
			t.Errorf("after the crash the container reads %q, want %q", c.Stdout, want+"after\nengine-wrote\n")
		}
		if c := d.Run(t, "stop", "-t", "1", id); c.Code != 0 {
			t.Errorf("docker stop: %s", c)
		}
		owned(t, id)
		layer := strings.TrimSpace(d.Run(t, "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", id).Stdout)
		if c := d.Run(t, "rm", id); c.Code != 0 {
			t.Errorf("docker rm: %s", c)
		}
		gc(t)
		assertReleased(t, d.RunDir, id)
		if _, err := os.Stat(filepath.Join(d.RunDir, "userns", id)); !os.IsNotExist(err) {
			t.Errorf("container directory left: %v", err)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); layer != "" && strings.Contains(string(mi), filepath.Dir(layer)) {
			t.Errorf("a mount of the removed container's layer %s is left", filepath.Dir(layer))
		}
	}
	for _, step := range []string{"setup-recorded", "setup-unmounted", "setup-shifted", "setup-attached", "setup-mounted"} {
		t.Run(step, func(t *testing.T) {
			// A container that has written to its layer, stopped; its
			// next start is killed.
			r := d.Run(t, "run", "-d", "--runtime", rt, Image, "sh", "-c", "echo c >> /etc/c.txt; sleep 300")
			if r.Code != 0 {
				t.Fatalf("docker run: %s", r)
			}
			id := strings.TrimSpace(r.Stdout)
			defer d.Run(t, "rm", "-f", id)
			waitRunning(t, d, id)
			d.Run(t, "stop", "-t", "1", id)
			setKill(step)
			r = d.Run(t, "start", id)
			setKill("")
			if r.Code == 0 {
				t.Fatalf("docker start succeeded with the runtime killed at %s: %s", step, r)
			}
			// No gc: the next start repairs what the crash left.
			check(t, id, "c\nc\n")
		})
	}
	for _, step := range []string{"teardown-unshifted", "teardown-unbound"} {
		t.Run(step, func(t *testing.T) {
			r := d.Run(t, "run", "-d", "--runtime", rt, Image, "sh", "-c", "echo c >> /etc/c.txt; sleep 300")
			if r.Code != 0 {
				t.Fatalf("docker run: %s", r)
			}
			id := strings.TrimSpace(r.Stdout)
			defer d.Run(t, "rm", "-f", id)
			waitRunning(t, d, id)
			setKill(step)
			d.Run(t, "stop", "-t", "1", id)
			setKill("")
			// The kill hit: the record of the replacement is still there,
			// for gc to finish.
			if _, err := os.Stat(filepath.Join(d.RunDir, "userns", id, "engine-root.json")); err != nil {
				t.Errorf("no record left by the runtime killed at %s: %v", step, err)
			}
			time.Sleep(500 * time.Millisecond)
			gc(t)
			check(t, id, "c\nc\n")
		})
	}
}

// TestIdmapRootContainerd: containerd's overlay snapshot, mounted by the
// runc shim as the task's rootfs, is replaced in place too: the engine's
// view of the running task (the bundle's rootfs) sees what the container
// writes and the container reads what is written there; after the task is
// deleted the snapshot holds container IDs, as under runc.
func TestIdmapRootContainerd(t *testing.T) {
	forEachContainerd(t, testIdmapRootContainerd)
}

func testIdmapRootContainerd(t *testing.T, b containerdBuild) {
	h := newHarness(t)
	c := startContainerd(t, h, "baseline", b)
	c.importImages(t, "hr")
	l := lowers(t)[0]
	wrapper := filepath.Join(c.dir, "hardened-runc-"+l.Name)
	id := "hr-idmap-ctr"
	r := c.ctr(t, "-n", "hr", "run", "-d", "--runtime", "io.containerd.runc.v2", "--runc-binary", wrapper,
		criBusyboxImage, id, "sh", "-c", "echo from-container > /etc/c.txt; sleep 300")
	if r.Code != 0 {
		t.Fatalf("ctr run: %s\n%s", r, c.logTail())
	}
	defer c.ctr(t, "-n", "hr", "containers", "rm", id)
	defer c.ctr(t, "-n", "hr", "task", "kill", "-s", "KILL", id)
	rootfs := filepath.Join(c.state, "io.containerd.runtime.v2.task", "hr", id, "rootfs")
	var got []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, _ = os.ReadFile(filepath.Join(rootfs, "etc/c.txt")); len(got) > 0 {
			break
		}
	}
	if string(got) != "from-container\n" {
		t.Fatalf("the task's rootfs view does not show the container's write: %q", got)
	}
	// The task's rootfs is the one overlay, on idmapped lowers.
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	ours := false
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == rootfs {
			ours = strings.Contains(line, "lowerdir+=/proc/self/fd/")
		}
	}
	if !ours {
		t.Errorf("the task's rootfs %s is not the in-place idmapped overlay:\n%s", rootfs, mi)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/engine.txt"), []byte("engine-wrote\n"), 0o644); err != nil {
		t.Fatalf("write through the task's rootfs view: %v", err)
	}
	if x := c.ctr(t, "-n", "hr", "task", "exec", "--exec-id", "rd", id, "cat", "/etc/engine.txt"); x.Stdout != "engine-wrote\n" {
		t.Errorf("the container reads %q of what the engine wrote: %s", x.Stdout, x)
	}
	c.ctr(t, "-n", "hr", "task", "kill", "-s", "KILL", id)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if d := c.ctr(t, "-n", "hr", "task", "delete", id); d.Code == 0 {
			break
		}
	}
	// The snapshot, mounted on its own: container IDs, both files there.
	mnt := filepath.Join(h.Dir, "snapshot-view")
	os.MkdirAll(mnt, 0o755)
	m := c.ctr(t, "-n", "hr", "snapshots", "mounts", mnt, id)
	if m.Code != 0 {
		t.Fatalf("ctr snapshots mounts: %s", m)
	}
	if r := runCmd(t, time.Minute, nil, nil, "sh", "-c", m.Stdout); r.Code != 0 {
		t.Fatalf("mount the snapshot (%s): %s", m.Stdout, r)
	}
	defer syscall.Unmount(mnt, syscall.MNT_DETACH)
	for f, want := range map[string]string{"etc/c.txt": "from-container\n", "etc/engine.txt": "engine-wrote\n"} {
		p := filepath.Join(mnt, f)
		data, err := os.ReadFile(p)
		var st syscall.Stat_t
		_ = syscall.Stat(p, &st)
		if err != nil || string(data) != want || st.Uid != 0 {
			t.Errorf("snapshot after delete: %s = %q (uid %d, %v), want %q owned by 0", f, data, st.Uid, err, want)
		}
	}
	assertReleased(t, h.RunDir, id)
}

// TestIdmapRootDockerRmForce: `docker rm -f` of a running container and
// `docker restart` leave nothing behind: no record, no mount of its
// layer, no range; a restarted container still owns what it wrote.
func TestIdmapRootDockerRmForce(t *testing.T) {
	d := docker(t)
	rt, _ := d.idmapRuntime(t, "idmap-baseline-"+lowers(t)[0].Name, "baseline", lowers(t)[0], filepath.Join(d.Dir, "no-kill"))
	r := d.Run(t, "run", "-d", "--runtime", rt, Image, "sh", "-c", "echo c >> /etc/c.txt; sleep 300")
	if r.Code != 0 {
		t.Fatalf("docker run: %s", r)
	}
	id := strings.TrimSpace(r.Stdout)
	defer d.Run(t, "rm", "-f", id)
	waitRunning(t, d, id)
	if c := d.Run(t, "restart", "-t", "1", id); c.Code != 0 {
		t.Fatalf("docker restart: %s", c)
	}
	waitRunning(t, d, id)
	if c := d.Run(t, "exec", id, "sh", "-c", "echo more >> /etc/c.txt && cat /etc/c.txt"); c.Stdout != "c\nc\nmore\n" {
		t.Errorf("after docker restart the container reads %q, want %q: %s", c.Stdout, "c\nc\nmore\n", c)
	}
	layer := filepath.Dir(strings.TrimSpace(d.Run(t, "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", id).Stdout))
	if c := d.Run(t, "rm", "-f", id); c.Code != 0 {
		t.Fatalf("docker rm -f: %s", c)
	}
	assertReleased(t, d.RunDir, id)
	if _, err := os.Stat(filepath.Join(d.RunDir, "userns", id)); !os.IsNotExist(err) {
		t.Errorf("container directory left after docker rm -f: %v", err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), layer) {
		t.Errorf("a mount of the removed container's layer %s is left", layer)
	}
	if _, err := os.Stat(layer); !os.IsNotExist(err) {
		t.Errorf("docker rm -f left the layer %s: %v", layer, err)
	}
}
