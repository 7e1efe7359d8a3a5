package confine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// BenchmarkModifiers measures the confinement controls on containerd's
// CRI spec, with the real host checks (namespace inodes, path resolution
// and the mount table, sockets, rlimits), as they run on every create. The
// spec's host paths are recreated in a temporary directory (a rootfs of
// 500 files, the pod's bind sources) so they resolve here.
func BenchmarkModifiers(b *testing.B) {
	p := loadProfile(b, "default")
	base := loadSpec(b, "containerd-cri.json")
	dir := b.TempDir()
	root := filepath.Join(dir, "rootfs")
	for i := range 50 {
		d := filepath.Join(root, "usr", "lib", string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 10 {
			if err := os.WriteFile(filepath.Join(d, string(rune('a'+j))), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	base.Root.Path = root
	for i := range base.Mounts {
		m := &base.Mounts[i]
		if !isBind(m) {
			continue
		}
		m.Source = filepath.Join(dir, "src", m.Source)
		if err := os.MkdirAll(m.Source, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	l := modifier.List(Modifiers(p))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := clone(b, base)
		b.StartTimer()
		if err := l.Modify(newCtx(p), s, &modifier.Report{}); err != nil {
			b.Fatal(err)
		}
	}
}
