package confine

import (
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// BenchmarkModifiers measures the confinement controls on Docker's spec,
// with the real host checks (namespace inodes, symlinks, engine sockets,
// rlimits), as they run on every create.
func BenchmarkModifiers(b *testing.B) {
	p := loadProfile(b, "default")
	base := loadSpec(b, "containerd-cri.json")
	l := modifier.List(Modifiers())
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
