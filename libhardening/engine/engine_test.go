package engine

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

type goldenCase struct {
	name    string
	engine  Kind
	fixture string // file under testdata/, copied as the main config
	dropIn  string // relative to the temp dir, "" for the engine default
	setDef  bool
}

var goldenCases = []goldenCase{
	{name: "docker", engine: Docker, fixture: "daemon.json"},
	{name: "docker-default", engine: Docker, fixture: "daemon.json", setDef: true},
	{name: "docker-runtimes-null", engine: Docker, fixture: "daemon-runtimes-null.json", setDef: true},
	{name: "docker-missing", engine: Docker},
	{name: "containerd-1.6", engine: Containerd, fixture: "containerd-1.6.toml"},
	{name: "containerd-1.6-default", engine: Containerd, fixture: "containerd-1.6.toml", setDef: true},
	{name: "containerd-1.7", engine: Containerd, fixture: "containerd-1.7.toml", setDef: true},
	{name: "containerd-2.x", engine: Containerd, fixture: "containerd-2.x.toml", setDef: true},
	{name: "containerd-2.4", engine: Containerd, fixture: "containerd-2.4.toml", setDef: true},
	{name: "containerd-2.4-dropin", engine: Containerd, fixture: "containerd-2.4.toml", dropIn: "conf.d/99-hardened-runc.toml"},
	{name: "containerd-v1", engine: Containerd, fixture: "containerd-v1.toml"},
	{name: "containerd-missing", engine: Containerd},
	{name: "containerd-1.6-dropin", engine: Containerd, fixture: "containerd-1.6.toml", dropIn: "conf.d/99-hardened-runc.toml", setDef: true},
	{name: "containerd-2.x-dropin", engine: Containerd, fixture: "containerd-2.x.toml", dropIn: "conf.d/99-hardened-runc.toml"},
	{name: "crio-dropin", engine: CRIO, fixture: "crio.conf", setDef: true},
	{name: "crio-main", engine: CRIO, fixture: "crio.conf", dropIn: NoDropIn},
	{name: "podman", engine: Podman, fixture: "containers.conf", setDef: true},
	{name: "podman-dropin", engine: Podman, fixture: "containers.conf", dropIn: "containers.conf.d/99-hardened-runc.conf"},
}

func (c goldenCase) options(dir string) Options {
	cfg := "config"
	if c.fixture != "" {
		cfg = c.fixture
	}
	o := Options{Engine: c.engine, Config: filepath.Join(dir, cfg), SetAsDefault: c.setDef}
	switch {
	case c.dropIn == NoDropIn:
		o.DropIn = NoDropIn
	case c.dropIn != "":
		o.DropIn = filepath.Join(dir, c.dropIn)
	}
	return o
}

// snapshot maps every regular file under dir (relative name) to its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func setup(t *testing.T, c goldenCase) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	if c.fixture != "" {
		data, err := os.ReadFile(filepath.Join("testdata", c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.fixture), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir, snapshot(t, dir)
}

func apply(t *testing.T, p *Plan, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigureGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			dir, original := setup(t, c)
			o := c.options(dir)
			p, err := Configure(o)
			apply(t, p, err)
			if !p.Changed() || p.Restart != Restart(c.engine) {
				t.Fatalf("first configure: changed=%v restart=%q", p.Changed(), p.Restart)
			}
			after := snapshot(t, dir)
			for name, content := range after {
				if strings.HasSuffix(name, BackupSuffix) {
					if content != original[strings.TrimSuffix(name, BackupSuffix)] {
						t.Errorf("backup %s does not hold the original bytes", name)
					}
					continue
				}
				if content == original[name] {
					continue // untouched (e.g. the main file beside a drop-in)
				}
				// Drop-in paths land in the main file: make them stable.
				content = strings.ReplaceAll(content, dir, "$DIR")
				checkGolden(t, c.name+"__"+strings.ReplaceAll(name, "/", "_"), content)
			}
			if c.fixture != "" {
				if st, _ := os.Stat(o.Config); st != nil && st.Mode().Perm() != 0o640 {
					t.Errorf("mode of %s changed to %v", o.Config, st.Mode().Perm())
				}
			}

			// Idempotent: a second run plans nothing and leaves every byte.
			p2, err := Configure(o)
			apply(t, p2, err)
			if p2.Changed() || p2.Restart != "" {
				t.Errorf("second configure changed %d files", len(p2.Changes))
			}
			assertSame(t, "second configure", after, snapshot(t, dir))

			// Unconfigure gives back the original bytes and drops the backup.
			p3, err := Unconfigure(Options{Engine: o.Engine, Config: o.Config, DropIn: o.DropIn})
			apply(t, p3, err)
			assertSame(t, "unconfigure", original, snapshot(t, dir))
			p4, err := Unconfigure(o)
			if err != nil || p4.Changed() {
				t.Errorf("second unconfigure: %v, %d changes", err, len(p4.Changes))
			}
		})
	}
}

