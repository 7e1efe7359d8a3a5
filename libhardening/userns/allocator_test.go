package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	lowerrt "github.com/hardened-runc/hardened-runc/libhardening/lower"
)

func testPool(start, count uint64) Pool {
	return Pool{UID: SubIDRange{Name: "t", Start: start, Count: count}, GID: SubIDRange{Name: "t", Start: start + 1<<20, Count: count}}
}

func allAlive(Entry) bool { return true }

func TestAllocateDisjointAligned(t *testing.T) {
	a := &Allocator{Dir: t.TempDir(), Alive: allAlive}
	// 100000 is not aligned: the first range starts at 131072.
	pool := testPool(100000, 65536*6)
	seen := map[uint32]bool{}
	for i := 0; i < 5; i++ {
		e, err := a.Allocate(Request{ID: fmt.Sprintf("c%d", i), Pool: pool, Size: 65536})
		if err != nil {
			t.Fatal(err)
		}
		if e.HostUID%65536 != 0 || e.HostGID%65536 != 0 || e.HostUID < MinHostID {
			t.Errorf("%s: range %d/%d not aligned or below %d", e.ID, e.HostUID, e.HostGID, MinHostID)
		}
		if uint64(e.HostUID)+65536 > pool.UID.End() || uint64(e.HostGID)+65536 > pool.GID.End() {
			t.Errorf("%s: range outside the pool", e.ID)
		}
		if seen[e.HostUID] {
			t.Errorf("%s: range %d handed out twice", e.ID, e.HostUID)
		}
		seen[e.HostUID] = true
	}
	// 100000..493215 holds 5 aligned ranges: 131072 .. 458751; a sixth
	// would end at 524288.
	_, err := a.Allocate(Request{ID: "c5", Pool: pool, Size: 65536})
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("6th allocation: want ErrExhausted, got %v", err)
	}
	if _, err := a.Allocate(Request{ID: "c0", Pool: pool}); !errors.Is(err, ErrInUse) {
		t.Fatalf("duplicate id: want ErrInUse, got %v", err)
	}
}

