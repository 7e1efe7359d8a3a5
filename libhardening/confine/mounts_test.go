package confine

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// hostFixture is a bundle, the runtime's state and a few host objects in a
// temporary directory, judged against the host's real mount table.
type hostFixture struct {
	dir, bundle, state, data string
}

func newHostFixture(t *testing.T) hostFixture {
	t.Helper()
	dir := t.TempDir()
	f := hostFixture{dir: dir, bundle: filepath.Join(dir, "bundle"), state: filepath.Join(dir, "state"), data: filepath.Join(dir, "data")}
	for _, d := range []string{filepath.Join(f.bundle, "rootfs"), f.state, f.data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f hostFixture) spec(mounts ...specs.Mount) *specs.Spec {
	return &specs.Spec{Root: &specs.Root{Path: "rootfs"}, Mounts: mounts, Linux: &specs.Linux{}}
}

// run runs the mounts control of the default profile, changed by edit,
// on s in the fixture's bundle.
func (f hostFixture) run(t *testing.T, s *specs.Spec, edit func(*policy.Profile)) (*modifier.Report, error) {
	t.Helper()
	p := loadProfile(t, "default")
	if edit != nil {
		edit(p)
	}
	ctx := newCtx(p)
	ctx.Bundle, ctx.RunDir, ctx.StatePaths = f.bundle, f.state, []string{f.state}
	r := &modifier.Report{}
	return r, modifier.List{Mounts(p)}.Modify(ctx, s, r)
}

func link(t *testing.T, target, name string) string {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// bindOnto bind-mounts src on a new directory and returns it (root only).
func bindOnto(t *testing.T, src, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(src, dir, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount not possible here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestMountsResolved: sources and root.path are judged as the objects they
// are, however they are spelled.
func TestMountsResolved(t *testing.T) {
	for _, tc := range []struct {
		name string
		// spec builds the case from the fixture; it may create host objects.
		spec  func(t *testing.T, f hostFixture) *specs.Spec
		rule  string // "" when allowed
		named string // the denial's reason names it
	}{
		{"writable bind of a symlink to /etc", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(link(t, "/etc", filepath.Join(f.dir, "l")), "/x"))
		}, "mounts.deny_writable_sources", "/etc"},
		{"writable bind via .. after a symlink", func(t *testing.T, f hostFixture) *specs.Spec {
			link(t, "/etc/ssl", filepath.Join(f.dir, "ssl"))
			return f.spec(bind(f.dir+"/ssl/../passwd", "/x"))
		}, "mounts.deny_writable_sources", "/etc/passwd"},
		{"relative source climbing to /etc", func(t *testing.T, f hostFixture) *specs.Spec {
			rel, _ := filepath.Rel(f.bundle, "/etc")
			return f.spec(bind(rel, "/x"))
		}, "mounts.deny_writable_sources", "/etc"},
		{"missing source", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(filepath.Join(f.dir, "nope"), "/x"))
		}, "mounts.resolve", "nope"},
		{"volume _data that is a bind mount of /etc", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(bindOnto(t, "/etc", filepath.Join(f.dir, "volumes/v/_data")), "/data"))
		}, "mounts.deny_writable_sources", "/etc"},
		{"ordinary data directory", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(f.data, "/data"))
		}, "", ""},
		{"read-only /etc through a symlink", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(link(t, "/etc", filepath.Join(f.dir, "l")), "/x", "ro"))
		}, "", ""},
		{"filesystem type not allowed", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(specs.Mount{Type: "ext4", Source: "/dev/vda", Destination: "/disk"})
		}, "mounts.allow_types", "ext4"},
		{"overlay not allowed", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(specs.Mount{Type: "overlay", Source: "overlay", Destination: "/o", Options: []string{"lowerdir=" + f.data + ":/etc"}})
		}, "mounts.allow_types", "overlay"},
		{"root.path /", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = "/"
			return s
		}, "root.path", "host system directory /"},
		{"root.path climbing to /", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path, _ = filepath.Rel(f.bundle, "/")
			return s
		}, "root.path", "host system directory /"},
		{"root.path symlink to /usr", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = link(t, "/usr", filepath.Join(f.bundle, "r"))
			return s
		}, "root.path", "/usr"},
		{"root.path under /etc", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = "/etc/ssl"
			return s
		}, "root.path", "/etc/ssl"},
		{"root.path a file", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = "/etc/hostname"
			return s
		}, "root.path", "not a directory"},
		{"root.path missing", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = "nope"
			return s
		}, "root.path", "cannot be resolved"},
		{"root.path the run directory", func(t *testing.T, f hostFixture) *specs.Spec {
			s := f.spec()
			s.Root.Path = f.state
			return s
		}, "mounts.runtime_state", "runtime's own state"},
		{"bind of the run directory read-only", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(f.state, "/s", "ro"))
		}, "mounts.runtime_state", "is in the runtime's own state"},
		{"bind of a parent of the run directory", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(f.dir, "/s", "ro"))
		}, "mounts.runtime_state", "contains the runtime's own state"},
		{"bind of a file in the run directory", func(t *testing.T, f hostFixture) *specs.Spec {
			p := filepath.Join(f.state, "table")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f.spec(bind(p, "/s", "ro"))
		}, "mounts.runtime_state", "table"},
		{"bind of the run directory bound elsewhere", func(t *testing.T, f hostFixture) *specs.Spec {
			return f.spec(bind(bindOnto(t, f.state, filepath.Join(f.data, "elsewhere")), "/s", "ro"))
		}, "mounts.runtime_state", "runtime's own state"},
		{"recursive bind bringing the run directory along", func(t *testing.T, f hostFixture) *specs.Spec {
			other := filepath.Join(t.TempDir(), "other")
			bindOnto(t, f.state, filepath.Join(other, "sub"))
			return f.spec(bind(other, "/o", "ro"))
		}, "mounts.runtime_state", "comes along"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			s := tc.spec(t, f)
			before := clone(t, s)
			_, err := f.run(t, s, func(p *policy.Profile) { p.Mounts.AllowTypes = nil })
			if tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			d := mustDeny(t, err, tc.rule)
			if !strings.Contains(d.Reason, tc.named) {
				t.Fatalf("reason %q does not name %q", d.Reason, tc.named)
			}
			if msg := sameSpec(t, before, s); msg != "" {
				t.Fatalf("a denied spec was edited: %s", msg)
			}
		})
	}
}