func assertSame(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s differs:\n got: %q\nwant: %q", what, name, trunc(got[name]), trunc(w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected file %s", what, name)
		}
	}
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", name, err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s:\n%s", name, path, got)
	}
}

// After configure, the admin edits the file; unconfigure must keep the
// admin's edit and remove only our keys.
func TestUnconfigureKeepsLaterEdits(t *testing.T) {
	cases := []struct {
		c      goldenCase
		edit   func(string) string
		keep   string // must still be there
		absent []string
	}{
		{
			c:      goldenCase{engine: Docker, fixture: "daemon.json", setDef: true},
			edit:   func(s string) string { return strings.Replace(s, `"debug-later"`, `"x"`, 1) + "" },
			keep:   `"mtu": 1450`,
			absent: []string{`"hardened"`, "hardened-runc"},
		},
		{
			c:      goldenCase{engine: Containerd, fixture: "containerd-1.6.toml", setDef: true},
			edit:   func(s string) string { return strings.Replace(s, "oom_score = 0", "oom_score = -999", 1) },
			keep:   "oom_score = -999",
			absent: []string{"hardened"},
		},
		{
			c:      goldenCase{engine: Podman, fixture: "containers.conf", setDef: true},
			edit:   func(s string) string { return strings.Replace(s, "num_locks = 2048", "num_locks = 4096", 1) },
			keep:   "num_locks = 4096",
			absent: []string{"hardened"},
		},
	}
	for _, tc := range cases {
		t.Run(string(tc.c.engine), func(t *testing.T) {
			dir, _ := setup(t, tc.c)
			o := tc.c.options(dir)
			p, err := Configure(o)
			apply(t, p, err)
			data, _ := os.ReadFile(o.Config)
			edited := tc.edit(string(data))
			if tc.c.engine == Docker {
				edited = strings.Replace(edited, `"mtu": 1450`, `"mtu": 1450, "debug": true`, 1)
				tc.keep = `"debug": true`
			}
			if err := os.WriteFile(o.Config, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err = Unconfigure(o)
			apply(t, p, err)
			got, _ := os.ReadFile(o.Config)
			if !strings.Contains(string(got), tc.keep) {
				t.Errorf("the admin's edit %q was lost:\n%s", tc.keep, got)
			}
			for _, a := range tc.absent {
				if strings.Contains(string(got), a) {
					t.Errorf("%q still present after unconfigure:\n%s", a, got)
				}
			}
		})
	}
}

func TestMalformedInputsAreUntouched(t *testing.T) {
	cases := []struct {
		engine  Kind
		fixture string
	}{
		{Docker, "daemon-malformed.json"},
		{Docker, "daemon-runtimes-array.json"},
		{Containerd, "containerd-malformed.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			c := goldenCase{engine: tc.engine, fixture: tc.fixture}
			dir, original := setup(t, c)
			o := c.options(dir)
			for _, run := range []func(Options) (*Plan, error){Configure, Unconfigure} {
				_, err := run(o)
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("err = %v, want ErrMalformed", err)
				}
				if err != nil && !strings.Contains(err.Error(), o.Config) {
					t.Errorf("error %q does not name the file", err)
				}
			}
			assertSame(t, "malformed", original, snapshot(t, dir))
		})
	}
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Engine: "lxc"}, "unknown engine"},
		{Options{Engine: Docker, RuntimePath: "hardened-runc"}, "must be absolute"},
		{Options{Engine: Docker, DropIn: "/tmp/x.json"}, "no drop-in"},
	}
	for _, tc := range cases {
		if _, err := Configure(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.o, err, tc.want)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte("root = \"/x\"\n"), 0o644)
	if _, err := Configure(Options{Engine: Containerd, Config: cfg, DropIn: filepath.Join(dir, "d.toml")}); err == nil || !strings.Contains(err.Error(), "version 1 has no imports") {
		t.Errorf("v1 drop-in: err = %v", err)
	}
}

