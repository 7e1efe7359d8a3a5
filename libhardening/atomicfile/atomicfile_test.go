package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		data string
		mode os.FileMode
	}{
		{"new file in a new directory", filepath.Join(dir, "a", "b", "f.json"), "{}", 0o600},
		{"replace keeps no temp files", filepath.Join(dir, "a", "b", "f.json"), `{"x":1}`, 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(tc.path, []byte(tc.data), tc.mode, 0o700); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tc.path)
			if err != nil || string(got) != tc.data {
				t.Fatalf("content %q, %v", got, err)
			}
			if fi, _ := os.Stat(tc.path); fi.Mode().Perm() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.mode)
			}
			entries, _ := os.ReadDir(filepath.Dir(tc.path))
			if len(entries) != 1 {
				t.Errorf("directory has %d entries, want only the file", len(entries))
			}
		})
	}
	if err := Write(filepath.Join(dir, "no", "such"), nil, 0o600, 0o700); err != nil {
		t.Fatal(err)
	}
	// A directory that cannot be created is an error naming the path.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	if err := Write(filepath.Join(blocker, "x"), nil, 0o600, 0o700); err == nil {
		t.Fatal("writing under a regular file succeeded")
	}
}