func sameSpec(t *testing.T, a, b *specs.Spec) string {
	x, y := clone(t, a), clone(t, b)
	if x.Root.Path != y.Root.Path || len(x.Mounts) != len(y.Mounts) {
		return "root or mounts changed"
	}
	for i := range x.Mounts {
		if x.Mounts[i].Source != y.Mounts[i].Source || strings.Join(x.Mounts[i].Options, ",") != strings.Join(y.Mounts[i].Options, ",") {
			return "mount " + x.Mounts[i].Destination + " changed"
		}
	}
	return ""
}

// TestOverlayLayers: with overlay allowed, every layer is a bind source.
func TestOverlayLayers(t *testing.T) {
	for _, tc := range []struct {
		name, opts, rule string
	}{
		{"lowerdir=...:/etc read-only", "lowerdir=DATA:/etc,upperdir=UP,workdir=WORK", ""},
		{"upperdir /etc", "lowerdir=DATA,upperdir=/etc,workdir=WORK", "mounts.deny_writable_sources"},
		{"lowerdir /proc", "lowerdir=DATA:/proc", "mounts.deny_sources"},
		{"relative layer", "lowerdir=data", "mounts.resolve"},
		{"lowerdir in the run directory", "lowerdir=DATA:STATE", "mounts.runtime_state"},
		{"escaped colon in a missing layer", `lowerdir=DATA\:x`, "mounts.resolve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			up, work := filepath.Join(f.dir, "up"), filepath.Join(f.dir, "work")
			for _, d := range []string{up, work} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			opts := strings.NewReplacer("DATA", f.data, "UP", up, "WORK", work, "STATE", f.state).Replace(tc.opts)
			s := f.spec(specs.Mount{Type: "overlay", Source: "overlay", Destination: "/o", Options: strings.Split(opts, ",")})
			_, err := f.run(t, s, func(p *policy.Profile) { p.Mounts.AllowTypes = []string{"overlay"} })
			if tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustDeny(t, err, tc.rule)
		})
	}
}

// TestSocketsByWhatTheyAre: a socket owned by host root is found under a
// source whatever its name; a container's own socket in a volume is not a
// host socket.
func TestSocketsByWhatTheyAre(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the socket must be owned by host root, and the other by someone else")
	}
	for _, tc := range []struct {
		name      string
		listen    bool
		uid       int
		depth     string
		wantDeny  bool
		readOnlyy bool
	}{
		{"root's listening socket, read-only bind", true, 0, "a", true, true},
		{"root's socket file nobody listens on, deep", false, 0, "a/b/c/d", true, false},
		{"a user's socket", true, 1000, "a", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			dir := filepath.Join(f.data, tc.depth)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "api.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			if tc.listen {
				defer l.Close()
			} else {
				l.(*net.UnixListener).SetUnlinkOnClose(false)
				l.Close()
			}
			if err := os.Lchown(sock, tc.uid, tc.uid); err != nil {
				t.Fatal(err)
			}
			opts := []string{}
			if tc.readOnlyy {
				opts = append(opts, "ro")
			}
			_, err = f.run(t, f.spec(bind(f.data, "/d", opts...)), nil)
			if !tc.wantDeny {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			d := mustDeny(t, err, "mounts.engine_sockets")
			if !strings.Contains(d.Reason, sock) {
				t.Fatalf("reason %q does not name %s", d.Reason, sock)
			}
			// The socket itself as the source.
			_, err = f.run(t, f.spec(bind(sock, "/s.sock")), nil)
			mustDeny(t, err, "mounts.engine_sockets")
		})
	}
}

