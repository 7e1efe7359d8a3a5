package apparmor

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeHost is a kernel with AppArmor and a parser that counts loads.
type fakeHost struct {
	mu       sync.Mutex
	off      string // non-empty: AppArmor unavailable, with this reason
	loaded   map[string]bool
	loads    int
	loadErr  error
	includes bool
}

func newFakeHost() *fakeHost { return &fakeHost{loaded: map[string]bool{}, includes: true} }

func (f *fakeHost) Available() (bool, string) { return f.off == "", f.off }

func (f *fakeHost) Loaded(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded[name], nil
}

func (f *fakeHost) Load(file string) error {
	if f.loadErr != nil {
		return f.loadErr
	}
	if _, err := os.Stat(file); err != nil {
		return err
	}
	// apparmor_parser takes tens of milliseconds: long enough for
	// concurrent creates to overlap if they are not serialised.
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	f.loaded[filepath.Base(file)] = true
	return nil
}

func (f *fakeHost) HasInclude(string) bool { return f.includes }

func (f *fakeHost) loadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads
}

func caps(names ...string) *specs.LinuxCapabilities {
	var full []string
	for _, n := range names {
		full = append(full, "CAP_"+n)
	}
	return &specs.LinuxCapabilities{Bounding: full, Effective: full, Permitted: full}
}

// hardenedSpec is what the default profile makes of a Docker container:
// seven capabilities, a read-only root with tmpfs mounts and a volume.
func hardenedSpec() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}, Capabilities: caps("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE")},
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec"}},
			{Destination: "/run", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/data", Type: "bind", Source: "/var/lib/vol", Options: []string{"rbind"}},
			{Destination: "/etc/hosts", Type: "bind", Source: "/var/lib/c/hosts", Options: []string{"rbind", "rprivate"}},
			{Destination: "/config", Type: "bind", Source: "/srv/config", Options: []string{"rbind", "ro"}},
		},
	}
}

