package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func find(checks []Check, name string) Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Name: name, Status: "missing"}
}

func loadProfile(t *testing.T, name string) *policy.Profile {
	t.Helper()
	p, err := policy.Store{}.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSubIDAndRequirements(t *testing.T) {
	cases := []struct {
		name    string
		subuid  string
		status  Status
		inText  string
		maxNS   string
		wantMax Status
	}{
		{"ok", "dockremap:100000:65536\nhardened-runc:2097152:268435456\n", OK, "4096 containers", "15000", OK},
		{"missing", "dockremap:100000:65536\n", Fail, "no /etc/subuid entry", "15000", OK},
		{"overlap", "containers:1048576:65536\nhardened-runc:1000000:268435456\n", Fail, "overlaps \"containers\"", "0", Fail},
		{"malformed", "hardened-runc:x:1\n", Fail, "bad number", "15000", OK},
		{"host account inside", "hardened-runc:1048576:268435456\n", Fail, "host account \"svc\"", "15000", OK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{
				"etc/subuid":                        tc.subuid,
				"etc/subgid":                        tc.subuid,
				"proc/sys/user/max_user_namespaces": tc.maxNS,
				"etc/passwd":                        "root:x:0:0::/root:/bin/sh\nsvc:x:2000000:2000000::/:/bin/false\n",
				"etc/group":                         "root:x:0:\nsvc:x:2000000:\n",
			})
			cfg := policy.DefaultConfig()
			cfg.ForensicsDir = "/nonexistent"
			checks := Run(Options{Config: cfg, Root: root, NoProbes: true, Profiles: []*policy.Profile{loadProfile(t, "default")}})
			c := find(checks, "userns.subuid")
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.inText) || !c.Required {
				t.Errorf("userns.subuid = %+v, want %s containing %q, required", c, tc.status, tc.inText)
			}
			if c.Status != OK && c.Fix == "" {
				t.Errorf("no fix for a failed check: %+v", c)
			}
			if m := find(checks, "userns.max"); m.Status != tc.wantMax {
				t.Errorf("userns.max = %+v, want %s", m, tc.wantMax)
			}
			// The default profile is fail-closed on forensics: a missing
			// directory is unmet.
			if f := find(checks, "forensics.dir"); f.Status != Fail || !f.Required {
				t.Errorf("forensics.dir = %+v", f)
			}
			if len(Unmet(checks)) == 0 {
				t.Errorf("no unmet requirement reported")
			}
		})
	}
}

func TestAppArmorRequiredIsUnmetWithoutAppArmor(t *testing.T) {
	if _, err := os.Stat("/sys/module/apparmor/parameters/enabled"); err == nil {
		t.Skip("this kernel has AppArmor; the test needs a kernel without it")
	}
	p := loadProfile(t, "default")
	p.AppArmor.Mode = "required"
	p.Name = "strict"
	checks := Run(Options{Root: t.TempDir(), NoProbes: true, Profiles: []*policy.Profile{p}})
	c := find(checks, "lsm.apparmor")
	if c.Status != Fail || !c.Required || !strings.Contains(c.Fix, "strict") {
		t.Errorf("lsm.apparmor = %+v", c)
	}
	p.AppArmor.Mode = "if-available"
	checks = Run(Options{Root: t.TempDir(), NoProbes: true, Profiles: []*policy.Profile{p}})
	if c := find(checks, "lsm.apparmor"); c.Status != Warn || c.Required {
		t.Errorf("if-available: lsm.apparmor = %+v", c)
	}
}

func TestSysctls(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"proc/sys/kernel/unprivileged_bpf_disabled": "0\n",
		"proc/sys/kernel/perf_event_paranoid":       "-1\n",
		"proc/sys/vm/unprivileged_userfaultfd":      "0\n",
	})
	checks := checkSysctls(Options{Root: root}, requirements{})
	if c := find(checks, "sysctl.kernel.unprivileged_bpf_disabled"); c.Status != Warn {
		t.Errorf("bpf: %+v", c)
	}
	if c := find(checks, "sysctl.kernel.perf_event_paranoid"); c.Status != Warn {
		t.Errorf("perf: %+v", c)
	}
	if c := find(checks, "sysctl.vm.unprivileged_userfaultfd"); c.Status != OK {
		t.Errorf("uffd: %+v", c)
	}
}

func TestForensicsDirHealthy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "forensics")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := policy.DefaultConfig()
	cfg.ForensicsDir = dir
	c := find(checkForensics(Options{Config: cfg}, requirements{forensicsClose: true}), "forensics.dir")
	if c.Status != OK {
		t.Errorf("forensics.dir = %+v", c)
	}
	os.Chmod(dir, 0o755)
	c = find(checkForensics(Options{Config: cfg}, requirements{forensicsClose: true}), "forensics.dir")
	if c.Status != Fail || !strings.Contains(c.Detail, "0755") {
		t.Errorf("mode 0755: %+v", c)
	}
}

// On this host (root), the idmap probes must find ext4 working: the
// machine is documented to support idmapped mounts on ext4.
func TestIdmapProbeOnHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped-mount probes need root")
	}
	dir := t.TempDir()
	if fsType(dir) != "ext4" {
		t.Skipf("%s is %s, not ext4", dir, fsType(dir))
	}
	checks := checkIdmap(Options{ProbeDirs: []string{dir}}, requirements{})
	if c := find(checks, "idmap.ext4"); c.Status != OK {
		t.Errorf("idmap.ext4 = %+v", c)
	}
	if c := find(checks, "idmap.overlay-lower"); c.Status != OK {
		t.Errorf("idmap.overlay-lower = %+v", c)
	}
	// Nothing may stay mounted in the host namespace.
	data, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(data), ".hardened-runc-doctor-") {
		t.Errorf("probe mounts leaked into the host mount namespace")
	}
}

// TestBinariesBeside: the hardened-runc an engine runs needs its Go side
// beside it (every call it cannot decide alone fails without it), and
// should have its delete helper; both missing are said, with the fix.
func TestBinariesBeside(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"etc/docker/daemon.json":      `{"runtimes": {"hardened": {"path": "/opt/hr/bin/hardened-runc"}}}`,
		"opt/hr/bin/hardened-runc":    "",
		"opt/hr/bin/hardened-runc-go": "",
	})
	o := Options{Root: root, EngineConfigs: map[string]string{"docker": filepath.Join(root, "etc/docker/daemon.json")}}
	var got []Check
	for _, c := range checkEngines(o, requirements{}) {
		if c.Name == "engine.docker.binaries" {
			got = append(got, c)
		}
	}
	if len(got) != 1 || got[0].Status != Warn || !strings.Contains(got[0].Detail, "no hardened-runc-delete beside it") {
		t.Fatalf("helper missing: %+v", got)
	}
	os.Remove(filepath.Join(root, "opt/hr/bin/hardened-runc-go"))
	got = nil
	for _, c := range checkEngines(o, requirements{}) {
		if c.Name == "engine.docker.binaries" && c.Status == Fail {
			got = append(got, c)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0].Detail, "no hardened-runc-go beside it") || !strings.Contains(got[0].Fix, "install.sh") {
		t.Errorf("Go side missing: %+v", got)
	}
}