// TestLockedFlags: a bind of a directory on a nosuid,nodev,noexec,ro
// mount gets those flags, so runc 1.1 can remount it in the container's
// user namespace.
func TestLockedFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	f := newHostFixture(t)
	mnt := filepath.Join(f.dir, "tmpfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME, "size=1m"); err != nil {
		t.Skipf("tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := os.Mkdir(filepath.Join(mnt, "shm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", mnt, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOATIME, ""); err != nil {
		t.Fatal(err)
	}
	s := f.spec(bind(filepath.Join(mnt, "shm"), "/dev/shm", "rw", "exec", "strictatime"))
	r, err := f.run(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Mounts[0].Options
	for _, o := range []string{"ro", "nosuid", "nodev", "noexec", "noatime"} {
		if !hasOption(got, o) {
			t.Errorf("options %v lack the locked %s", got, o)
		}
	}
	for _, o := range []string{"rw", "exec", "strictatime"} {
		if hasOption(got, o) {
			t.Errorf("options %v keep %s, which the locked flags undo", got, o)
		}
	}
	if len(r.Changes) == 0 {
		t.Fatal("no change recorded")
	}
	r2, err := f.run(t, s, nil)
	if err != nil || len(r2.Changes) != 0 {
		t.Fatalf("second run: %v, changes %v", err, r2.Changes)
	}
}

// TestSourceRewritten: a source spelled through a symlink is mounted by
// its canonical path, so a swapped symlink cannot change what runc binds.
func TestSourceRewritten(t *testing.T) {
	f := newHostFixture(t)
	l := link(t, f.data, filepath.Join(f.dir, "l"))
	s := f.spec(bind(l, "/d"))
	s.Root.Path = link(t, filepath.Join(f.bundle, "rootfs"), filepath.Join(f.dir, "rl"))
	if _, err := f.run(t, s, nil); err != nil {
		t.Fatal(err)
	}
	if s.Mounts[0].Source != f.data || s.Root.Path != filepath.Join(f.bundle, "rootfs") {
		t.Fatalf("source %s root %s, want %s and the bundle's rootfs", s.Mounts[0].Source, s.Root.Path, f.data)
	}
	s2 := f.spec(bind("../data", "/d"))
	if _, err := f.run(t, s2, nil); err != nil {
		t.Fatal(err)
	}
	if s2.Root.Path != "rootfs" {
		t.Fatalf("a relative root without symlinks is kept as written, got %s", s2.Root.Path)
	}
}

// TestSpellingJudgedFirst: a source named like a denied path is denied for
// that, with the rule that names it, also where it does not exist.
func TestSpellingJudgedFirst(t *testing.T) {
	f := newHostFixture(t)
	_, err := f.run(t, f.spec(bind("/var/run/hr-test-absent/docker.sock", "/d.sock", "ro")), nil)
	mustDeny(t, err, "mounts.deny_sources")
}

// TestRootInRunDirGone: a root.path in the run directory is named as the
// runtime's state even after the directory is gone (a re-run config.json).
func TestRootInRunDirGone(t *testing.T) {
	f := newHostFixture(t)
	s := f.spec()
	s.Root.Path = filepath.Join(f.state, "c1", "rootfs")
	_, err := f.run(t, s, nil)
	d := mustDeny(t, err, "mounts.runtime_state")
	if !strings.Contains(d.Fix, "earlier run") {
		t.Fatalf("fix %q does not explain the re-run", d.Fix)
	}
}

// TestVolumeBoundElsewhere: a Docker volume whose _data is a bind mount of
// another directory is bound by that directory's path, so the user
// namespace does not idmap it as a named volume.
func TestVolumeBoundElsewhere(t *testing.T) {
	f := newHostFixture(t)
	data := bindOnto(t, f.data, filepath.Join(f.dir, "volumes", "v", "_data"))
	s := f.spec(bind(data, "/d"))
	if _, err := f.run(t, s, nil); err != nil {
		t.Fatal(err)
	}
	if s.Mounts[0].Source != f.data {
		t.Fatalf("source %s, want the directory it is, %s", s.Mounts[0].Source, f.data)
	}
	// Something mounted over the real directory: the path no longer
	// reaches the volume's object.
	bindOnto(t, t.TempDir(), f.data)
	_, err := f.run(t, f.spec(bind(data, "/d")), nil)
	mustDeny(t, err, "mounts.resolve")
}
