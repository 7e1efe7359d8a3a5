//go:build integration

package integration

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/apparmor"
	"github.com/hardened-runc/hardened-runc/libhardening/selinux"
)

// attrProbe prints the process's LSM label, or the reason there is none,
// then a marker proving the container ran.
const attrProbe = `a=$(cat /proc/self/attr/current 2>&1); echo "attr-rc=$? label=$a"; echo container-ran`

// TestAppArmorRequired: a profile that requires AppArmor denies the launch
// where the kernel has none, with a message saying why and how to allow it.
// On a kernel with AppArmor it runs the container under its profile.
func TestAppArmorRequired(t *testing.T) {
	enabled, why := apparmor.Available()
	t.Logf("this kernel: %s", why)
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("mac-required", "extends = \"default\"\n[apparmor]\nmode = \"required\"\n")
		r := h.run(t, l, "mac-required", nil, "sh", "-c", attrProbe)
		if enabled {
			if r.Code != 0 || !strings.Contains(r.Stdout, apparmor.NamePrefix) {
				t.Fatalf("AppArmor enabled, required: want a confined container: %s", r)
			}
			return
		}
		if r.Code == 0 || strings.Contains(r.Stdout, "container-ran") {
			t.Fatalf("AppArmor unavailable, mode required: the container ran: %s", r)
		}
		for _, want := range []string{"apparmor.mode", `profile "mac-required" requires AppArmor`, "if-available"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("denial message lacks %q: %s", want, r.Stderr)
			}
		}
	})
}

// TestAppArmorIfAvailable: the default profile (if-available) launches on a
// kernel without AppArmor, runs the container unconfined, sets no profile
// in the spec handed to runc and records the fact for forensics. What the
// caller asked for decides the rest, as with runc, which refuses a label
// such a kernel cannot apply: "unconfined" and hardened-runc's own profile
// name launch without it; a profile or an SELinux label the caller names
// is denied in one line naming the rule, config.json left as it came.
func TestAppArmorIfAvailable(t *testing.T) {
	enabled, why := apparmor.Available()
	if enabled {
		t.Skipf("this kernel enforces AppArmor (%s): the unavailable-host path cannot be tested here; TestAppArmorEnforced covers this host", why)
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		for _, asked := range []string{"", "unconfined", apparmor.NamePrefix + "0123456789ab"} {
			r := h.run(t, l, "default", func(s *specs.Spec) { s.Process.ApparmorProfile = asked }, "sh", "-c", attrProbe)
			if r.Code != 0 || !strings.Contains(r.Stdout, "container-ran") {
				t.Fatalf("apparmorProfile %q, if-available on a kernel without AppArmor must launch: %s", asked, r)
			}
			if strings.Contains(r.Stdout, apparmor.NamePrefix) || !(strings.Contains(r.Stdout, "attr-rc=1 ") || strings.Contains(r.Stdout, "attr-rc=0 label=unconfined")) {
				t.Errorf("/proc/self/attr/current shows confinement on a kernel without AppArmor: %q", r.Stdout)
			}
			if r.Config == nil || r.Config.Process.ApparmorProfile != "" {
				t.Errorf("hardened config.json names a profile runc cannot apply: %+v", r.Config.Process)
			}
		}
		if !forensicsMention(t, h.Forensics, "apparmor: not available on this host") {
			t.Errorf("forensic record in %s does not say AppArmor was unavailable", h.Forensics)
		}
		for _, c := range []struct {
			mod  func(*specs.Spec)
			want []string
		}{
			{func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" }, []string{"apparmor.mode", `AppArmor profile "docker-default"`}},
			{func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2" }, []string{"selinux.mode", "process label"}},
			{func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2" }, []string{"selinux.mode", "mount label"}},
		} {
			bundle, id := h.newBundle(l, c.mod, "true")
			before, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
			r := h.hardenedRunc(t, l, "--root", h.StateRoot, "run", "--bundle", bundle, id)
			after, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
			if r.Code == 0 {
				t.Errorf("a label the caller asked for ran unlabelled: %s", r)
			}
			line := strings.TrimSpace(r.Stderr)
			for _, w := range append(c.want, "hardened-runc: container "+id, "runc refuses") {
				if !strings.Contains(line, w) || strings.Count(line, "\n") != 0 {
					t.Errorf("denial %q: want one line containing %q", line, w)
				}
			}
			if string(before) != string(after) {
				t.Errorf("a denied launch changed config.json")
			}
		}
	})
}

// TestExecLabels: an exec'd process runs with the container's labels. A
// process.json asking for others (or unconfined) is clamped and runs; the
// --apparmor and --process-label flags, which runc would apply after
// hardened-runc, are denied. On a kernel without AppArmor and SELinux the
// container's labels are none, and runc would refuse the exec otherwise.
func TestExecLabels(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		bundle, id, hr := startContainer(t, l, "sleep", "300")
		container := readSpec(t, bundle).Process
		probe := []string{"sh", "-c", "cat /proc/self/attr/current 2>/dev/null; echo exec-ran"}

		p := *container
		p.Args, p.ApparmorProfile, p.SelinuxLabel = probe, "unconfined", "system_u:system_r:spc_t:s0"
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		processFile := filepath.Join(bundle, "process.json")
		if err := os.WriteFile(processFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r := hr("exec", "--process", processFile, id)
		if r.Code != 0 || !strings.Contains(r.Stdout, "exec-ran") {
			t.Fatalf("exec with a process.json asking for other labels must be clamped and run: %s", r)
		}
		if want := container.ApparmorProfile; want != "" && !strings.HasPrefix(r.Stdout, want+" (enforce)") {
			t.Errorf("exec'd process runs as %q, container profile %q", r.Stdout, want)
		}

		r = hr(append([]string{"exec", "--apparmor", "unconfined", id}, probe...)...)
		if r.Code == 0 || strings.Contains(r.Stdout, "exec-ran") || !strings.Contains(r.Stderr, "denied by policy rule apparmor") {
			t.Errorf("exec --apparmor unconfined: want a denial by the apparmor policy: %s", r)
		}
		r = hr(append([]string{"exec", "--process-label", "system_u:system_r:spc_t:s0", id}, probe...)...)
		if r.Code == 0 || strings.Contains(r.Stdout, "exec-ran") || !strings.Contains(r.Stderr, "denied by policy rule selinux") {
			t.Errorf("exec --process-label: want a denial by the selinux policy: %s", r)
		}
	})
}

// TestAppArmorEnforced checks from inside a running container that it and
// an exec'd process run under the generated profile, and that the profile
// keeps writable mounts writable. It needs a kernel with AppArmor.
func TestAppArmorEnforced(t *testing.T) {
	enabled, why := apparmor.Available()
	if !enabled {
		t.Skipf("SKIP: AppArmor enforcement cannot be tested on this host: %s", why)
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		bundle, id, hr := startContainer(t, l, "sh", "-c", "echo x > /tmp/probe && sleep 300")
		profile := readSpec(t, bundle).Process.ApparmorProfile
		if !strings.HasPrefix(profile, apparmor.NamePrefix) {
			t.Fatalf("hardened config names profile %q", profile)
		}
		r := hr("exec", id, "sh", "-c", "cat /proc/1/attr/current; cat /proc/self/attr/current; cat /tmp/probe")
		if r.Code != 0 {
			t.Fatalf("exec: %s", r)
		}
		want := profile + " (enforce)\n" + profile + " (enforce)\nx\n"
		if r.Stdout != want {
			t.Errorf("container and exec'd process labels / tmpfs write:\n got %q\nwant %q", r.Stdout, want)
		}
	})
}

