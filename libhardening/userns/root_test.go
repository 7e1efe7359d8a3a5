package userns

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// lower is a runc binary the root tests run containers with.
type lower struct {
	name, path string
	idmap      bool
}

func lowers(t *testing.T) []lower {
	all := []lower{{"runc-1.1", "/usr/sbin/runc", false}, {"runc-1.5", "/opt/hardened-runc-test/runc-1.5/runc", true}}
	var out []lower
	for _, l := range all {
		if _, err := os.Stat(l.path); err != nil {
			t.Logf("lower %s not installed at %s: not tested", l.name, l.path)
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		t.Skip("skipped: no runc installed")
	}
	return out
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (mounts, user namespaces, runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("skipped: needs a static /bin/busybox for the test rootfs")
	}
}

// busyboxRootfs builds an image-like root owned by root, with a 0600 file
// only root may read and a directory owned by uid 1000.
func busyboxRootfs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "home/user"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "cat", "stat", "id", "touch", "ls", "sleep", "chown", "echo"} {
		os.Symlink("busybox", filepath.Join(dir, "bin", l))
	}
	os.WriteFile(filepath.Join(dir, "etc/secret"), []byte("image-secret\n"), 0o600)
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	os.Chown(filepath.Join(dir, "home/user"), 1000, 1000)
}

type fixture struct {
	t        *testing.T
	runDir   string
	stateDir string
	mod      *Modifier
}

func newFixture(t *testing.T) *fixture {
	dir := searchableTempDir(t)
	// A pool of its own, far from anything on the host: 3·2^30.
	sub := filepath.Join(dir, "subid")
	os.WriteFile(sub, []byte(fmt.Sprintf("hardened-runc:%d:%d\n", 3<<30, 65536*200)), 0o644)
	f := &fixture{t: t, runDir: filepath.Join(dir, "run"), stateDir: filepath.Join(dir, "runc"),
		mod: NewWithOptions(policy.Userns{}, Options{SubUIDFile: sub, SubGIDFile: sub})}
	t.Cleanup(func() { GC(f.runDir, func(Entry) bool { return false }) })
	return f
}

func (f *fixture) ctx(l lower, id, bundle string, readonly bool) *modifier.Context {
	p := &policy.Profile{Mode: policy.ModeEnforce, Userns: policy.Userns{Mode: "enabled", Size: 65536, SubIDUser: "hardened-runc", Fallback: "deny"}}
	if readonly {
		p.Rootfs.Readonly = policy.ControlEnforce
	}
	return &modifier.Context{Verb: "run", ContainerID: id, Bundle: bundle, Root: f.stateDir, Profile: p, ProfileName: "test",
		RunDir: f.runDir, Lower: modifier.Lower{Path: l.path, Features: &modifier.Features{IDMap: l.idmap}}}
}

// harden runs the modifier the pipeline builds for ctx's profile and then,
// as an enforcing launch does, its effects.
func (f *fixture) harden(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if err := NewWithOptions(ctx.Profile.Userns, f.mod.opts).Modify(ctx, s, r); err != nil {
		return err
	}
	return ctx.RunEffects(s, r)
}

// runcSpec is runc's own default config with the given root and command.
func runcSpec(t *testing.T, rootPath string, args ...string) *specs.Spec {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("/opt/hardened-runc-test/runc-1.5/runc", "spec", "-b", dir)
	if _, err := os.Stat(cmd.Path); err != nil {
		cmd = exec.Command("/usr/sbin/runc", "spec", "-b", dir)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	s := &specs.Spec{}
	if err := json.Unmarshal(data, s); err != nil {
		t.Fatal(err)
	}
	s.Root = &specs.Root{Path: rootPath}
	s.Process.Terminal = false
	s.Process.Args = args
	return s
}

func writeSpec(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	data, _ := json.MarshalIndent(s, "", " ")
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runc runs verb through l with the fixture's state dir.
func (f *fixture) runc(l lower, args ...string) (string, error) {
	cmd := exec.Command(l.path, append([]string{"--root", f.stateDir}, args...)...)
	// A file, not a pipe: after `runc create` the container's init keeps
	// its stdio open, and a pipe would never reach EOF.
	out, err := os.CreateTemp(f.t.TempDir(), "runc-out")
	if err != nil {
		return "", err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	data, _ := os.ReadFile(out.Name())
	return string(data), err
}

// TestPlainDirRootfsInRunc runs a real container from a plain directory
// rootfs on ext4: inside, root-owned 0600 files are readable and show as
// uid 0, the uid_map has a non-zero base, and the host sees the mapped IDs.
func TestPlainDirRootfsInRunc(t *testing.T) {
	requireRoot(t)
	for _, l := range lowers(t) {
		t.Run(l.name, func(t *testing.T) {
			f := newFixture(t)
			bundle := searchableTempDir(t)
			busyboxRootfs(t, filepath.Join(bundle, "rootfs"))
			s := runcSpec(t, "rootfs", "sh", "-c", "cat /proc/self/uid_map; stat -c %u:%g /etc/secret; cat /etc/secret; stat -c %u /home/user; id -u; touch /tmp/x && stat -c %u /tmp/x")
			ctx, out := f.launch(t, l, "plain-"+l.name, bundle, s, false)
			lines := strings.Fields(out)
			if len(lines) < 8 {
				t.Fatalf("output: %q", out)
			}
			base := s.Linux.UIDMappings[0].HostID
			if lines[0] != "0" || lines[1] != fmt.Sprint(base) || base == 0 {
				t.Errorf("uid_map = %v, want 0 %d 65536", lines[:3], base)
			}
			want := []string{"0:0", "image-secret", "1000", "0", "0"}
			if got := lines[3:8]; strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("inside: got %v, want %v", got, want)
			}
			// Written through the idmapped mount as container root: host root on disk.
			var st = mustStat(t, filepath.Join(bundle, "rootfs/tmp/x"))
			if st.uid != 0 {
				t.Errorf("file written by container root is uid %d on disk, want 0 (unshifted)", st.uid)
			}
			f.release(t, l, ctx)
		})
	}
}

// launch hardens s for container id and runs it in the foreground with l.
func (f *fixture) launch(t *testing.T, l lower, id, bundle string, s *specs.Spec, readonly bool) (*modifier.Context, string) {
	t.Helper()
	ctx := f.ctx(l, id, bundle, readonly)
	if err := f.harden(ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	writeSpec(t, bundle, s)
	out, err := f.runc(l, "run", "-b", bundle, id)
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	return ctx, out
}

// release deletes the container and checks that Cleanup leaves no mount.
func (f *fixture) release(t *testing.T, l lower, ctx *modifier.Context) {
	t.Helper()
	f.runc(l, "delete", "-f", ctx.ContainerID)
	if err := f.mod.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := MountsUnder(f.runDir); n != 0 {
		t.Errorf("%d mounts left under %s", n, f.runDir)
	}
}

// searchableTempDir is a t.TempDir the mapped root can traverse (TempDir
// makes 0700 directories).
func searchableTempDir(t *testing.T) string {
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		os.Chmod(p, 0o711)
	}
	return d
}
