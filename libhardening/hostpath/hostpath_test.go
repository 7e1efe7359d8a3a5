package hostpath

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// table is a host with the root filesystem on 254:0, /boot on 254:1, a
// bind of /etc into a Docker volume, a bind of a subdirectory of /boot,
// a btrfs-like filesystem whose whole mount is a subvolume, and a tmpfs.
func table() *Table {
	return NewTable([]*mountinfo.Info{
		{ID: 1, Major: 254, Minor: 0, Root: "/", Mountpoint: "/", Options: "rw,relatime"},
		{ID: 2, Major: 254, Minor: 1, Root: "/", Mountpoint: "/boot", Options: "rw,nosuid,nodev,noexec,noatime"},
		{ID: 3, Major: 254, Minor: 0, Root: "/etc", Mountpoint: "/var/lib/docker/volumes/v/_data", Options: "rw,relatime"},
		{ID: 4, Major: 254, Minor: 1, Root: "/grub", Mountpoint: "/srv/g", Options: "ro,relatime"},
		{ID: 5, Major: 0, Minor: 50, Root: "/@home", Mountpoint: "/home", Options: "rw"},
		{ID: 6, Major: 0, Minor: 50, Root: "/@home/u/etc", Mountpoint: "/srv/h", Options: "rw"},
		{ID: 7, Major: 0, Minor: 60, Root: "/x", Mountpoint: "/srv/orphan", Options: "rw"},
		{ID: 8, Major: 0, Minor: 61, Root: "/", Mountpoint: "/srv/stack", Options: "rw"},
		{ID: 9, Major: 0, Minor: 62, Root: "/", Mountpoint: "/srv/stack", Options: "ro"},
	})
}

func TestHostPath(t *testing.T) {
	tb := table()
	for _, tc := range []struct {
		path, mount, host string
	}{
		{"/usr/bin", "/", "/usr/bin"},
		{"/boot/vmlinuz", "/boot", "/boot/vmlinuz"},
		{"/var/lib/docker/volumes/v/_data", "/var/lib/docker/volumes/v/_data", "/etc"},
		{"/var/lib/docker/volumes/v/_data/shadow", "/var/lib/docker/volumes/v/_data", "/etc/shadow"},
		{"/var/lib/docker/volumes/v", "/", "/var/lib/docker/volumes/v"},
		{"/srv/g/grub.cfg", "/srv/g", "/boot/grub/grub.cfg"},
		{"/srv/h", "/srv/h", "/home/u/etc"},
		{"/srv/orphan/a", "/srv/orphan", ""},
		{"/srv/stackx", "/", "/srv/stackx"},
	} {
		m := tb.MountOf(tc.path)
		if m == nil || m.Mountpoint != tc.mount {
			t.Errorf("MountOf(%s) = %+v, want mount point %s", tc.path, m, tc.mount)
			continue
		}
		if got := tb.HostPath(m, tc.path); got != tc.host {
			t.Errorf("HostPath(%s) = %q, want %q", tc.path, got, tc.host)
		}
	}
	if m := tb.MountOf("/srv/stack/f"); m == nil || m.ID != 9 {
		t.Errorf("stacked mounts: want the last (ID 9), got %+v", m)
	}
}

func TestBeneath(t *testing.T) {
	var got []string
	for _, m := range table().Beneath("/srv") {
		got = append(got, m.Mountpoint)
	}
	want := []string{"/srv/g", "/srv/h", "/srv/orphan", "/srv/stack", "/srv/stack"}
	if !slices.Equal(got, want) {
		t.Fatalf("Beneath(/srv) = %v, want %v", got, want)
	}
	if b := table().Beneath("/srv/g"); len(b) != 0 {
		t.Fatalf("a mount is not beneath itself: %v", b)
	}
}

func TestMountFlags(t *testing.T) {
	for _, tc := range []struct {
		opts string
		want []string
	}{
		{"rw,relatime", []string{"relatime"}},
		{"ro,nosuid,nodev,noexec,relatime", []string{"ro", "nosuid", "nodev", "noexec", "relatime"}},
		{"rw,nosuid,noatime", []string{"nosuid", "noatime"}},
		{"rw,nodev", []string{"nodev", "strictatime"}},
		{"rw,noatime,nodiratime", []string{"nodiratime", "noatime"}},
	} {
		if got := MountFlags(&mountinfo.Info{Options: tc.opts}); !slices.Equal(got, tc.want) {
			t.Errorf("MountFlags(%q) = %v, want %v", tc.opts, got, tc.want)
		}
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/etc", "/etc", true}, {"/etc/x", "/etc", true}, {"/etcx", "/etc", false},
		{"/", "/", true}, {"/a", "/", true}, {"/e", "/etc", false},
	} {
		if got := Under(tc.p, tc.dir); got != tc.want {
			t.Errorf("Under(%s, %s) = %v", tc.p, tc.dir, got)
		}
	}
}