// TestAppArmorShowMatchesLaunch: `hardenctl apparmor show` on a running
// container's bundle prints a profile whose capability rules are exactly the
// hardened bounding set, whose write rules are the writable mounts, and
// which compiles; every validation sample compiles too.
func TestAppArmorShowMatchesLaunch(t *testing.T) {
	l := lowers(t)[0]
	bundle, _, _ := startContainer(t, l, "sleep", "300")
	hardened := readSpec(t, bundle)
	h := newHarness(t)
	show := h.hardenctl(t, l, "apparmor", "show", "--bundle", bundle)
	if show.Code != 0 {
		t.Fatalf("apparmor show: %s", show)
	}
	var got, want []string
	for _, line := range strings.Split(show.Stdout, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "capability "); ok {
			got = append(got, strings.TrimSuffix(c, ","))
		}
	}
	for _, c := range hardened.Process.Capabilities.Bounding {
		want = append(want, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("profile capabilities %q, hardened bounding set %q", got, want)
	}
	if !hardened.Root.Readonly || !strings.Contains(show.Stdout, `"/tmp{,/**}" rwlk,`) || strings.Contains(show.Stdout, "\n  file,\n") {
		t.Errorf("read-only root with a /tmp tmpfs, but the profile does not limit writes to it:\n%s", show.Stdout)
	}
	if _, err := exec.LookPath(apparmor.DefaultParser); err != nil {
		t.Logf("not compiling the shown profile: %v", err)
	} else if err := apparmor.Compile("", show.Stdout); err != nil {
		t.Errorf("profile for the running container does not compile: %v\n%s", err, show.Stdout)
	}
	v := h.hardenctl(t, l, "apparmor", "validate")
	if v.Code != 0 || strings.Contains(v.Stdout, "failed") {
		t.Errorf("apparmor validate: %s", v)
	}
}

// TestSELinuxRequired: required SELinux denies the launch where SELinux
// does not enforce.
func TestSELinuxRequired(t *testing.T) {
	enforcing, why := selinux.Enforcing()
	if enforcing {
		t.Skipf("SELinux enforces on this host (%s): the denial path cannot be tested here", why)
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("selinux-required", "extends = \"default\"\n[selinux]\nmode = \"required\"\n")
		r := h.run(t, l, "selinux-required", nil, "sh", "-c", "echo container-ran")
		if r.Code == 0 || strings.Contains(r.Stdout, "container-ran") {
			t.Fatalf("SELinux not enforcing, mode required: the container ran: %s", r)
		}
		if !strings.Contains(r.Stderr, "selinux.mode") || !strings.Contains(r.Stderr, "requires SELinux") {
			t.Errorf("denial message: %s", r.Stderr)
		}
	})
}

// startContainer creates and starts a container running argv under the
// default profile, deletes it when the test ends, and returns its bundle, its
// ID and a function running hardened-runc verbs with the test's state root.
func startContainer(t *testing.T, l Lower, argv ...string) (bundle, id string, hr func(args ...string) Result) {
	t.Helper()
	h := newHarness(t)
	bundle, id = h.newBundle(l, nil, argv...)
	hr = func(args ...string) Result {
		return h.hardenedRunc(t, l, append([]string{"--root", h.StateRoot}, args...)...)
	}
	if r := hr("create", "--bundle", bundle, id); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	t.Cleanup(func() { hr("delete", "--force", id) })
	if r := hr("start", id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	return bundle, id, hr
}

// forensicsMention reports whether any record under dir contains s.
func forensicsMention(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			found = true
		}
		return nil
	})
	return found
}
