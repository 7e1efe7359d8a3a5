package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRememberRewrite is the re-run memory of one create on a node
// running 200 containers from bundles of their own.
func BenchmarkRememberRewrite(b *testing.B) {
	run := b.TempDir()
	original, hardened := make([]byte, 12<<10), make([]byte, 12<<10)
	for i := 0; i < 200; i++ {
		bundle := filepath.Join(b.TempDir(), fmt.Sprint(i))
		if err := os.MkdirAll(bundle, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), hardened, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := RememberRewrite(run, fmt.Sprint(i), bundle, original, hardened); err != nil {
			b.Fatal(err)
		}
	}
	bundle := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := RememberRewrite(run, "c", bundle, original, hardened); err != nil {
			b.Fatal(err)
		}
	}
}
