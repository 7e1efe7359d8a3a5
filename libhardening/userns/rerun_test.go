package userns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	// The record is written unsynced: one a crash left empty or torn is
	// not believed, and is no error (config.json is hardened as it is).
	for _, torn := range []string{"", `{"id":"c1","bundle":`} {
		if err := os.WriteFile(rewritePath(run, bundle), []byte(torn), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := RestoreRewrite(run, bundle, hardened); ok || err != nil {
			t.Errorf("torn record %q: ok=%v err=%v, want not believed, no error", torn, ok, err)
		}
	}
	if err := RememberRewrite(run, "c1", bundle, original, hardened); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Dir(rewritePath(run, bundle)))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("rewrites directory %v %v: want 0700, the caller must not reach it", info, err)
	}
	// A bundle that is gone takes its record with it at the next rewrite
	// once the last walk is older than pruneEvery; a concurrent writer's
	// temporary file is left alone.
	tmp := filepath.Join(filepath.Dir(rewritePath(run, bundle)), ".x.json.tmp-1")
	os.WriteFile(tmp, []byte(`{"id":`), 0o600)
	os.RemoveAll(bundle)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "config.json"), hardened, 0o644)
	if err := RememberRewrite(run, "c2", other, original, hardened); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rewritePath(run, bundle)); err != nil {
		t.Errorf("records walked again within pruneEvery: %v", err)
	}
	marker := filepath.Join(filepath.Dir(rewritePath(run, bundle)), pruneMarker)
	old := time.Now().Add(-pruneEvery - time.Second)
	if err := os.Chtimes(marker, old, old); err != nil {
		t.Fatal(err)
	}
	if err := RememberRewrite(run, "c2", other, original, hardened); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rewritePath(run, bundle)); !os.IsNotExist(err) {
		t.Errorf("record of a removed bundle kept: %v", err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("a concurrent writer's temporary file was removed: %v", err)
	}
}

// TestMakeMountPoints is issue 16 bug 4's fix: missing mount points are
// created inside the rootfs, and never through a symlink out of it.
func TestMakeMountPoints(t *testing.T) {
	rootfs, outside := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(rootfs, "run"), 0o755))
	must(os.Symlink(outside, filepath.Join(rootfs, "escape")))
	made, err := makeMountPoints(rootfs, []string{"/tmp", "/run", "/var/tmp", "/escape/x"})
	if err == nil {
		t.Error("a mount point under a symlink was not reported")
	}
	if strings.Join(made, ",") != "/tmp,/var/tmp" {
		t.Errorf("made %v, want /tmp and /var/tmp", made)
	}
	for _, d := range []string{"tmp", "run", "var/tmp"} {
		if st, err := os.Stat(filepath.Join(rootfs, d)); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("created outside the rootfs through a symlink: %v", ents)
	}
}