// TestResolve resolves real paths: symlinks, "..", relative paths against
// the bundle, and what cannot be resolved.
func TestResolve(t *testing.T) {
	tb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	for _, d := range []string{bundle, filepath.Join(dir, "data")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(t, "/etc", filepath.Join(dir, "etc-link"))
	mustSymlink(t, "../..", filepath.Join(bundle, "up"))
	for _, tc := range []struct {
		name, p, base, want string
	}{
		{"plain", filepath.Join(dir, "data"), "", filepath.Join(dir, "data")},
		{"symlink to /etc", filepath.Join(dir, "etc-link"), "", "/etc"},
		{"dot-dot", filepath.Join(dir, "data", "..", "etc-link"), "", "/etc"},
		{"relative against the bundle", "../data", bundle, filepath.Join(dir, "data")},
		{"relative climbing to /", relUp(bundle), bundle, "/"},
		{"relative: .. after a symlink is lexical (runc joins)", "up/..", bundle, bundle},
		{"absolute: .. after a symlink leaves its target", dir + "/etc-link/../usr", "", "/usr"},
		{"error: missing", filepath.Join(dir, "nope"), "", ""},
		{"error: relative without bundle", "rootfs", "", ""},
		{"error: empty", "", bundle, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tb.Resolve(tc.p, tc.base)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("resolved %q to %s, want an error", tc.p, o.Path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Path != tc.want || o.Host != tc.want {
				t.Fatalf("Resolve(%q) = path %s host %s, want %s", tc.p, o.Path, o.Host, tc.want)
			}
			id, _ := Stat(tc.want)
			if o.ID != id {
				t.Fatalf("ID %v, want %v", o.ID, id)
			}
		})
	}
}

// relUp is the "../" chain from dir to /.
func relUp(dir string) string {
	r, _ := filepath.Rel(dir, "/")
	return r
}

// TestResolveBindMount: a directory that is the target of a bind mount of
// /etc is judged as /etc, and its identity is /etc's (needs root).
func TestResolveBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount /etc")
	}
	target := filepath.Join(t.TempDir(), "_data")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("/etc", target, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount not possible here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	tb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	o, err := tb.Resolve(filepath.Join(target, "hostname"), "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "/etc/hostname" {
		t.Fatalf("host path %q, want /etc/hostname", o.Host)
	}
	etc, _ := Stat("/etc")
	if name, ok := o.Within(map[ID]string{etc: "/etc"}); !ok || name != "/etc" {
		t.Fatalf("Within: %q %v, want /etc", name, ok)
	}
}

func TestFindSockets(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(deep, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := func(Socket) bool { return true }
	res, err := FindSockets(dir, 1000, all)
	if err != nil || !res.Complete || len(res.Sockets) != 1 || res.Sockets[0].Path != sock {
		t.Fatalf("FindSockets = %+v, %v; want %s, complete", res, err, sock)
	}
	if res, _ := FindSockets(dir, 1000, func(Socket) bool { return false }); len(res.Sockets) != 0 {
		t.Fatalf("match false still reported %v", res.Sockets)
	}
	if res, _ := FindSockets(dir, 5, all); res.Complete || res.Entries != 5 {
		t.Fatalf("limit 5: %+v, want incomplete after 5 entries", res)
	}
	if _, err := FindSockets(filepath.Join(dir, "missing"), 10, all); err != nil {
		t.Fatalf("a directory gone while scanning is not an error: %v", err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestParseUnix(t *testing.T) {
	table := `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 20001 /run/docker.sock
0000000000000000: 00000002 00000000 00010000 0001 01 20002 @/containerd-shim/abc.sock
0000000000000000: 00000003 00000000 00000000 0001 03 20003 /run/systemd/journal/stdout
0000000000000000: 00000002 00000000 00010000 0001 01 20004 /srv/odd name.sock
0000000000000000: 00000002 00000000 00010000 0005 01 20005
`
	want := []string{"/run/docker.sock", "/srv/odd name.sock"}
	if got := parseUnix(table); !slices.Equal(got, want) {
		t.Fatalf("parseUnix = %q, want %q", got, want)
	}
	if _, err := Listening(); err != nil {
		t.Fatal(err)
	}
}

func TestSplitLowerdir(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"/a", []string{"/a"}},
		{`/a\:b:/c`, []string{"/a:b", "/c"}},
		{"/a::/d", []string{"/a", "", "/d"}},
		{"", []string{""}},
	} {
		if got := SplitLowerdir(c.in); !slices.Equal(got, c.want) {
			t.Errorf("SplitLowerdir(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
