//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// crun (Debian 12: 1.8.1) as the third lower runtime. HR_CRUN names the
// binary (default /usr/bin/crun); HR_NO_CRUN=1 leaves it out.

// crunLower returns the crun Lower, or why there is none.
//
// crun refuses a hybrid cgroup host whose cgroup2 hierarchy holds any
// controller ("cgroups in hybrid mode not supported, drop all controllers
// from cgroupv2"); this CI VM is such a host (hugetlb is only on cgroup2).
// There the Lower is a launcher that runs crun in a private mount
// namespace without /sys/fs/cgroup/unified: crun then sees a legacy
// (cgroup v1) host and uses the v1 hierarchies, as runc does here. The
// host's mounts are not changed.
func crunLower(workDir string) (Lower, string) {
	if os.Getenv("HR_NO_CRUN") != "" {
		return Lower{}, "HR_NO_CRUN is set"
	}
	path := envOr("HR_CRUN", "/usr/bin/crun")
	if _, err := os.Stat(path); err != nil {
		return Lower{}, fmt.Sprintf("crun not installed at %s (apt-get install crun, or `make deps`)", path)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "crun version ") {
		return Lower{}, fmt.Sprintf("%s --version: %v %q", path, err, out)
	}
	if !hybridWithV2Controllers() {
		return Lower{Name: "crun", Path: path}, ""
	}
	launcher := filepath.Join(workDir, "crun-legacy-cgroups")
	script := fmt.Sprintf("#!/bin/sh\n# crun in a mount namespace without the cgroup2 hierarchy of this hybrid host\nexec unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec %s \"$@\"' crun \"$@\"\n", path)
	if err := os.WriteFile(launcher, []byte(script), 0o755); err != nil {
		return Lower{}, err.Error()
	}
	fmt.Printf("integration: crun runs through %s: this host's cgroup2 hierarchy holds controllers in hybrid mode, which crun refuses\n", launcher)
	return Lower{Name: "crun", Path: launcher}, ""
}

// hybridWithV2Controllers reports whether /sys/fs/cgroup is a v1 tmpfs with
// a cgroup2 "unified" hierarchy that has controllers.
func hybridWithV2Controllers() bool {
	data, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	return err == nil && strings.TrimSpace(string(data)) != ""
}

// crunOnly returns the crun Lower or skips, printing why.
func crunOnly(t *testing.T) Lower {
	t.Helper()
	for _, l := range env.lowers {
		if l.Name == "crun" {
			return l
		}
	}
	t.Skipf("SKIP: crun is not a lower runtime here: %s", env.crunSkip)
	return Lower{}
}

// What only crun can show: the runtime recognised it as crun (forensics
// record "crun 1.8.1", not a runc version), crun applied the generated
// seccomp filter with its own libseccomp, the container has its own user
// namespace with the idmapped root filesystem, and a volume is idmapped
// too: crun 1.8.1 ignores runc's "ridmap" option, so the runtime claims
// no idmap support for it and binds its own idmapped copy of the volume.
func TestCrunLower(t *testing.T) {
	l := crunOnly(t)
	h := newHarness(t)
	vol := filepath.Join(h.Dir, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "owned-by-root"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.writeProfile("crun-test", fmt.Sprintf("extends = \"default\"\n[userns]\nidmap_volumes = [%q]\n", vol+"*"))
	r := h.run(t, l, "crun-test", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: vol, Options: []string{"rbind", "ro"}})
	}, "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; echo uidmap $(cat /proc/self/uid_map); stat -c 'owner=%u' /data/owned-by-root /bin/busybox")
	if r.Code != 0 {
		t.Fatalf("hardened-runc run over crun: %s", r)
	}
	if got := statusField(r.Stdout, "Seccomp"); got != "2" {
		t.Errorf("Seccomp = %q, want 2 (the generated filter, loaded by crun)\n%s", got, r.Stdout)
	}
	if got := statusField(r.Stdout, "NoNewPrivs"); got != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", got)
	}
	fields := strings.Fields(statusLine(r.Stdout, "uidmap"))
	if len(fields) < 4 || fields[1] != "0" || fields[2] == "0" {
		t.Errorf("uid_map = %q, want container 0 mapped to a non-root host range", fields)
	}
	if strings.Count(r.Stdout, "owner=0") != 2 {
		t.Errorf("want the volume file and the image's /bin/busybox owned by root inside (idmapped), got:\n%s", r.Stdout)
	}
	if r.Config == nil || r.Config.Linux == nil || len(r.Config.Linux.UIDMappings) == 0 {
		t.Fatalf("hardened spec has no user namespace mappings: %+v", r.Config)
	}
	for _, m := range r.Config.Mounts {
		if m.Destination == "/data" && (m.Source == vol || hasOpt(m.Options, "ridmap")) {
			t.Errorf("volume /data: want hardened-runc's idmapped copy, not crun's (ignored) ridmap: %+v", m)
		}
	}
	rec := h.hardenctl(t, l, "forensics", "show", "--output", "json", r.ID)
	if rec.Code != 0 || !strings.Contains(rec.Stdout, `"version": "crun 1.8`) && !strings.Contains(rec.Stdout, `"version":"crun 1.8`) {
		t.Errorf("forensic record does not name crun as the lower runtime: %s", rec)
	}
}

// statusLine returns the first line of s starting with prefix.
func statusLine(s, prefix string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

func hasOpt(opts []string, want string) bool {
	for _, o := range opts {
		if o == want {
			return true
		}
	}
	return false
}