func defaultTemplate(t *testing.T) *Template {
	t.Helper()
	tp, err := LoadTemplate(&policy.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func render(t *testing.T, s *specs.Spec) (string, string) {
	t.Helper()
	d, err := DataFor(s)
	if err != nil {
		t.Fatal(err)
	}
	d.Tunables, d.Base = true, true
	name, text, err := defaultTemplate(t).Render(d)
	if err != nil {
		t.Fatal(err)
	}
	return name, text
}

// ruleLines returns the lines of text that start with prefix (indentation
// ignored).
func ruleLines(text, prefix string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestRenderFollowsHardenedSpec(t *testing.T) {
	rw := func(s *specs.Spec) *specs.Spec { s.Root.Readonly = false; return s }
	withCaps := func(s *specs.Spec, c *specs.LinuxCapabilities) *specs.Spec { s.Process.Capabilities = c; return s }
	tests := []struct {
		name     string
		spec     *specs.Spec
		caps     []string
		netRaw   bool
		readonly bool
	}{
		{"default profile", hardenedSpec(), []string{"chown", "dac_override", "fowner", "kill", "net_bind_service", "setgid", "setuid"}, false, true},
		{"restricted: one capability", withCaps(hardenedSpec(), caps("NET_BIND_SERVICE")), []string{"net_bind_service"}, false, true},
		{"no capabilities", withCaps(hardenedSpec(), nil), nil, false, true},
		{"docker's set with NET_RAW, writable root", withCaps(rw(hardenedSpec()), caps("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")),
			[]string{"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod", "net_bind_service", "net_raw", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"}, true, false},
		{"baseline: writable root, no NET_RAW", rw(hardenedSpec()), []string{"chown", "dac_override", "fowner", "kill", "net_bind_service", "setgid", "setuid"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, text := render(t, tc.spec)
			var want []string
			for _, c := range tc.caps {
				want = append(want, "capability "+c+",")
			}
			if got := ruleLines(text, "capability"); !slices.Equal(got, want) {
				t.Errorf("capability rules:\n got %q\nwant %q", got, want)
			}
			if len(tc.caps) == 0 && !strings.Contains(text, "every capability is denied") {
				t.Error("no capabilities kept, but the profile does not say so")
			}
			rawDenied := slices.Contains(ruleLines(text, "deny network"), "deny network raw,") &&
				slices.Contains(ruleLines(text, "deny network"), "deny network packet,")
			if rawDenied == tc.netRaw {
				t.Errorf("net_raw kept=%v but raw/packet denied=%v", tc.netRaw, rawDenied)
			}
			hasFile := slices.Contains(ruleLines(text, "file,"), "file,")
			if hasFile == tc.readonly {
				t.Errorf("readonly=%v but blanket `file,` present=%v", tc.readonly, hasFile)
			}
			writable := ruleLines(text, `"/`)
			if tc.readonly {
				wantW := []string{`"/data{,/**}" rwlk,`, `"/dev{,/**}" rwlk,`, `"/dev/pts{,/**}" rwlk,`, `"/etc/hosts{,/**}" rwlk,`, `"/proc{,/**}" rwlk,`, `"/run{,/**}" rwlk,`, `"/tmp{,/**}" rwlk,`}
				if !slices.Equal(writable, wantW) {
					t.Errorf("writable rules:\n got %q\nwant %q", writable, wantW)
				}
				if !slices.Contains(ruleLines(text, "/**"), "/** rmkix,") {
					t.Error("read-only root: missing the read-everything rule")
				}
			} else if len(writable) != 0 {
				t.Errorf("writable root but per-path write rules: %q", writable)
			}
			for _, r := range []string{"deny mount,", "deny umount,", "deny pivot_root,", "deny network alg,",
				"deny @{PROC}/sysrq-trigger rwklx,", "deny @{PROC}/kcore rwklx,", "deny /sys/firmware/** rwklx,",
				"deny /sys/kernel/security/** rwklx,", "deny /sys/devices/virtual/powercap/** rwklx,",
				"signal (send,receive) peer=" + name + ",", "ptrace (trace,read,tracedby,readby) peer=" + name + ","} {
				if !strings.Contains(text, "  "+r+"\n") {
					t.Errorf("missing rule %q", r)
				}
			}
			if !strings.Contains(text, "profile "+name+" flags=") {
				t.Errorf("profile is not named %s", name)
			}
		})
	}
}

func TestProfileNameIsContentHash(t *testing.T) {
	a, textA := render(t, hardenedSpec())
	b, textB := render(t, hardenedSpec())
	if a != b || textA != textB {
		t.Fatalf("same spec, different profiles: %s vs %s", a, b)
	}
	if !strings.HasPrefix(a, NamePrefix) || len(a) != len(NamePrefix)+12 || strings.Contains(textA, "@NAME@") {
		t.Fatalf("bad name %q", a)
	}
	s := hardenedSpec()
	s.Process.Capabilities = caps("KILL")
	if c, _ := render(t, s); c == a {
		t.Fatalf("different capabilities, same name %s", c)
	}
	// Mount order and duplicate capabilities do not change the profile.
	s = hardenedSpec()
	slices.Reverse(s.Mounts)
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_KILL")
	if d, _ := render(t, s); d != a {
		t.Fatalf("reordered mounts changed the name: %s vs %s", d, a)
	}
}

func TestSubtreeEscapesGlobs(t *testing.T) {
	tests := map[string]string{
		"/tmp":             `"/tmp{,/**}"`,
		"/my dir":          `"/my dir{,/**}"`,
		"/a*b?c[d]e{f}g^h": `"/a\*b\?c\[d\]e\{f\}g\^h{,/**}"`,
		`/q"uote\back`:     `"/q\"uote\\back{,/**}"`,
		"/@{HOME}":         `"/@\{HOME\}{,/**}"`,
	}
	for in, want := range tests {
		if got := subtree(in); got != want {
			t.Errorf("subtree(%q) = %s, want %s", in, got, want)
		}
	}
	if _, err := DataFor(&specs.Spec{Mounts: []specs.Mount{{Destination: "/a\nb"}}}); err == nil {
		t.Error("a newline in a mount destination was accepted")
	}
}

func TestGolden(t *testing.T) {
	_, text := render(t, hardenedSpec())
	golden := filepath.Join("testdata", "default-readonly.profile")
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if text != string(want) {
		t.Errorf("rendered profile differs from %s (run go test -update and review the diff)", golden)
	}
}

// TestProfilesCompile checks every profile the tests render, and the
// validation samples, with the real apparmor_parser.
func TestProfilesCompile(t *testing.T) {
	if _, err := exec.LookPath(DefaultParser); err != nil {
		t.Skipf("skipping: %s not installed (apt-get install apparmor): %v", DefaultParser, err)
	}
	samples := Samples()
	for _, tc := range []struct {
		name string
		spec *specs.Spec
	}{{"hardened", hardenedSpec()}, {"odd paths", oddPaths()}} {
		d, err := DataFor(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, Sample{Name: tc.name, Data: d})
	}
	tp := defaultTemplate(t)
	for _, s := range samples {
		for _, inc := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/includes=%v", s.Name, inc), func(t *testing.T) {
				d := s.Data
				d.Tunables, d.Base = inc, inc
				_, text, err := tp.Render(d)
				if err != nil {
					t.Fatal(err)
				}
				if err := Compile("", text); err != nil {
					t.Fatalf("%v\n%s", err, text)
				}
			})
		}
	}
}

func oddPaths() *specs.Spec {
	s := hardenedSpec()
	for _, d := range []string{"/my dir", "/a*b?c[d]e{f}g^h", `/q"uote\back`, "/@{HOME}", "relative/path", "/trailing/"} {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: d, Type: "bind", Source: "/x"})
	}
	return s
}

