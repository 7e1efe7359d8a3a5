package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func stat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestWriteKeepsModeAndOwner(t *testing.T) {
	tests := []struct {
		name     string
		mode     uint32
		uid, gid int // -1: leave as created
	}{
		{"0644", 0o644, -1, -1},
		{"0600", 0o600, -1, -1},
		{"0640 other owner", 0o640, 1234, 5678},
		{"setgid survives chown", 0o2640, 1234, 5678},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.uid >= 0 && os.Geteuid() != 0 {
				t.Skip("changing the owner needs root; skipped as non-root")
			}
			bundle := bundleWith(t, readTestdata(t, "docker-20.10.json"))
			path := filepath.Join(bundle, "config.json")
			if err := unix.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			if tc.uid >= 0 {
				if err := os.Chown(path, tc.uid, tc.gid); err != nil {
					t.Fatal(err)
				}
			}
			before := stat(t, path)
			d, err := Load(bundle)
			if err != nil {
				t.Fatal(err)
			}
			d.Spec.Process.NoNewPrivileges = true
			changed, err := d.Write()
			if err != nil || !changed {
				t.Fatalf("Write = %v, %v", changed, err)
			}
			after := stat(t, path)
			if after.Ino == before.Ino {
				t.Error("file rewritten in place, not replaced by rename")
			}
			if after.Mode != before.Mode || after.Uid != before.Uid || after.Gid != before.Gid {
				t.Errorf("mode/owner %o %d:%d, want %o %d:%d", after.Mode, after.Uid, after.Gid, before.Mode, before.Uid, before.Gid)
			}
			reloaded, err := Load(bundle)
			if err != nil {
				t.Fatal(err)
			}
			if !reloaded.Spec.Process.NoNewPrivileges {
				t.Error("change not on disk")
			}
			assertNoTempFiles(t, bundle)
		})
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "config.json" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestWriteUnchangedWritesNothing(t *testing.T) {
	bundle := bundleWith(t, readTestdata(t, "podman.json"))
	path := filepath.Join(bundle, "config.json")
	before := stat(t, path)
	d, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	// A modifier that finds nothing to do may still replace a slice with an
	// equal one.
	d.Spec.Process.Env = append([]string(nil), d.Spec.Process.Env...)
	changed, err := d.Write()
	if err != nil || changed {
		t.Fatalf("Write = %v, %v; want no write", changed, err)
	}
	after := stat(t, path)
	if after.Ino != before.Ino || after.Mtim != before.Mtim {
		t.Fatal("unchanged document was written")
	}
}

// Running the same hardening twice changes nothing the second time, and a
// second Write on the same Document is a no-op.
func TestHardenTwiceChangesNothing(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			bundle := bundleWith(t, readTestdata(t, name))
			harden := func() bool {
				d, err := Load(bundle)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range edits[3:] { // the idempotent edits
					e.edit(d.Spec)
				}
				changed, err := d.Write()
				if err != nil {
					t.Fatal(err)
				}
				if again, err := d.Write(); err != nil || again {
					t.Fatalf("second Write on the same document = %v, %v", again, err)
				}
				return changed
			}
			if !harden() {
				t.Fatal("first pass changed nothing")
			}
			st := stat(t, filepath.Join(bundle, "config.json"))
			if harden() {
				t.Fatal("second pass rewrote the config")
			}
			if st2 := stat(t, filepath.Join(bundle, "config.json")); st2.Ino != st.Ino || st2.Mtim != st.Mtim {
				t.Fatal("second pass touched the file")
			}
		})
	}
}

func TestWriteUnwritableBundleKeepsOriginal(t *testing.T) {
	data := readTestdata(t, "containerd-cri.json")
	bundle := bundleWith(t, data)
	d, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, bundle)
	d.Spec.Process.NoNewPrivileges = true
	changed, err := d.Write()
	if !errors.Is(err, ErrUnwritable) || changed {
		t.Fatalf("Write = %v, %v; want ErrUnwritable", changed, err)
	}
	t.Log(err)
	got, rerr := os.ReadFile(filepath.Join(bundle, "config.json"))
	if rerr != nil || !bytes.Equal(got, data) {
		t.Fatal("original config.json not intact")
	}
	assertNoTempFiles(t, bundle)
}

// makeReadOnly makes dir unwritable even for root: a read-only bind mount of
// the directory onto itself. As non-root, permission bits suffice.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount %s to make it read-only (%v); unwritable-bundle case not tested", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount %s read-only (%v); unwritable-bundle case not tested", dir, err)
	}
}

func TestWriteRefusesReplacedFile(t *testing.T) {
	bundle := bundleWith(t, readTestdata(t, "runc-spec.json"))
	d, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	// Another writer replaces config.json between Load and Write.
	other := []byte(`{"ociVersion":"1.0.2","hostname":"other"}`)
	tmp := filepath.Join(bundle, "other")
	if err := os.WriteFile(tmp, other, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(bundle, "config.json")); err != nil {
		t.Fatal(err)
	}
	d.Spec.Hostname = "mine"
	if _, err := d.Write(); !errors.Is(err, ErrChanged) {
		t.Fatalf("Write = %v, want ErrChanged", err)
	}
	got, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	if !bytes.Equal(got, other) {
		t.Fatal("the other writer's config was overwritten")
	}
}

func TestWriteOnParsedDocumentFails(t *testing.T) {
	d, err := Parse(readTestdata(t, "runc-spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Hostname = "x"
	if _, err := d.Write(); err == nil {
		t.Fatal("Write without a file succeeded")
	}
}

// TestWriteEncodedStoresTheEncodedBytes: create encodes once, keeps the
// bytes (re-run memory) and writes exactly them; they are what Write would
// have written. An encoding of another document, or one made before the
// last write, is refused and leaves the file alone.
func TestWriteEncodedStoresTheEncodedBytes(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, name)
			harden := func(d *Document) {
				if d.Spec.Process == nil {
					d.Spec.Process = &specs.Process{}
				}
				d.Spec.Process.NoNewPrivileges = true
				d.Spec.Hostname = "hardened"
			}
			ref, err := Load(bundleWith(t, data))
			if err != nil {
				t.Fatal(err)
			}
			harden(ref)
			if _, err := ref.Write(); err != nil {
				t.Fatal(err)
			}
			want := mustReadFile(t, ref.Path())

			bundle := bundleWith(t, data)
			d, err := Load(bundle)
			if err != nil {
				t.Fatal(err)
			}
			harden(d)
			enc, err := d.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc.Bytes(), want) {
				t.Fatalf("Encode differs from what Write writes:\n%s\nwant\n%s", enc.Bytes(), want)
			}
			changed, err := d.WriteEncoded(enc)
			if err != nil || !changed {
				t.Fatalf("WriteEncoded = %v, %v", changed, err)
			}
			if got := mustReadFile(t, d.Path()); !bytes.Equal(got, want) || !bytes.Equal(d.Stored(), want) {
				t.Fatalf("file holds\n%s\nwant\n%s", got, want)
			}
			// A second pass finds nothing to change.
			if again, err := d.Write(); err != nil || again {
				t.Errorf("second Write = %v, %v; want false, nil", again, err)
			}

			d.Spec.Hostname = "stale"
			if _, err := d.WriteEncoded(enc); err == nil {
				t.Error("an encoding made before the last write was written")
			}
			if _, err := ref.WriteEncoded(enc); err == nil {
				t.Error("another document's encoding was written")
			}
			if got := mustReadFile(t, d.Path()); !bytes.Equal(got, want) {
				t.Error("a refused WriteEncoded changed the file")
			}
		})
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