// An existing imports glob that already covers the drop-in leaves the
// admin's main file byte-identical.
func TestContainerdDropInCoveredByImports(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	main := []byte("# admin comment\nversion = 3\nimports = [\"" + dir + "/conf.d/*.toml\"]\n")
	os.WriteFile(cfg, main, 0o644)
	p, err := Configure(Options{Engine: Containerd, Config: cfg, DropIn: filepath.Join(dir, "conf.d", "99-hardened-runc.toml")})
	apply(t, p, err)
	if got, _ := os.ReadFile(cfg); !bytes.Equal(got, main) {
		t.Errorf("main file changed:\n%s", got)
	}
	if len(p.Changes) != 1 {
		t.Errorf("changes = %d, want only the drop-in", len(p.Changes))
	}
}

func TestInspect(t *testing.T) {
	for _, c := range []goldenCase{
		{engine: Docker, fixture: "daemon.json", setDef: true},
		{engine: Containerd, fixture: "containerd-1.6.toml", dropIn: "conf.d/99-hardened-runc.toml", setDef: true},
		{engine: Containerd, fixture: "containerd-2.x.toml"},
		{engine: CRIO, fixture: "crio.conf", setDef: true},
		{engine: Podman, fixture: "containers.conf", setDef: true},
	} {
		t.Run(string(c.engine), func(t *testing.T) {
			dir, _ := setup(t, c)
			o := c.options(dir)
			before, err := Inspect(c.engine, o.Config, "hardened-runc")
			if err != nil || len(before.Runtimes) != 0 || before.IsDefault {
				t.Fatalf("before configure: %+v, %v", before, err)
			}
			p, err := Configure(o)
			apply(t, p, err)
			st, err := Inspect(c.engine, o.Config, "hardened-runc")
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Runtimes) != 1 || st.Runtimes[0] != "hardened" || st.IsDefault != c.setDef {
				t.Errorf("after configure: %+v", st)
			}
		})
	}
}

// Unconfigure restores the original bytes without being told the
// --runtime-path or --set-as-default that configure was given.
func TestUnconfigureWithoutConfigureFlags(t *testing.T) {
	for _, c := range []goldenCase{
		{engine: Docker, fixture: "daemon.json", setDef: true},
		{engine: Containerd, fixture: "containerd-2.x.toml", setDef: true},
		{engine: CRIO, fixture: "crio.conf", dropIn: NoDropIn, setDef: true},
		{engine: Podman, fixture: "containers.conf"},
	} {
		t.Run(string(c.engine), func(t *testing.T) {
			dir, original := setup(t, c)
			o := c.options(dir)
			o.RuntimePath = "/opt/hr/bin/hardened-runc"
			p, err := Configure(o)
			apply(t, p, err)
			p, err = Unconfigure(Options{Engine: c.engine, Config: o.Config, DropIn: o.DropIn})
			apply(t, p, err)
			assertSame(t, "unconfigure", original, snapshot(t, dir))
		})
	}
}

