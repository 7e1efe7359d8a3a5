package userns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSameMount: a layer that is its own mount (a bind or another
// filesystem below the common parent) would not be in the idmapped clone.
func TestSameMount(t *testing.T) {
	requireRoot(t)
	parent := t.TempDir()
	a, b := filepath.Join(parent, "a"), filepath.Join(parent, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	if err := sameMount(parent, []string{a, b}); err != nil {
		t.Fatalf("plain dirs: %v", err)
	}
	if err := unix.Mount("tmpfs", b, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(b, unix.MNT_DETACH)
	if err := sameMount(parent, []string{a, b}); err == nil || !strings.Contains(err.Error(), b) {
		t.Errorf("a layer on its own mount: got %v, want an error naming %s", err, b)
	}
}

// TestShiftTree: owners in the source ranges move to the target range,
// others stay; set-id bits survive the chown; a second run changes nothing.
func TestShiftTree(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	files := map[string][2]int{ // path → uid, gid before
		"own":          {0, 0},
		"user":         {1000, 1001},
		"stale":        {5<<20 + 7, 5<<20 + 8},
		"host-nobody":  {70000, 70000},
		"dir/setuid":   {0, 0},
		"dir/lastid":   {65535, 65535},
		"dir/engineid": {0, 5},
	}
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	for p, id := range files {
		f := filepath.Join(root, p)
		os.WriteFile(f, []byte("x"), 0o644)
		os.Chown(f, id[0], id[1])
	}
	unix.Chmod(filepath.Join(root, "dir/setuid"), 0o4755)
	m := Mapping{HostUID: 3 << 20, HostGID: 4 << 20, Size: 65536}
	stale := Mapping{HostUID: 5 << 20, HostGID: 5 << 20, Size: 65536}
	for i := 0; i < 2; i++ {
		if err := shiftTree(root, m, Mapping{Size: 65536}, stale); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][2]uint32{
		"own":          {3 << 20, 4 << 20},
		"user":         {3<<20 + 1000, 4<<20 + 1001},
		"stale":        {3<<20 + 7, 4<<20 + 8},
		"host-nobody":  {70000, 70000},
		"dir/setuid":   {3 << 20, 4 << 20},
		"dir/lastid":   {3<<20 + 65535, 4<<20 + 65535},
		"dir/engineid": {3 << 20, 4<<20 + 5},
	}
	for p, w := range want {
		st := mustStat(t, filepath.Join(root, p))
		if st.uid != w[0] || st.gid != w[1] {
			t.Errorf("%s: %d:%d, want %d:%d", p, st.uid, st.gid, w[0], w[1])
		}
	}
	if st, _ := os.Stat(filepath.Join(root, "dir/setuid")); st.Mode()&os.ModeSetuid == 0 {
		t.Errorf("setuid bit lost in the shift: %v", st.Mode())
	}
	// And back: the range's IDs return to container IDs.
	if err := shiftTree(root, Mapping{Size: 65536}, m); err != nil {
		t.Fatal(err)
	}
	if st := mustStat(t, filepath.Join(root, "user")); st.uid != 1000 || st.gid != 1001 {
		t.Errorf("user after the shift back: %d:%d, want 1000:1001", st.uid, st.gid)
	}
}

// TestShiftXattr: the upper's own record of its ranges round-trips;
// prepareUpper moves back what a stale range left and records the new one
// only, and unshiftUpper clears it.
func TestShiftXattr(t *testing.T) {
	requireRoot(t)
	upper := searchableTempDir(t)
	if r, err := shiftedRanges(upper); err != nil || r != nil {
		t.Fatalf("fresh upper: %v %v", r, err)
	}
	m := Mapping{HostUID: 3 << 20, HostGID: 4 << 20, Size: 65536}
	old := Mapping{HostUID: 5 << 20, HostGID: 5 << 20, Size: 65536}
	os.WriteFile(filepath.Join(upper, "f"), nil, 0o644)
	os.Chown(filepath.Join(upper, "f"), int(old.HostUID)+3, int(old.HostGID)+3)
	if err := setShiftedRanges(upper, []Mapping{old}); err != nil {
		t.Fatal(err)
	}
	if err := prepareUpper(upper, m, []Mapping{old}); err != nil {
		t.Fatal(err)
	}
	if r, err := shiftedRanges(upper); err != nil || len(r) != 1 || r[0] != m {
		t.Fatalf("after prepareUpper: %v %v, want [%v]", r, err, m)
	}
	if st := mustStat(t, filepath.Join(upper, "f")); st.uid != 3 || st.gid != 3 {
		t.Errorf("stale range not moved back: %d:%d, want 3:3", st.uid, st.gid)
	}
	os.Chown(filepath.Join(upper, "f"), int(m.HostUID)+5, int(m.HostGID)+5)
	if err := unshiftUpper(upper); err != nil {
		t.Fatal(err)
	}
	if r, _ := shiftedRanges(upper); r != nil {
		t.Errorf("xattr left after unshift: %v", r)
	}
	if st := mustStat(t, filepath.Join(upper, "f")); st.uid != 5 || st.gid != 5 {
		t.Errorf("after unshift: %d:%d, want 5:5", st.uid, st.gid)
	}
}

// TestSameOverlay: our bind and the overlay it was cloned from are one
// superblock; another overlay, a plain directory or a bind of another
// filesystem is not, and a path that is no mount root decides nothing.
func TestSameOverlay(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "upper2", "work2", "merged", "other", "bind", "plain", "tmp"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	mountOverlay := func(upper, work, target string) {
		opts := "lowerdir=" + p("lower") + ",upperdir=" + p(upper) + ",workdir=" + p(work)
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
	}
	mountOverlay("upper", "work", p("merged"))
	mountOverlay("upper2", "work2", p("other"))
	if err := bindOnto(p("merged"), p("bind")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(p("bind"), unix.MNT_DETACH) })
	if err := unix.Mount("tmpfs", p("tmp"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(p("tmp"), unix.MNT_DETACH) })
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"bind", "merged", true},
		{"bind", "other", false},
		{"bind", "plain", false},
		{"bind", "tmp", false},
		{"plain", "lower", false},
		{"merged/x", "merged", false},
	} {
		if got := sameOverlay(p(c.a), p(c.b)); got != c.want {
			t.Errorf("sameOverlay(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestIdmapOf: the mounts' mapping is the container's range, the host IDs
// below its size stored in the range's place, and identity elsewhere, with
// no line overlapping another on either side; a range that starts below
// its size gets its own line only.
func TestIdmapOf(t *testing.T) {
	for _, c := range []struct {
		start, size uint32
		want        string
	}{
		{1 << 30, 65536, "0 1073741824 65536\n1073741824 0 65536\n65536 65536 1073676288\n1073807360 1073807360 3221159935\n"},
		{65536, 65536, "0 65536 65536\n65536 0 65536\n131072 131072 4294836223\n"},
		{4294901760 - 1, 65536, "0 4294901759 65536\n4294901759 0 65536\n65536 65536 4294836223\n"},
		{1000, 65536, "0 1000 65536\n"},
	} {
		if got := idmapOf(c.start, c.size); got != c.want {
			t.Errorf("idmapOf(%d, %d) =\n%s\nwant\n%s", c.start, c.size, got, c.want)
		}
	}
}
