//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker is a dockerd the tests start once for the package, with hardened-runc
// registered as runtime "hardened" (lower runc 1.1) and "hardened-15" (lower
// runc 1.5), and a busybox image imported as "hr-busybox".
type Docker struct {
	Host      string // DOCKER_HOST value
	Dir       string // data, exec root, configs
	Config    string // daemon.json
	Profiles  string // profiles dir shared by both runtimes
	Forensics string
	RunDir    string
	cmd       *exec.Cmd
	err       error
}

// Image is the locally imported busybox image.
const Image = "hr-busybox:latest"

var sharedDocker Docker

// dockerSelectRules choose profiles by the process's argv, since Docker
// 20.10 passes no labels as OCI annotations: `docker run IMAGE
// /probe --restricted` runs under "restricted".
const dockerSelectRules = `
[[select]]
profile = "restricted"
args = "* --restricted*"
` + legacyRule // bypass_select_test.go: forged through docker run --annotation

// docker returns the shared dockerd, starting it on first use. Tests that
// need it skip, with the reason printed, when HR_NO_DOCKER is set.
func docker(t *testing.T) *Docker {
	t.Helper()
	if os.Getenv("HR_NO_DOCKER") != "" {
		t.Skip("HR_NO_DOCKER is set: Docker tests not run")
	}
	dockerOnce.Do(func() { sharedDocker.err = sharedDocker.start() })
	if sharedDocker.err != nil {
		t.Fatalf("start dockerd: %v", sharedDocker.err)
	}
	return &sharedDocker
}

// runtimeFor maps a lower runtime to the Docker runtime name using it.
func (d *Docker) runtimeFor(l Lower) string {
	switch l.Name {
	case "runc-1.5":
		return "hardened-15"
	case "crun":
		return "hardened-crun"
	}
	return "hardened"
}

func (d *Docker) start() error {
	d.Dir = filepath.Join(env.workDir, "docker")
	d.Profiles = filepath.Join(d.Dir, "profiles")
	d.Forensics = filepath.Join(d.Dir, "forensics")
	d.RunDir = filepath.Join(d.Dir, "hr-run")
	for _, p := range []string{d.Dir, d.Profiles, d.RunDir} {
		if err := os.MkdirAll(p, 0o711); err != nil {
			return err
		}
	}
	// The runtimes are registered the way an admin would: by
	// `hardenctl runtime configure`, the lower runc 1.1 one as default.
	d.Config = filepath.Join(d.Dir, "daemon.json")
	var wrappers []string
	for _, l := range env.lowers {
		cfg := filepath.Join(d.Dir, "config-"+l.Name+".toml")
		body := fmt.Sprintf("runtime = %q\nprofiles_dir = %q\nforensics_dir = %q\nrun_dir = %q\nlog_level = \"info\"\n%s",
			l.Path, d.Profiles, d.Forensics, d.RunDir, dockerSelectRules)
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			return err
		}
		// dockerd passes no environment of ours to the runtime, so each
		// lower gets a tiny launcher that names its config.
		wrapper := filepath.Join(d.Dir, "hardened-runc-"+l.Name)
		if err := writeLauncher(wrapper, cfg, filepath.Join(env.bin, "hardened-runc")); err != nil {
			return err
		}
		wrappers = append(wrappers, wrapper)
	}
	// Data root on the host's ext4 (overlay2 needs a filesystem that
	// supports it as upper; /var/tmp is on the root disk here).
	daemon := map[string]any{
		"data-root":      filepath.Join(d.Dir, "data"),
		"exec-root":      d.execRoot(),
		"pidfile":        filepath.Join(d.Dir, "dockerd.pid"),
		"hosts":          []string{"unix://" + filepath.Join(d.Dir, "docker.sock")},
		"iptables":       false,
		"ip-forward":     false,
		"ip-masq":        false,
		"bridge":         "none",
		"storage-driver": "overlay2",
	}
	data, _ := json.MarshalIndent(daemon, "", "  ")
	if err := os.WriteFile(d.Config, data, 0o644); err != nil {
		return err
	}
	for i, l := range env.lowers {
		args := []string{"runtime", "configure", "--runtime", "docker", "--engine-config", d.Config,
			"--runtime-name", d.runtimeFor(l), "--runtime-path", wrappers[i]}
		if i == 0 {
			// Every container goes through hardened-runc unless a test
			// asks for `--runtime runc` (Docker's defaults, to compare).
			args = append(args, "--set-as-default")
		}
		if out, err := exec.Command(filepath.Join(env.bin, "hardenctl"), args...).CombinedOutput(); err != nil {
			return fmt.Errorf("hardenctl %v: %v\n%s", args, err, out)
		}
	}
	d.Host = "unix://" + filepath.Join(d.Dir, "docker.sock")
	logf, err := os.Create(filepath.Join(d.Dir, "dockerd.log"))
	if err != nil {
		return err
	}
	d.cmd = exec.Command("dockerd", "--config-file", d.Config)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if out, err := d.cli("info", "--format", "{{.ServerVersion}}"); err == nil && strings.TrimSpace(out) != "" {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(d.Dir, "dockerd.log"))
			return fmt.Errorf("dockerd did not come up in 60s; log tail:\n%s", tail(string(log), 30))
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Import the busybox rootfs as an image: no registry is reachable.
	imp := exec.Command("sh", "-c", fmt.Sprintf("tar -C %s -c . | docker import -c 'CMD [\"/bin/sh\"]' - %s", env.rootfs, Image))
	imp.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import: %v %s", err, out)
	}
	return nil
}

// execRoot is dockerd's runtime state; it lives under /run (its socket
// paths must stay short) and is removed when the daemon stops.
func (d *Docker) execRoot() string {
	return filepath.Join("/run", "hr-docker-"+filepath.Base(env.workDir))
}

func (d *Docker) cli(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Run runs the docker CLI against the test daemon.
func (d *Docker) Run(t *testing.T, args ...string) Result {
	t.Helper()
	return runCmd(t, 3*time.Minute, []string{"DOCKER_HOST=" + d.Host}, nil, "docker", args...)
}

func stopDocker() {
	d := &sharedDocker
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	if out, err := d.cli("ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
		_, _ = d.cli(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	_ = exec.Command("umount", "-R", "-l", filepath.Join(d.Dir, "data")).Run()
	_ = exec.Command("umount", "-R", "-l", d.execRoot()).Run()
	_ = os.RemoveAll(d.execRoot())
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
