package wrapper

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCreate measures hardened-runc's own work on create (profile,
// pipeline, atomic write, forensic record) with a fake lower runtime.
func BenchmarkCreate(b *testing.B) {
	t := &testing.T{}
	w := newWorld(t)
	orig, err := os.ReadFile(filepath.Join(w.bundle, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := os.WriteFile(filepath.Join(w.bundle, "config.json"), orig, 0o644); err != nil {
			b.Fatal(err)
		}
		w.run("create", "--bundle", w.bundle, "c1")
	}
}

// BenchmarkPassThrough measures a pass-through verb (state): argv, config,
// lower runtime resolution, exec.
func BenchmarkPassThrough(b *testing.B) {
	w := newWorld(&testing.T{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.run("state", "c1")
	}
}
