package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
)

// writeConfig writes config.toml (and profiles) into a temp dir and loads it.
func writeConfig(t *testing.T, body string, profiles map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	for name, p := range profiles {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("profiles_dir = "+`"`+dir+`"`+"\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(path)
}

// TestSelectRuleMayNotWeakenByForgery: a rule that picks a profile weaker
// than the default may match only on keys the engine writes itself.
func TestSelectRuleMayNotWeakenByForgery(t *testing.T) {
	stricter := map[string]string{"tight": "extends = \"default\"\n[capabilities]\nallow = [\"KILL\", \"NET_BIND_SERVICE\"]\n"}
	for _, tc := range []struct {
		name, body string
		wantErr    string
	}{
		{"weaker by container id", "[[select]]\nprofile = \"baseline\"\ncontainer_id = \"legacy-*\"\n",
			`select[0] (profile "baseline") matches on container_id, which whoever asks for the container can set, and "baseline" is weaker than "default" (at capabilities.allow); match only on annotations the engine writes itself`},
		{"weaker by argv", "[[select]]\nprofile = \"baseline\"\nargs = \"/usr/sbin/nginx *\"\n", `matches on args`},
		{"weaker by a pod annotation", "[[select]]\nprofile = \"baseline\"\nannotations = { \"hardened-runc.io/profile\" = \"baseline\" }\n",
			`matches on annotation "hardened-runc.io/profile"`},
		{"weaker by a key containerd does not write", "[[select]]\nprofile = \"baseline\"\nannotations = { \"io.kubernetes.cri.sandbox-uid\" = \"x\" }\n",
			`annotation "io.kubernetes.cri.sandbox-uid"`},
		// A pod opts into a stricter profile than a later namespace rule
		// would give it: it could escape that rule.
		{"opt-in before a stricter namespace rule", "[[select]]\nprofile = \"tight\"\nannotations = { \"hardened-runc.io/profile\" = \"tight\" }\n[[select]]\nprofile = \"restricted\"\nannotations = { \"io.kubernetes.cri.sandbox-namespace\" = \"prod-*\" }\n",
			`"tight" is weaker than "restricted"`},
		{"an unknown profile cannot be judged", "[[select]]\nprofile = \"nope\"\nargs = \"x\"\n", `unknown profile`},
		{"stricter by anything", "[[select]]\nprofile = \"restricted\"\nargs = \"* --restricted*\"\n[[select]]\nprofile = \"tight\"\nannotations = { \"hardened-runc.io/profile\" = \"tight\" }\n", ""},
		{"weaker by engine keys", "[[select]]\nprofile = \"baseline\"\nannotations = { \"io.kubernetes.cri.sandbox-namespace\" = \"legacy\" }\n", ""},
		{"namespace rule first, then the opt-in", "[[select]]\nprofile = \"restricted\"\nannotations = { \"io.kubernetes.cri.sandbox-namespace\" = \"prod-*\" }\n[[select]]\nprofile = \"tight\"\nannotations = { \"hardened-runc.io/profile\" = \"tight\" }\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := writeConfig(t, tc.body, stricter)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

// TestSelectPerImageProfiles: two per-image profiles, each weaker than the
// other somewhere (a tmpfs path, an allowed syscall), side by side on exact
// image names; a glob that could match both images is still judged.
func TestSelectPerImageProfiles(t *testing.T) {
	profiles := map[string]string{
		"img-nginx":    "[rootfs]\nreadonly = \"enforce\"\ntmpfs = [\"/tmp\", \"/run\", \"/var/tmp\", \"/var/lib/nginx\"]\n[seccomp]\nstrict = \"enforce\"\n",
		"img-postgres": "[rootfs]\nreadonly = \"enforce\"\n[seccomp]\nstrict = \"enforce\"\nallow = [\"sync_file_range\"]\n",
	}
	rules := func(a, b string) string {
		return "[[select]]\nprofile = \"img-nginx\"\nimage = \"" + a + "\"\n[[select]]\nprofile = \"img-postgres\"\nimage = \"" + b + "\"\n"
	}
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"exact names", rules("hrcompat/nginx", "hrcompat/postgres"), ""},
		{"exact, then a glob that misses it", rules("nginx:1.25", "postgres:*"), ""},
		{"a glob, then an exact name it misses", rules("nginx:*", "postgres:15"), ""},
		{"exact, then a glob that matches it", rules("web:1", "*"), `"img-nginx" is weaker than "img-postgres"`},
		{"two globs", rules("nginx*", "postgres*"), `"img-nginx" is weaker than "img-postgres"`},
		{"escaped glob characters are not exact", rules(`nginx\\*`, "post*"), `"img-nginx" is weaker than "img-postgres"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := writeConfig(t, tc.body, profiles)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSelectProfileTrust(t *testing.T) {
	c, err := writeConfig(t, `
[[select]]
profile = "restricted"
annotations = { "hardened-runc.io/profile" = "restricted" }
[[select]]
profile = "baseline"
annotations = { "io.kubernetes.cri.sandbox-namespace" = "legacy", "io.kubernetes.cri.container-name" = "app" }
[[select]]
profile = "restricted"
annotations = { "io.kubernetes.pod.namespace" = "prod-*" }
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy := map[string]string{"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-namespace": "legacy", "io.kubernetes.cri.container-name": "app"}
	for _, tc := range []struct {
		name, engine string
		ann          map[string]string
		want, why    string
	}{
		{"containerd CRI legacy pod", provenance.ContainerdCRI, legacy, "baseline", "select[1]"},
		{"the same keys from docker --annotation", provenance.Docker, legacy, "default", "default_profile (select[1] skipped"},
		{"the same keys, engine unknown", "", legacy, "default", "default_profile (select[1] skipped"},
		// containerd does not write io.kubernetes.pod.namespace, but the
		// rule picks a stricter profile: forging it confines the forger.
		{"stricter rule on a key this engine does not write", provenance.ContainerdCRI, map[string]string{"io.kubernetes.pod.namespace": "prod-1"}, "restricted", "select[2]"},
		{"CRI-O prod pod", provenance.CRIO, map[string]string{"io.kubernetes.pod.namespace": "prod-1"}, "restricted", "select[2]"},
		{"pod opt-in", provenance.ContainerdCRI, map[string]string{"hardened-runc.io/profile": "restricted"}, "restricted", "select[0]"},
		{"nothing", provenance.Docker, nil, "default", "default_profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why, err := c.SelectProfile(Target{ContainerID: "x", Annotations: tc.ann, Trusted: provenance.TrustedKeys(tc.engine, tc.ann)})
			if err != nil || got != tc.want || !strings.HasPrefix(why, tc.why) {
				t.Fatalf("got %q by %q (%v), want %q by %q", got, why, err, tc.want, tc.why)
			}
		})
	}
}

// withSeccomp is p with seccomp.strict set and names allowed.
func withSeccomp(p *Profile, strict ControlMode, allow ...string) *Profile {
	c := *p
	c.Seccomp.Strict = strict
	c.Seccomp.Allow = append(slices.Clone(p.Seccomp.Allow), allow...)
	return &c
}

func TestAtLeastAsStrict(t *testing.T) {
	st := Store{}
	load := func(name string) *Profile {
		p, err := st.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	def, base, restr := load("default"), load("baseline"), load("restricted")
	for _, tc := range []struct {
		name    string
		p, than *Profile
		want    bool
		key     string
	}{
		{"default vs itself", def, def, true, ""},
		{"restricted vs default", restr, def, true, ""},
		{"restricted vs baseline", restr, base, true, ""},
		{"baseline vs default", base, def, false, "capabilities.allow"},
		{"default vs restricted", def, restr, false, "capabilities.allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, key := AtLeastAsStrict(tc.p, tc.than)
			if ok != tc.want || key != tc.key {
				t.Fatalf("got %v at %q, want %v at %q", ok, key, tc.want, tc.key)
			}
		})
	}
	// One key at a time: each change below makes a profile weaker.
	weaker := []func(p *Profile){
		func(p *Profile) { p.Mode = ModeAudit },
		func(p *Profile) { p.Capabilities.AllowPrivileged = true },
		func(p *Profile) { p.Rootfs.Readonly = ControlOff },
		func(p *Profile) { p.Seccomp.AttackSurface = ControlAudit },
		func(p *Profile) { p.Namespaces.AllowHost = []string{"network"} },
		func(p *Profile) { p.Mounts.DenySources = p.Mounts.DenySources[1:] },
		func(p *Profile) { p.Process.Nofile = 0 },
		func(p *Profile) { p.Cgroups.PidsLimit = 1 << 20 },
		func(p *Profile) { p.Cgroups.Memory = "" },
		func(p *Profile) { p.Cgroups.MemoryMax = "32g" },
		func(p *Profile) { p.Process.MinOOMScoreAdj = -1000 },
		func(p *Profile) { p.Userns.Mode = "disabled" },
		func(p *Profile) { p.AppArmor.Mode = MACOff },
		func(p *Profile) { p.Seccomp.Mode = "unconfined" }, // no order: must equal
	}
	for i, weaken := range weaker {
		p := *def
		weaken(&p)
		if ok, key := AtLeastAsStrict(&p, def); ok {
			t.Errorf("change %d: still at least as strict (%q)", i, key)
		}
	}
	// A read-only root's tmpfs paths are its only writable places: against
	// a base that enforces a read-only root, more of them, or fewer mount
	// options on them, is weaker; against a writable root they are not.
	wider := *restr
	wider.Rootfs.Tmpfs = append(slices.Clone(restr.Rootfs.Tmpfs), "/usr")
	fewerOpts := *restr
	fewerOpts.Rootfs.TmpfsOptions = nil
	perImage := *def
	perImage.Rootfs.Readonly = ControlEnforce
	perImage.Rootfs.Tmpfs = append(slices.Clone(def.Rootfs.Tmpfs), "/var/lib/nginx", "/var/log/nginx")
	for _, tc := range []struct {
		name    string
		p, than *Profile
		want    bool
	}{
		{"extra tmpfs under a read-only base", &wider, restr, false},
		{"tmpfs options dropped under a read-only base", &fewerOpts, restr, false},
		{"a per-image read-only root vs a writable default", &perImage, def, true},
		{"strict enforced, with the cut the image calls allowed", withSeccomp(def, ControlEnforce, "sync_file_range"), def, true},
		{"an attack-surface call allowed", withSeccomp(def, ControlEnforce, "mount"), def, false},
		{"a cut allowed against a base enforcing it", withSeccomp(restr, ControlEnforce, "sync_file_range"), restr, false},
	} {
		if ok, key := AtLeastAsStrict(tc.p, tc.than); ok != tc.want {
			t.Errorf("%s: got %v at %q, want %v", tc.name, ok, key, tc.want)
		}
	}
	stricter := *def
	stricter.Description = "says nothing about policy"
	stricter.Cgroups.Memory, stricter.Process.MinOOMScoreAdj, stricter.Seccomp.Deny = "1g", 100, []string{"chroot"}
	if ok, key := AtLeastAsStrict(&stricter, def); !ok {
		t.Errorf("stricter profile judged weaker at %s", key)
	}
}

// TestKubernetesDocExample holds docs/kubernetes.md's selection example to
// what it says: it loads, namespaces win over pod annotations, and the
// weaker legacy rule applies only to keys containerd wrote.
func TestKubernetesDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "Example `config.toml` for a cluster:\n\n```toml\n")
	body, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/kubernetes.md: no config.toml example")
	}
	c, err := writeConfig(t, body, nil)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	optIn := map[string]string{"hardened-runc.io/profile": "restricted"}
	legacy := map[string]string{"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-namespace": "legacy"}
	for _, tc := range []struct {
		name, engine string
		ann          map[string]string
		want         string
	}{
		{"prod under containerd", provenance.ContainerdCRI, map[string]string{"io.kubernetes.cri.sandbox-namespace": "prod-a", "io.kubernetes.cri.container-type": "sandbox"}, "restricted"},
		{"prod under CRI-O", provenance.CRIO, map[string]string{"io.kubernetes.pod.namespace": "prod-a"}, "restricted"},
		{"legacy under containerd", provenance.ContainerdCRI, legacy, "baseline"},
		{"legacy forged under CRI-O", provenance.CRIO, legacy, "default"},
		{"pod opts in", provenance.ContainerdCRI, optIn, "restricted"},
		{"other pods", provenance.ContainerdCRI, map[string]string{"io.kubernetes.cri.sandbox-namespace": "dev"}, "default"},
	} {
		got, _, err := c.SelectProfile(Target{Annotations: tc.ann, Trusted: provenance.TrustedKeys(tc.engine, tc.ann)})
		if err != nil || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}