func TestReleaseAndGC(t *testing.T) {
	dead := map[string]bool{}
	var released []string
	a := &Allocator{Dir: t.TempDir(), Alive: func(e Entry) bool { return !dead[e.ID] },
		Released: func(e Entry) *Lingering { released = append(released, e.ID); return nil }}
	pool := testPool(65536, 65536*2)
	e0, _ := a.Allocate(Request{ID: "a", Pool: pool})
	if _, err := a.Allocate(Request{ID: "b", Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(Request{ID: "c", Pool: pool}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("want exhaustion, got %v", err)
	}
	dead["a"] = true
	e, err := a.Allocate(Request{ID: "c", Pool: pool})
	if err != nil {
		t.Fatalf("after a died: %v", err)
	}
	if e.HostUID != e0.HostUID || len(released) != 1 || released[0] != "a" {
		t.Fatalf("GC: got range %d (want %d), released %v", e.HostUID, e0.HostUID, released)
	}
	if _, ok, err := a.Release("", "b", nil); !ok || err != nil {
		t.Fatalf("release b: %v %v", ok, err)
	}
	if _, ok, _ := a.Release("", "b", nil); ok {
		t.Fatal("second release found b again")
	}
	tab, _ := readTable(filepath.Join(a.Dir, tableFile))
	if len(tab.Entries) != 1 || tab.Entries[0].ID != "c" {
		t.Fatalf("table = %+v, want only c", tab.Entries)
	}
}

func TestJoinSharesRange(t *testing.T) {
	dead := map[string]bool{}
	a := &Allocator{Dir: t.TempDir(), Alive: func(e Entry) bool { return !dead[e.ID] }}
	pool := testPool(65536, 65536*2)
	owner, _ := a.Allocate(Request{ID: "owner", Pool: pool})
	j, ok, err := a.Join(Request{ID: "joiner"}, Mapping{HostUID: owner.HostUID, HostGID: owner.HostGID, Size: owner.Size})
	if err != nil || !ok || j.HostUID != owner.HostUID || j.SharedWith != "owner" {
		t.Fatalf("join: %+v %v %v", j, ok, err)
	}
	// The owner goes away; the range stays in use while the joiner lives.
	if _, _, err := a.Release("", "owner", nil); err != nil {
		t.Fatal(err)
	}
	next, _ := a.Allocate(Request{ID: "x", Pool: pool})
	if next.HostUID == owner.HostUID {
		t.Fatalf("range %d reused while a joiner still uses it", next.HostUID)
	}
	if _, ok, _ := a.Join(Request{ID: "y"}, Mapping{HostUID: 12345, HostGID: 12345, Size: 65536}); ok {
		t.Fatal("join of an unknown range succeeded")
	}
}

// TestReleaseKeyedByRoot is bypass #7: a range is released only by the
// container that holds it, deleted from the same --root; `--root /other
// delete ID` and a failed `create ID` of another process release nothing.
func TestReleaseKeyedByRoot(t *testing.T) {
	var released []string
	a := &Allocator{Dir: t.TempDir(), Alive: allAlive, Released: func(e Entry) *Lingering { released = append(released, e.ID+"@"+e.Root); return nil }}
	pool := testPool(65536, 65536*4)
	live, err := a.Allocate(Request{ID: "web", Root: "/run/runc", Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(Request{ID: "web", Root: "/other", Pool: pool}); !errors.Is(err, ErrInUse) {
		t.Fatalf("same id under another root: want ErrInUse, got %v", err)
	}
	for _, c := range []struct {
		name  string
		root  string
		owned func(Entry) bool
	}{
		{"delete from another root", "/other", nil},
		{"delete from another root, relative spelling", "../other", nil},
		{"failed create of another process, same root", "/run/runc", func(Entry) bool { return false }},
	} {
		if _, dropped, err := a.Release(c.root, "web", c.owned); dropped || err != nil || len(released) != 0 {
			t.Errorf("%s: dropped=%v err=%v released=%v; want the live range kept", c.name, dropped, err, released)
		}
	}
	tab, _ := readTable(filepath.Join(a.Dir, tableFile))
	if e, ok := tab.LookupKey("/run/runc", "web"); !ok || e.HostUID != live.HostUID {
		t.Fatalf("table lost the live entry: %+v", tab.Entries)
	}
	if _, dropped, err := a.Release("", "web", nil); !dropped || err != nil {
		t.Fatalf("delete from the default root (/run/runc): dropped=%v err=%v", dropped, err)
	}
	if len(released) != 1 || released[0] != "web@/run/runc" {
		t.Fatalf("released = %v", released)
	}
}

func TestOwnedBySelf(t *testing.T) {
	a := &Allocator{Dir: t.TempDir(), Alive: allAlive}
	e, err := a.Allocate(Request{ID: "x", Pool: testPool(65536, 65536)})
	if err != nil {
		t.Fatal(err)
	}
	if !OwnedBySelf(e) {
		t.Error("this process's allocation is not owned by it")
	}
	e.PidStart++
	if OwnedBySelf(e) {
		t.Error("an entry of an earlier process with this pid counts as ours")
	}
	e.Pid = 1
	if OwnedBySelf(e) || CreatorGone(Entry{Pid: os.Getppid(), PidStart: mustStart(t, os.Getppid())}) {
		t.Error("another live process's entry counts as ours or gone")
	}
}

func mustStart(t *testing.T, pid int) uint64 {
	s, err := lowerrt.ProcessStart("/proc", pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLiveEntry(t *testing.T) {
	root := t.TempDir()
	start, err := lowerrt.ProcessStart("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		e     Entry
		state bool
		want  bool
	}{
		{"creator running", Entry{ID: "a", Root: root, Pid: os.Getpid(), PidStart: start}, false, true},
		{"pid reused", Entry{ID: "b", Root: root, Pid: os.Getpid(), PidStart: start + 1}, false, false},
		{"state written", Entry{ID: "c", Root: root, Pid: 1 << 30}, true, true},
		{"gone", Entry{ID: "d", Root: root, Pid: 1 << 30}, false, false},
	}
	for _, c := range cases {
		if c.state {
			os.MkdirAll(filepath.Join(root, c.e.ID), 0o700)
			os.WriteFile(filepath.Join(root, c.e.ID, "state.json"), []byte("{}"), 0o600)
		}
		if got := LiveEntry(c.e); got != c.want {
			t.Errorf("%s: LiveEntry = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	a := &Allocator{Dir: t.TempDir(), Alive: allAlive}
	pool := testPool(65536, 65536*64)
	var wg sync.WaitGroup
	res := make([]Entry, 30)
	errs := make([]error, 30)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = a.Allocate(Request{ID: "g" + strconv.Itoa(i), Pool: pool})
		}()
	}
	wg.Wait()
	seen := map[uint32]string{}
	for i, e := range res {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if o, dup := seen[e.HostUID]; dup {
			t.Fatalf("%s and %s share range %d", o, e.ID, e.HostUID)
		}
		seen[e.HostUID] = e.ID
	}
	tab, _ := readTable(filepath.Join(a.Dir, tableFile))
	if len(tab.Entries) != 30 {
		t.Fatalf("table has %d entries, want 30", len(tab.Entries))
	}
}

// TestConcurrentProcesses runs 30 allocations in 30 processes (this test
// binary re-executed) against one table: flock, not a mutex, must keep them
// apart.
func TestConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("USERNS_TEST_ALLOC_DIR"); dir != "" {
		a := &Allocator{Dir: dir, Alive: allAlive}
		e, err := a.Allocate(Request{ID: os.Getenv("USERNS_TEST_ALLOC_ID"), Pool: testPool(65536, 65536*64)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Print(e.HostUID)
		os.Exit(0)
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	out := make([]string, 30)
	errs := make([]error, 30)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$")
			cmd.Env = append(os.Environ(), "USERNS_TEST_ALLOC_DIR="+dir, "USERNS_TEST_ALLOC_ID=p"+strconv.Itoa(i))
			b, err := cmd.Output()
			out[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range out {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if seen[out[i]] {
			t.Fatalf("range %s handed out twice", out[i])
		}
		seen[out[i]] = true
	}
	tab, _ := readTable(filepath.Join(dir, tableFile))
	if len(tab.Entries) != 30 {
		t.Fatalf("table has %d entries, want 30", len(tab.Entries))
	}
}

// TestReadTableAfterCrash: the table is written without a sync, so a
// kernel crash can leave it empty (read as no entries: every container it
// listed ended with the kernel); anything else unreadable is refused.
func TestReadTableAfterCrash(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, body string
		entries    int
		wantErr    bool
	}{
		{"missing", "", 0, false},
		{"empty after a crash", "\x00", 0, false},
		{"torn", `{"entries": [{"id": "c1"`, 0, true},
		{"one entry", `{"entries": [{"id": "c1", "hostUID": 1073741824, "hostGID": 1073741824, "size": 65536}]}`, 1, false},
	} {
		path := filepath.Join(dir, c.name+".json")
		switch c.body {
		case "":
		case "\x00":
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		tab, err := readTable(path)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v, want error %v", c.name, err, c.wantErr)
			continue
		}
		if err == nil && len(tab.Entries) != c.entries {
			t.Errorf("%s: %d entries, want %d", c.name, len(tab.Entries), c.entries)
		}
	}
}

// TestLingeringRange: a container whose overlay is left mounted for the
// engine keeps its range, as an entry of no container (its ID may be
// created again), until GC finds the mount gone; only then is the range
// handed out again, and the lingering entry is dropped without being
// released or forgotten a second time (its directory may be a new
// container's).
func TestLingeringRange(t *testing.T) {
	requireRoot(t)
	mp := t.TempDir()
	if err := unix.Mount("tmpfs", mp, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mp, unix.MNT_DETACH)
	id := uniqueMountID(mp)
	if id == 0 {
		t.Skip("kernel without STATX_MNT_ID_UNIQUE (Linux 6.8): lingering mounts are looked up in mountinfo")
	}
	dead := map[string]bool{}
	var released, forgotten []string
	a := &Allocator{Dir: t.TempDir(), Alive: func(e Entry) bool { return !dead[e.ID] },
		Released: func(e Entry) *Lingering {
			released = append(released, e.ID)
			l := &Lingering{MountID: id, Root: &engineRoot{Mountpoint: mp, Engine: &Overlay{}}}
			l.MountNS, l.NSInode = thisMountNS()
			return l
		},
		Forget: func(e Entry) { forgotten = append(forgotten, e.ID) }}
	pool := testPool(65536, 65536*2)
	web, err := a.Allocate(Request{ID: "web", Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Release("", "web", nil); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	if fmt.Sprint(released, forgotten) != "[web] [web]" {
		t.Fatalf("release: released %v, forgotten %v", released, forgotten)
	}
	tab, _ := readTable(filepath.Join(a.Dir, tableFile))
	if len(tab.Entries) != 1 || tab.Entries[0].Lingering == nil {
		t.Fatalf("table after release: %+v, want web lingering", tab.Entries)
	}
	if _, ok := tab.Lookup("web"); ok {
		t.Error("a lingering entry is found as a container's")
	}
	if r, ok := tab.LingeringAt(mp); !ok || r.Mountpoint != mp {
		t.Errorf("LingeringAt(%s) = %v, %v", mp, r, ok)
	}
	// The same ID again, while the mount is there: a new container, with
	// the other range.
	again, err := a.Allocate(Request{ID: "web", Pool: pool})
	if err != nil {
		t.Fatalf("create of the same ID while its old overlay lingers: %v", err)
	}
	if again.HostUID == web.HostUID {
		t.Fatalf("range %d handed out while an overlay still maps it", web.HostUID)
	}
	if _, err := a.Allocate(Request{ID: "third", Pool: pool}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("third allocation while one range lingers: %v, want exhaustion", err)
	}
	// The engine unmounts it: the range is free at the next allocation,
	// and the lingering entry is neither released nor forgotten again.
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatal(err)
	}
	third, err := a.Allocate(Request{ID: "third", Pool: pool})
	if err != nil || third.HostUID != web.HostUID {
		t.Fatalf("after the unmount: %+v, %v; want range %d", third, err, web.HostUID)
	}
	if fmt.Sprint(released, forgotten) != "[web] [web]" {
		t.Errorf("dropping the lingering entry released %v, forgot %v", released, forgotten)
	}
}

// TestLingeringMounted: a lingering overlay's mount is asked for by its
// unique ID in its own mount namespace; gone (or its namespace gone) is
// decided only by the kernel saying so, and a GC in another namespace
// that cannot ask that one keeps the range.
func TestLingeringMounted(t *testing.T) {
	requireRoot(t)
	ns, ino := thisMountNS()
	root := uniqueMountID("/")
	if root == 0 || ns == 0 {
		t.Skip("kernel without unique mount and namespace IDs (Linux 6.12): mountinfo decides, tested by TestOverlayRootfsInRunc")
	}
	for _, c := range []struct {
		name string
		l    Lingering
		want bool
	}{
		{"mounted here", Lingering{MountID: root, MountNS: ns, NSInode: ino}, true},
		{"unmounted", Lingering{MountID: 1 << 62, MountNS: ns, NSInode: ino}, false},
		{"namespace gone", Lingering{MountID: root, MountNS: 1 << 62, NSInode: ino + 1}, false},
		{"another namespace, no ID to ask it by", Lingering{MountID: 1 << 62, NSInode: ino + 1}, true},
		{"this namespace, no namespace ID", Lingering{MountID: 1 << 62, NSInode: ino}, false},
	} {
		if got := c.l.mounted(); got != c.want {
			t.Errorf("%s: mounted() = %v, want %v", c.name, got, c.want)
		}
	}
}