// containerd itself must read what configure writes: `containerd config
// dump` of the result (main file, or main file plus drop-in through
// imports) shows the handler and the default runtime.
func TestContainerdReadsResult(t *testing.T) {
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skip("SKIP: containerd not installed; cannot check that it parses the result")
	}
	for _, c := range []goldenCase{
		{name: "main", engine: Containerd, fixture: "containerd-1.6.toml", setDef: true},
		{name: "drop-in", engine: Containerd, fixture: "containerd-1.6.toml", dropIn: "conf.d/99-hardened-runc.toml", setDef: true},
		{name: "1.7 fixture", engine: Containerd, fixture: "containerd-1.7.toml", setDef: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := setup(t, c)
			o := c.options(dir)
			p, err := Configure(o)
			apply(t, p, err)
			out, err := exec.Command("containerd", "--config", o.Config, "config", "dump").CombinedOutput()
			if err != nil {
				t.Fatalf("containerd config dump: %v\n%s", err, out)
			}
			for _, want := range []string{
				`default_runtime_name = "hardened"`,
				`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hardened.options]`,
				`BinaryName = "/usr/local/bin/hardened-runc"`,
				`pod_annotations = ["hardened-runc.io/*"]`,
				// The CRI section survived the import (drop-in case).
				`snapshotter = "overlayfs"`,
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("containerd config dump lacks %s", want)
				}
			}
		})
	}
}

// containerd 2.3+ writes `version = 4` (v2.4.2's `config default`); the
// handler goes where version 3 has it. A version containerd does not know
// yet is refused untouched.
func TestContainerdConfigVersions(t *testing.T) {
	for _, c := range []struct {
		version int
		ok      bool
	}{{2, true}, {3, true}, {4, true}, {5, false}, {0, false}} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.toml")
		orig := []byte(fmt.Sprintf("version = %d\n", c.version))
		os.WriteFile(cfg, orig, 0o644)
		p, err := Configure(Options{Engine: Containerd, Config: cfg, RuntimeName: "hardened", RuntimePath: "/usr/local/bin/hardened-runc"})
		if !c.ok {
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("version %d: err = %v, want ErrMalformed", c.version, err)
			}
			if got, _ := os.ReadFile(cfg); !bytes.Equal(got, orig) {
				t.Errorf("version %d: refused config changed", c.version)
			}
			continue
		}
		apply(t, p, err)
		st, err := Inspect(Containerd, cfg, "hardened-runc")
		if err != nil || len(st.Runtimes) != 1 {
			t.Errorf("version %d: inspect after configure: %+v %v", c.version, st, err)
		}
		data, _ := os.ReadFile(cfg)
		if plugin := containerdPlugin(int64(c.version)); !strings.Contains(string(data), plugin) {
			t.Errorf("version %d: handler not under %s:\n%s", c.version, plugin, data)
		}
	}
}

// A one-line imports list (containerd 2.x's default) gets the drop-in
// appended on that line: every other byte of the admin's file stays, and
// unconfigure gives the file back byte for byte.
func TestContainerdDropInOneLineImports(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	main := []byte("version = 4\n# admin comment\nimports = ['/etc/containerd/conf.d/*.toml']\n\n[plugins]\n  [plugins.'io.containerd.cri.v1.runtime']\n    enable_selinux = false\n")
	os.WriteFile(cfg, main, 0o644)
	dropIn := filepath.Join(dir, "conf.d", "99-hardened-runc.toml")
	o := Options{Engine: Containerd, Config: cfg, DropIn: dropIn, RuntimeName: "hardened", RuntimePath: "/usr/local/bin/hardened-runc"}
	p, err := Configure(o)
	apply(t, p, err)
	got, _ := os.ReadFile(cfg)
	want := bytes.Replace(main, []byte("imports = ['/etc/containerd/conf.d/*.toml']\n"), []byte("imports = ['/etc/containerd/conf.d/*.toml', "+strconv.Quote(dropIn)+"]\n"), 1)
	if !bytes.Equal(got, want) {
		t.Errorf("main file:\n%s\nwant:\n%s", got, want)
	}
	p, err = Unconfigure(o)
	apply(t, p, err)
	if got, _ := os.ReadFile(cfg); !bytes.Equal(got, main) {
		t.Errorf("after unconfigure:\n%s\nwant:\n%s", got, main)
	}
}
