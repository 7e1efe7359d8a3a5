package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// BenchmarkIdmappedRoot is the idmapped root's own cost per container, in
// process: the user namespace fd, the idmapped clone of the layers,
// replacing the engine's overlay in place (setup), and putting it back
// (teardown), for images of 1, 5 and 20 layers. Range allocation and the
// spec rewrite are not included (`make bench` reports them end to end).
func BenchmarkIdmappedRoot(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipped: needs root")
	}
	for _, layers := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("layers=%d", layers), func(b *testing.B) {
			dir := b.TempDir()
			for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
				os.Chmod(p, 0o711)
			}
			root := filepath.Join(dir, "overlay2")
			var lower []string
			for i := 0; i < layers; i++ {
				d := filepath.Join(root, fmt.Sprintf("l%d", i), "diff", "etc")
				os.MkdirAll(d, 0o755)
				os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), []byte("x"), 0o644)
				lower = append([]string{filepath.Dir(d)}, lower...)
			}
			for _, d := range []string{"c/diff", "c/work", "c/merged"} {
				os.MkdirAll(filepath.Join(root, d), 0o755)
			}
			merged := filepath.Join(root, "c/merged")
			opts := fmt.Sprintf("index=off,lowerdir=%s,upperdir=%s/c/diff,workdir=%s/c/work", strings.Join(lower, ":"), root, root)
			if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
				b.Fatal(err)
			}
			defer unix.Unmount(merged, unix.MNT_DETACH)
			cdir := filepath.Join(dir, "run", "c")
			os.MkdirAll(filepath.Join(cdir, rootfsDirName), 0o755)
			m := Mapping{HostUID: 3 << 30, HostGID: 3 << 30, Size: 65536}
			var setup, teardown float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := nowNanos()
				mounts, err := mountinfo.GetMounts(nil)
				if err != nil {
					b.Fatal(err)
				}
				p, err := planRootfs(merged, mounts, func(string) *engineRoot { return nil })
				if err != nil {
					b.Fatal(err)
				}
				ns, err := usernsFD(m)
				if err != nil {
					b.Fatal(err)
				}
				if err := mountRootfs(p, cdir, ns, m); err != nil {
					b.Fatal(err)
				}
				ns.Close()
				t1 := nowNanos()
				// delete: our overlay is left for the engine, the
				// container's directory removed.
				if l, err := repairEngineRoot(cdir); err != nil || l == nil {
					b.Fatalf("teardown: %v, %v", l, err)
				}
				if err := removeContainerDir(cdir); err != nil {
					b.Fatal(err)
				}
				setup += float64(t1 - t0)
				teardown += float64(nowNanos() - t1)
				// The engine unmounts it, and mounts its own for the
				// next start.
				if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
					b.Fatal(err)
				}
				os.MkdirAll(filepath.Join(cdir, rootfsDirName), 0o755)
				if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(setup/float64(b.N)/1e6, "setup-ms/op")
			b.ReportMetric(teardown/float64(b.N)/1e6, "teardown-ms/op")
		})
	}
}

func nowNanos() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
