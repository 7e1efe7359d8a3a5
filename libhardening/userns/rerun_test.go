package userns

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRewriteMemory is bypass #2's fix: what hardened-runc remembers about
// a rewrite is in its run directory, and believed only for the exact bytes
// it wrote for that bundle.
func TestRewriteMemory(t *testing.T) {
	run, bundle := t.TempDir(), t.TempDir()
	original, hardened := []byte(`{"root":{"path":"rootfs"}}`), []byte(`{"root":{"path":"/run/hardened-runc/userns/c1/rootfs"}}`)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), hardened, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RememberRewrite(run, "c1", bundle, original, hardened); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		bundle  string
		current []byte
		want    bool
	}{
		{"what it wrote", bundle, hardened, true},
		{"same bundle, spelled with ..", filepath.Join(bundle, "..", filepath.Base(bundle)), hardened, true},
		{"edited since", bundle, append([]byte(" "), hardened...), false},
		{"another bundle with the same bytes", t.TempDir(), hardened, false},
	} {
		w, ok, err := RestoreRewrite(run, c.bundle, c.current)
		if err != nil || ok != c.want || (ok && string(w.Original) != string(original)) {
			t.Errorf("%s: ok=%v err=%v original=%q", c.name, ok, err, w.Original)
		}
	}
	info, err := os.Stat(filepath.Dir(rewritePath(run, bundle)))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("rewrites directory %v %v: want 0700, the caller must not reach it", info, err)
	}
	// A bundle that is gone takes its record with it at the next rewrite.
	os.RemoveAll(bundle)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "config.json"), hardened, 0o644)
	if err := RememberRewrite(run, "c2", other, original, hardened); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rewritePath(run, bundle)); !os.IsNotExist(err) {
		t.Errorf("record of a removed bundle kept: %v", err)
	}
}
