package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// engineOverlay lays out layers as Docker's overlay2 does (<root>/<layer>/diff,
// l/ symlinks, the container's diff and work) and mounts the engine's own
// merged overlay, with relative lowerdirs when relative is set.
func engineOverlay(t *testing.T, relative bool) (merged, upper string) {
	t.Helper()
	root := filepath.Join(searchableTempDir(t), "overlay2")
	base := filepath.Join(root, "base", "diff")
	busyboxRootfs(t, base)
	layer2 := filepath.Join(root, "layer2", "diff", "etc")
	os.MkdirAll(layer2, 0o755)
	os.WriteFile(filepath.Join(layer2, "layer2"), []byte("layer2\n"), 0o600)
	os.MkdirAll(filepath.Join(root, "l"), 0o700)
	os.Symlink("../base/diff", filepath.Join(root, "l", "BASE"))
	os.Symlink("../layer2/diff", filepath.Join(root, "l", "LAYER2"))
	for _, d := range []string{"c1/diff", "c1/work", "c1/merged"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	merged, upper = filepath.Join(root, "c1/merged"), filepath.Join(root, "c1/diff")
	opts := fmt.Sprintf("index=off,lowerdir=%s/l/LAYER2:%s/l/BASE,upperdir=%s/c1/diff,workdir=%s/c1/work", root, root, root, root)
	target := merged
	if relative {
		// Docker's long-options form: paths relative to the overlay2 root.
		opts = "index=off,lowerdir=l/LAYER2:l/BASE,upperdir=c1/diff,workdir=c1/work"
		wd, _ := os.Getwd()
		defer os.Chdir(wd)
		os.Chdir(root)
		target = "c1/merged"
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		t.Fatalf("engine overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged, upper
}

// TestOverlayRootfsInRunc rebuilds an engine overlay on idmapped layers and
// runs a real container on it: layers keep their ownership, the container's
// writes land in the engine's upper with container IDs, read-only root is
// honoured. What the engine (host root) writes while it runs is stored in
// the range and moved back at delete; the overlay is then left for the
// engine to unmount, and its range stays taken until it does. What the
// engine writes through it after delete is moved back by the next create.
func TestOverlayRootfsInRunc(t *testing.T) {
	requireRoot(t)
	for _, l := range lowers(t) {
		for _, relative := range []bool{false, true} {
			for _, ro := range []bool{false, true} {
				name := fmt.Sprintf("%s/relative=%v/readonly=%v", l.name, relative, ro)
				t.Run(name, func(t *testing.T) {
					f := newFixture(t)
					merged, upper := engineOverlay(t, relative)
					bundle := searchableTempDir(t)
					s := runcSpec(t, merged, "sh", "-c", "cat /proc/self/uid_map; stat -c %u:%g /etc/secret /etc/layer2; cat /etc/secret /etc/layer2; stat -c %u /home/user; (echo w > /root-w) 2>/dev/null && echo written || echo read-only")
					s.Root.Readonly = ro
					ctx, out := f.launch(t, l, fmt.Sprintf("ovl-%s-%v-%v", l.name, relative, ro), bundle, s, ro)
					fields := strings.Fields(out)
					write := "written"
					if ro {
						write = "read-only"
					}
					want := []string{"0:0", "0:0", "image-secret", "layer2", "1000", write}
					if len(fields) < 3+len(want) || strings.Join(fields[3:], " ") != strings.Join(want, " ") || fields[1] == "0" {
						t.Errorf("inside:\n got %v\nwant uid_map 0 <non-zero> 65536, %v", fields, want)
					}
					m := ctxMapping(t, s)
					if !ro {
						// One overlay: the engine's merged dir shows the
						// container's write, owned by its range; on disk it
						// is container root's, as under runc.
						if st := mustStat(t, filepath.Join(merged, "root-w")); st.uid != m.HostUID {
							t.Errorf("engine view: root-w owned by %d, want the range's %d", st.uid, m.HostUID)
						}
						if st := mustStat(t, filepath.Join(upper, "root-w")); st.uid != 0 {
							t.Errorf("upper: root-w owned by %d on disk, want 0", st.uid)
						}
					}
					// The engine writes through its view (docker cp): host
					// IDs, stored in the range while the container runs.
					engineFile := filepath.Join(merged, "etc", "cp-in")
					if err := os.WriteFile(engineFile, []byte("engine\n"), 0o644); err != nil {
						t.Fatalf("engine write through its view: %v", err)
					}
					os.Chown(engineFile, 1000, 1001)
					if err := os.Chmod(engineFile, 0o755|os.ModeSetuid); err != nil {
						t.Fatal(err)
					}
					// Removing an image file leaves a whiteout, which
					// overlayfs makes with its mounter's (host root's) IDs.
					if err := os.Remove(filepath.Join(merged, "etc", "layer2")); err != nil {
						t.Fatalf("engine removes an image file: %v", err)
					}
					if st := mustStat(t, filepath.Join(upper, "etc", "layer2")); st.uid != m.HostUID {
						t.Errorf("whiteout on disk while running: uid %d, want %d", st.uid, m.HostUID)
					}
					if st := mustStat(t, engineFile); st.uid != 1000 || st.gid != 1001 {
						t.Errorf("engine view of its own file: %d:%d, want 1000:1001", st.uid, st.gid)
					}
					if st := mustStat(t, filepath.Join(upper, "etc", "cp-in")); st.uid != m.HostUID+1000 {
						t.Errorf("engine's file on disk while running: uid %d, want %d", st.uid, m.HostUID+1000)
					}
					f.release(t, l, ctx)
					// Delete leaves our overlay for the engine, with the
					// engine's file back at its own IDs.
					top, _ := findMount(merged)
					if top == nil || !strings.Contains(top.VFSOptions, procFDPrefix) {
						t.Errorf("after delete, want our overlay left at %s: %+v", merged, top)
					}
					if st := mustStat(t, filepath.Join(upper, "etc", "cp-in")); st.uid != 1000 || st.gid != 1001 || st.mode&0o7777 != 0o4755 {
						t.Errorf("engine's file on disk after delete: %d:%d mode %o, want 1000:1001 mode 4755", st.uid, st.gid, st.mode&0o7777)
					}
					if st := mustStat(t, filepath.Join(upper, "etc", "layer2")); st.uid != 0 || st.gid != 0 {
						t.Errorf("whiteout on disk after delete: %d:%d, want 0:0", st.uid, st.gid)
					}
					// The engine may still write through it (Podman chowns
					// a held mount's root before the next start): stored in
					// the range, and the upper keeps its record of it.
					if err := os.WriteFile(filepath.Join(merged, "late"), nil, 0o644); err != nil {
						t.Errorf("write through the left overlay: %v", err)
					}
					if r, _ := shiftedRanges(upper); len(r) != 1 || r[0] != m {
						t.Errorf("upper's record after delete: %v, want [%v]", r, m)
					}
					tab, _ := ReadTable(f.runDir)
					if len(tab.Entries) != 1 || tab.Entries[0].Lingering == nil {
						t.Errorf("range table after delete: %+v, want the range lingering", tab.Entries)
					}
					// The engine unmounts it: the range is freed, and its
					// own overlay shows what runc would have left.
					if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
						t.Fatal(err)
					}
					if _, err := GC(f.runDir, nil); err != nil {
						t.Fatal(err)
					}
					if tab, _ := ReadTable(f.runDir); len(tab.Entries) != 0 {
						t.Errorf("range table after the engine's unmount: %+v", tab.Entries)
					}
					// What it wrote after delete is moved back before the
					// next overlay is mounted on the upper.
					if err := prepareUpper(upper, Mapping{HostUID: 5 << 20, HostGID: 5 << 20, Size: 65536}, []Mapping{m}); err != nil {
						t.Fatal(err)
					}
					if st := mustStat(t, filepath.Join(upper, "late")); st.uid != 0 || st.gid != 0 {
						t.Errorf("the engine's file written after delete, on disk at the next create: %d:%d, want 0:0", st.uid, st.gid)
					}
				})
			}
		}
	}
}

// TestCreateDeleteCyclesLeakNothing runs 100 create/delete cycles of an
// overlay-rootfs container through runc and counts what is left: mounts
// under the run directory, table entries, directories.
func TestCreateDeleteCyclesLeakNothing(t *testing.T) {
	requireRoot(t)
	l := lowers(t)[len(lowers(t))-1]
	f := newFixture(t)
	merged, _ := engineOverlay(t, false)
	engine, _ := findMount(merged)
	engineOpts := engine.VFSOptions
	before, _ := MountsUnder("/")
	tmpl := runcSpec(t, merged, "sh", "-c", "exit 0")
	start := time.Now()
	for i := 0; i < 100; i++ {
		bundle := searchableTempDir(t)
		s := *tmpl
		s.Root = &specs.Root{Path: merged}
		l2 := *tmpl.Linux
		l2.Namespaces = append([]specs.LinuxNamespace(nil), tmpl.Linux.Namespaces...)
		s.Linux = &l2
		id := fmt.Sprintf("cycle-%d", i)
		ctx := f.ctx(l, id, bundle, false)
		if err := f.harden(ctx, &s, &modifier.Report{}); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		writeSpec(t, bundle, &s)
		if out, err := f.runc(l, "create", "-b", bundle, id); err != nil {
			t.Fatalf("cycle %d: runc create: %v\n%s", i, err, out)
		}
		if out, err := f.runc(l, "delete", "-f", id); err != nil {
			t.Fatalf("cycle %d: runc delete: %v\n%s", i, err, out)
		}
		if err := f.mod.Cleanup(ctx); err != nil {
			t.Fatalf("cycle %d: cleanup: %v", i, err)
		}
		// Every other cycle the engine unmounts the overlay left for it
		// and mounts its own for the next start (Docker); otherwise the
		// next create finds ours still there (a reference the engine
		// still holds) and replaces it.
		if i%2 == 0 {
			if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount("overlay", merged, "overlay", 0, engineOpts); err != nil {
				t.Fatalf("cycle %d: the engine's overlay: %v", i, err)
			}
		}
	}
	t.Logf("100 cycles with %s in %v", l.name, time.Since(start))
	// The engine unmounts the last one.
	if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if _, err := GC(f.runDir, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := MountsUnder(f.runDir); n != 0 {
		t.Errorf("%d mounts left under the run dir", n)
	}
	after, _ := MountsUnder("/")
	if after > before {
		t.Errorf("host mount count grew from %d to %d", before, after)
	}
	tab, _ := ReadTable(f.runDir)
	ents, _ := os.ReadDir(filepath.Join(f.runDir, "userns"))
	if len(tab.Entries) != 0 || len(ents) != 2 { // ranges.json, ranges.lock
		t.Errorf("left behind: %d entries, dir %v", len(tab.Entries), ents)
	}
}

// TestGCAfterFailedCreate: a create that fails after mounting (runc never
// writes state, the creator is gone) is cleaned up by GC.
func TestGCAfterFailedCreate(t *testing.T) {
	requireRoot(t)
	l := lowers(t)[0]
	f := newFixture(t)
	bundle := searchableTempDir(t)
	busyboxRootfs(t, filepath.Join(bundle, "rootfs"))
	s := runcSpec(t, "rootfs", "sh", "-c", "exit 0")
	ctx := f.ctx(l, "failed", bundle, false)
	if err := f.harden(ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := MountsUnder(f.runDir); n != 1 {
		t.Fatalf("%d mounts after Modify, want 1", n)
	}
	// This process is alive, so the entry is too: GC must keep it.
	if dropped, err := GC(f.runDir, nil); err != nil || len(dropped) != 0 {
		t.Fatalf("GC of a live create: dropped %v, %v", dropped, err)
	}
	dropped, err := GC(f.runDir, func(Entry) bool { return false })
	if err != nil || len(dropped) != 1 {
		t.Fatalf("GC: dropped %v, %v", dropped, err)
	}
	if n, _ := MountsUnder(f.runDir); n != 0 {
		t.Errorf("%d mounts left after GC", n)
	}
	if _, err := os.Stat(containerDir(f.runDir, "failed")); !os.IsNotExist(err) {
		t.Errorf("container dir left after GC: %v", err)
	}
}

// ctxMapping reads the range the modifier wrote into the spec.
func ctxMapping(t *testing.T, s *specs.Spec) Mapping {
	t.Helper()
	if s.Linux == nil || len(s.Linux.UIDMappings) == 0 {
		t.Fatal("no uid mapping in the spec")
	}
	u, g := s.Linux.UIDMappings[0], s.Linux.GIDMappings[0]
	return Mapping{HostUID: u.HostID, HostGID: g.HostID, Size: u.Size}
}

// TestFallbackWithoutIdmap: a rootfs that cannot be idmapped (a directory
// inside an already-mounted overlay) is denied, or run unmapped, as the
// profile says.
func TestFallbackWithoutIdmap(t *testing.T) {
	requireRoot(t)
	l := lowers(t)[len(lowers(t))-1]
	merged, _ := engineOverlay(t, false)
	sub := filepath.Join(merged, "home")
	for _, fallback := range []string{"deny", "unmapped", "chown"} {
		t.Run(fallback, func(t *testing.T) {
			f := newFixture(t)
			bundle := searchableTempDir(t)
			s := runcSpec(t, sub, "sh", "-c", "stat -c %u /user")
			id := "fallback-" + fallback
			ctx := f.ctx(l, id, bundle, false)
			ctx.Profile.Userns.Fallback = fallback
			err := f.harden(ctx, s, &modifier.Report{})
			_, denied := modifier.AsDenial(err)
			switch fallback {
			case "deny":
				if !denied {
					t.Fatalf("want a denial, got %v", err)
				}
			case "chown":
				if err != nil {
					t.Fatal(err)
				}
				// The copy is owned by the range: uid 1000 in the image is
				// host uid base+1000, so container uid 1000 inside.
				want := ctxMapping(t, s).HostUID + 1000
				if st := mustStat(t, filepath.Join(s.Root.Path, "user")); st.uid != want {
					t.Errorf("chowned copy shows uid %d on the host side, want %d", st.uid, want)
				}
				f.mod.Cleanup(ctx)
				if _, err := os.Stat(filepath.Join(containerDir(f.runDir, id), copyDirName)); !os.IsNotExist(err) {
					t.Errorf("chowned copy left after cleanup: %v", err)
				}
			case "unmapped":
				if err != nil {
					t.Fatal(err)
				}
				if st := mustStat(t, filepath.Join(s.Root.Path, "user")); st.uid != 1000 {
					t.Errorf("unmapped rootfs shows uid %d on the host side, want 1000", st.uid)
				}
				f.mod.Cleanup(ctx)
			}
			if n, _ := MountsUnder(f.runDir); n != 0 {
				t.Errorf("%d mounts left", n)
			}
			if tab, _ := ReadTable(f.runDir); len(tab.Entries) != 0 {
				t.Errorf("range left allocated: %+v", tab.Entries)
			}
		})
	}
}