func TestEnsureConcurrentLoadsOnce(t *testing.T) {
	h := newFakeHost()
	dir := t.TempDir()
	name, text := render(t, hardenedSpec())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Ensure(h, dir, name, text)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := h.loadCount(); n != 1 {
		t.Fatalf("20 concurrent creates loaded the profile %d times, want 1", n)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || string(got) != text {
		t.Fatalf("profile file: %v", err)
	}
}

func testContext(t *testing.T, mode policy.MACMode) *modifier.Context {
	p, err := policy.Store{}.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	p.AppArmor.Mode = mode
	return &modifier.Context{Verb: "create", ContainerID: "c1", ProfileName: "default", Profile: p, RunDir: t.TempDir()}
}

func TestModifyConfinesWhereAvailable(t *testing.T) {
	h := newFakeHost()
	ctx := testContext(t, policy.MACIfAvailable)
	var names []string
	for range 3 {
		s := hardenedSpec()
		s.Process.ApparmorProfile = "unconfined"
		var r modifier.Report
		if err := harden(h, ctx, s, &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Changes) != 1 || r.Changes[0].Path != field || r.Changes[0].Before != "unconfined" {
			t.Fatalf("changes: %+v", r.Changes)
		}
		names = append(names, s.Process.ApparmorProfile)
	}
	if names[0] != names[2] || !strings.HasPrefix(names[0], NamePrefix) {
		t.Fatalf("profiles %q", names)
	}
	if n := h.loadCount(); n != 1 {
		t.Fatalf("loaded %d times, want once", n)
	}
	if _, err := os.Stat(filepath.Join(ctx.RunDir, "apparmor", names[0])); err != nil {
		t.Fatalf("profile not kept under the run dir: %v", err)
	}
}

func TestModifyDryRunLoadsNothing(t *testing.T) {
	h := newFakeHost()
	ctx := testContext(t, policy.MACRequired)
	ctx.DryRun = true
	s := hardenedSpec()
	if err := harden(h, ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if h.loadCount() != 0 || s.Process.ApparmorProfile == "" {
		t.Fatalf("dry run: loads=%d profile=%q", h.loadCount(), s.Process.ApparmorProfile)
	}
	if entries, _ := os.ReadDir(ctx.RunDir); len(entries) != 0 {
		t.Fatalf("dry run wrote %v", entries)
	}
}

func TestModifyNamedProfile(t *testing.T) {
	h := newFakeHost()
	ctx := testContext(t, policy.MACIfAvailable)
	ctx.Profile.AppArmor.Profile = "site-containers"
	err := harden(h, ctx, hardenedSpec(), &modifier.Report{})
	if d, ok := modifier.AsDenial(err); !ok || d.Rule != "apparmor.profile" {
		t.Fatalf("profile not loaded: got %v, want a denial", err)
	}
	h.loaded["site-containers"] = true
	s := hardenedSpec()
	if err := harden(h, ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if s.Process.ApparmorProfile != "site-containers" || h.loadCount() != 0 {
		t.Fatalf("profile %q, loads %d", s.Process.ApparmorProfile, h.loadCount())
	}
}

func TestModifyMissingParserDenies(t *testing.T) {
	h := newFakeHost()
	h.loadErr = fmt.Errorf("%w: exec: not found", ErrNoParser)
	err := harden(h, testContext(t, policy.MACIfAvailable), hardenedSpec(), &modifier.Report{})
	if d, ok := modifier.AsDenial(err); !ok || !strings.Contains(d.Fix, "install the apparmor package") {
		t.Fatalf("got %v, want a denial telling to install apparmor", err)
	}
}

// TestModes covers the three modes where AppArmor is unavailable, with a
// fake kernel and with this machine's kernel when it lacks AppArmor.
func TestModesWithoutAppArmor(t *testing.T) {
	hosts := map[string]Host{"fake": &fakeHost{off: "the kernel has no AppArmor (test)"}}
	if ok, why := Available(); ok {
		t.Logf("this kernel enforces AppArmor; testing the fake kernel only")
	} else {
		t.Logf("this kernel: %s", why)
		hosts["this kernel"] = System{}
	}
	for hname, h := range hosts {
		for _, mode := range []policy.MACMode{policy.MACIfAvailable, policy.MACRequired, policy.MACOff} {
			t.Run(hname+"/"+string(mode), func(t *testing.T) {
				ctx := testContext(t, mode)
				s := hardenedSpec()
				s.Process.ApparmorProfile = "docker-default"
				var r modifier.Report
				err := harden(h, ctx, s, &r)
				switch mode {
				case policy.MACRequired:
					d, ok := modifier.AsDenial(err)
					if !ok || d.Rule != "apparmor.mode" || !strings.Contains(d.Reason, "requires AppArmor") || !strings.Contains(d.Fix, "if-available") {
						t.Fatalf("got %v, want a denial by apparmor.mode", err)
					}
				case policy.MACIfAvailable:
					// The caller's own profile is an explicit request:
					// denied, as runc would refuse it.
					d, ok := modifier.AsDenial(err)
					if !ok || d.Rule != "apparmor.mode" || !strings.Contains(d.Reason, `asks for AppArmor profile "docker-default"`) {
						t.Fatalf("got %v, want a denial by apparmor.mode naming docker-default", err)
					}
				case policy.MACOff:
					if err != nil || s.Process.ApparmorProfile != "docker-default" || len(r.Changes)+len(ctx.Notes) != 0 {
						t.Fatalf("off touched the spec: err=%v profile=%q", err, s.Process.ApparmorProfile)
					}
				}
			})
		}
	}
}

// TestUnavailableRequests: on a kernel without AppArmor, if-available lets
// through what asks for no confinement and drops hardened-runc's own
// profile; a profile the caller names is denied (runc fails closed on it).
func TestUnavailableRequests(t *testing.T) {
	h := &fakeHost{off: "the kernel has no AppArmor (test)"}
	for _, c := range []struct {
		asked  string
		denied bool
		change bool
	}{
		{"", false, false},
		{"unconfined", false, true},
		{NamePrefix + "0123456789ab", false, true},
		{"docker-default", true, false},
		{"cri-containerd.apparmor.d", true, false},
		{"localhost/my-profile", true, false},
	} {
		ctx := testContext(t, policy.MACIfAvailable)
		s := hardenedSpec()
		s.Process.ApparmorProfile = c.asked
		var r modifier.Report
		err := harden(h, ctx, s, &r)
		if c.denied {
			d, ok := modifier.AsDenial(err)
			if !ok || d.Rule != "apparmor.mode" || !strings.Contains(d.Reason, "runc refuses") || d.Fix == "" {
				t.Errorf("%q: got %v, want a denial by apparmor.mode", c.asked, err)
			}
			if s.Process.ApparmorProfile != c.asked {
				t.Errorf("%q: a denial changed the spec to %q", c.asked, s.Process.ApparmorProfile)
			}
			continue
		}
		if err != nil || s.Process.ApparmorProfile != "" || (len(r.Changes) == 1) != c.change {
			t.Errorf("%q: err=%v profile=%q changes=%+v", c.asked, err, s.Process.ApparmorProfile, r.Changes)
		}
		if len(ctx.Notes) != 1 || !strings.HasPrefix(ctx.Notes[0], "apparmor: not available on this host: ") {
			t.Errorf("%q: notes %q", c.asked, ctx.Notes)
		}
	}
}

func TestModifyProcessClampsToContainer(t *testing.T) {
	container := hardenedSpec()
	container.Process.ApparmorProfile = "hardened-runc-0123456789ab"
	for _, asked := range []string{"", "unconfined", "other", container.Process.ApparmorProfile} {
		p := &specs.Process{ApparmorProfile: asked}
		var r modifier.Report
		if err := modifyProcess(newFakeHost(), testContext(t, policy.MACIfAvailable), container, p, &r); err != nil {
			t.Fatal(err)
		}
		if p.ApparmorProfile != container.Process.ApparmorProfile {
			t.Errorf("exec asked %q, runs under %q", asked, p.ApparmorProfile)
		}
		if changed := len(r.Changes) == 1; changed != (asked != container.Process.ApparmorProfile) {
			t.Errorf("exec asked %q: changes %+v", asked, r.Changes)
		}
	}
}

func TestAvailableReasons(t *testing.T) {
	dir := t.TempDir()
	param := filepath.Join(dir, "enabled")
	fsDir := filepath.Join(dir, "securityfs")
	if ok, why := available(param, fsDir); ok || !strings.Contains(why, "no AppArmor") {
		t.Errorf("missing param: %v %q", ok, why)
	}
	os.WriteFile(param, []byte("N\n"), 0o644)
	if ok, why := available(param, fsDir); ok || !strings.Contains(why, "disabled") {
		t.Errorf("N: %v %q", ok, why)
	}
	os.WriteFile(param, []byte("Y\n"), 0o644)
	if ok, why := available(param, fsDir); ok || !strings.Contains(why, "securityfs") {
		t.Errorf("no securityfs: %v %q", ok, why)
	}
	os.Mkdir(fsDir, 0o755)
	if ok, _ := available(param, fsDir); !ok {
		t.Error("enabled kernel reported unavailable")
	}
}

func TestLoadTemplateRejectsPaths(t *testing.T) {
	for _, name := range []string{"../default.tmpl", "/etc/passwd", ".hidden"} {
		if _, err := LoadTemplate(&policy.Profile{AppArmor: policy.AppArmor{Template: name}}); err == nil {
			t.Errorf("template %q accepted", name)
		}
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "apparmor"), 0o755)
	os.WriteFile(filepath.Join(dir, "apparmor", "site.tmpl"), []byte("profile {{.Name}} {}\n"), 0o644)
	tp, err := LoadTemplate(&policy.Profile{Dir: dir, AppArmor: policy.AppArmor{Template: "site.tmpl"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, text, err := tp.Render(Data{}); err != nil || !strings.HasPrefix(text, "profile hardened-runc-") {
		t.Fatalf("%q %v", text, err)
	}
	noName, err := ParseTemplate("fixed.tmpl", "profile fixed-name {}\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := noName.Render(Data{}); err == nil || !strings.Contains(err.Error(), "{{.Name}}") {
		t.Errorf("template with a fixed profile name: %v", err)
	}
	if _, err := LoadTemplate(&policy.Profile{Dir: dir, AppArmor: policy.AppArmor{Template: "missing.tmpl"}}); err == nil {
		t.Error("missing template accepted")
	}
}

func TestCompileErrorNamesTheLine(t *testing.T) {
	if _, err := exec.LookPath(DefaultParser); err != nil {
		t.Skipf("skipping: %s not installed (apt-get install apparmor): %v", DefaultParser, err)
	}
	err := Compile("", "profile x {\n  capability not_a_cap,\n}\n")
	if err == nil || !strings.Contains(err.Error(), `(line 2: "capability not_a_cap,")`) || strings.Contains(err.Error(), "/tmp/") {
		t.Fatalf("got %v", err)
	}
	if err := Compile("no-such-parser", "profile x {}\n"); !errors.Is(err, ErrNoParser) {
		t.Fatalf("missing parser: %v", err)
	}
}

func TestModifyNotPermitted(t *testing.T) {
	for _, mode := range []policy.MACMode{policy.MACIfAvailable, policy.MACRequired} {
		h := newFakeHost()
		h.loadErr = fmt.Errorf("apparmor_parser -Kr x: %w: Permission denied", ErrNotPermitted)
		ctx := testContext(t, mode)
		s := hardenedSpec()
		s.Process.ApparmorProfile = "engine-profile"
		var r modifier.Report
		err := harden(h, ctx, s, &r)
		if mode == policy.MACRequired {
			if d, ok := modifier.AsDenial(err); !ok || !strings.Contains(d.Fix, "CAP_MAC_ADMIN") {
				t.Fatalf("required: got %v, want a denial", err)
			}
			continue
		}
		if err != nil || s.Process.ApparmorProfile != "engine-profile" || len(r.Changes) != 0 || len(ctx.Notes) != 1 {
			t.Fatalf("if-available: err=%v profile=%q changes=%+v notes=%q", err, s.Process.ApparmorProfile, r.Changes, ctx.Notes)
		}
	}
}

func TestPrivilegedAllowedKeepsEngineProfile(t *testing.T) {
	var all []string
	for _, c := range capability.ListKnown() {
		all = append(all, "CAP_"+strings.ToUpper(c.String()))
	}
	for _, allow := range []bool{true, false} {
		h := newFakeHost()
		ctx := testContext(t, policy.MACRequired)
		ctx.Profile.Capabilities.AllowPrivileged = allow
		s := hardenedSpec()
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all}
		s.Process.ApparmorProfile = "unconfined"
		if err := harden(h, ctx, s, &modifier.Report{}); err != nil {
			t.Fatal(err)
		}
		if kept := s.Process.ApparmorProfile == "unconfined"; kept != allow {
			t.Errorf("allow_privileged=%v: profile %q", allow, s.Process.ApparmorProfile)
		}
	}
}

// BenchmarkGenerate is the per-launch cost where the profile is already
// loaded: read and parse the template, build the data, render twice.
func BenchmarkGenerate(b *testing.B) {
	p := &policy.Profile{}
	s := hardenedSpec()
	h := newFakeHost()
	for b.Loop() {
		if _, _, err := Generate(p, s, h); err != nil {
			b.Fatal(err)
		}
	}
}

// harden runs the modifier the pipeline builds for ctx's profile on host
// h, then, as an enforcing launch does (explain sets DryRun and runs
// none), its effects.
func harden(h Host, ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	return modifier.List{modifierFor(h, ctx)}.Apply(ctx, s, r)
}

// modifierFor is the modifier for ctx's profile on host h.
func modifierFor(h Host, ctx *modifier.Context) *Modifier {
	m := New(ctx.Profile)
	m.Host = h
	return m
}

// modifyProcess runs ModifyProcess of the modifier for ctx's profile on h.
func modifyProcess(h Host, ctx *modifier.Context, container *specs.Spec, p *specs.Process, r *modifier.Report) error {
	return modifierFor(h, ctx).ModifyProcess(ctx, container, p, r)
}

// TestModifyPlansEffectLoads: Modify alone, even for a launch, loads
// nothing; the profile is loaded by its effect, which only an enforcing
// launch runs.
func TestModifyPlansEffectLoads(t *testing.T) {
	h := newFakeHost()
	ctx := testContext(t, policy.MACRequired)
	s := hardenedSpec()
	var r modifier.Report
	if err := modifierFor(h, ctx).Modify(ctx, s, &r); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(ctx.RunDir); h.loadCount() != 0 || len(entries) != 0 {
		t.Fatalf("Modify loaded %d profiles, wrote %v", h.loadCount(), entries)
	}
	if err := ctx.RunEffects(s, &r); err != nil {
		t.Fatal(err)
	}
	if h.loadCount() != 1 || len(r.Changes) != 1 || r.Changes[0].After != s.Process.ApparmorProfile {
		t.Fatalf("effect: loads=%d changes=%v profile=%q", h.loadCount(), r.Changes, s.Process.ApparmorProfile)
	}
}
