package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// BenchmarkUsernsFD is the cost of the throw-away user namespace an
// idmapped mount needs (a raw clone child, nsfd.go).
func BenchmarkUsernsFD(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipped: needs root")
	}
	for i := 0; i < b.N; i++ {
		f, err := usernsFD(Mapping{HostUID: 3 << 30, HostGID: 3 << 30, Size: 65536})
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkModifyCleanup is the modifier's host work per container: range
// allocation, rootfs mount, and their release (plain dir, then overlay).
func BenchmarkModifyCleanup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipped: needs root")
	}
	for _, kind := range []string{"plain-dir", "overlay"} {
		b.Run(kind, func(b *testing.B) {
			f := newFixtureB(b)
			bundle := b.TempDir()
			os.Chmod(bundle, 0o711)
			root := filepath.Join(bundle, "rootfs")
			if kind == "overlay" {
				root = benchOverlay(b)
			} else {
				os.MkdirAll(filepath.Join(root, "bin"), 0o755)
			}
			l := lower{name: "runc-1.5", idmap: true}
			for i := 0; i < b.N; i++ {
				s := minimalSpec(root)
				ctx := f.ctx(l, fmt.Sprintf("bench-%d", i), bundle, false)
				if err := f.harden(ctx, s, &modifier.Report{}); err != nil {
					b.Fatal(err)
				}
				if err := f.mod.Cleanup(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newFixtureB(b *testing.B) *fixture {
	dir := b.TempDir()
	for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		os.Chmod(p, 0o711)
	}
	sub := filepath.Join(dir, "subid")
	os.WriteFile(sub, []byte(fmt.Sprintf("hardened-runc:%d:%d\n", 3<<30, 65536*200)), 0o644)
	f := &fixture{runDir: filepath.Join(dir, "run"), stateDir: filepath.Join(dir, "runc"),
		mod: NewWithOptions(policy.Userns{}, Options{SubUIDFile: sub, SubGIDFile: sub})}
	b.Cleanup(func() { GC(f.runDir, func(Entry) bool { return false }) })
	return f
}

func minimalSpec(root string) *specs.Spec {
	return &specs.Spec{Root: &specs.Root{Path: root}, Process: &specs.Process{},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}}}}
}

// benchOverlay mounts an engine-like overlay of three layers.
func benchOverlay(b *testing.B) string {
	root := filepath.Join(b.TempDir(), "overlay2")
	for _, d := range []string{"l1/diff/bin", "l2/diff/etc", "l3/diff/usr", "c/diff", "c/work", "c/merged"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	opts := fmt.Sprintf("index=off,lowerdir=%[1]s/l3/diff:%[1]s/l2/diff:%[1]s/l1/diff,upperdir=%[1]s/c/diff,workdir=%[1]s/c/work", root)
	merged := filepath.Join(root, "c/merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged
}
