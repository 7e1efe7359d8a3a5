// Package atomicfile replaces files so that a reader sees the old content or
// the new, never a torn one, and so that after a crash the new content is
// on disk: a temp file in the same directory, fsync, rename, fsync of the
// directory. hardened-runc's state (ID-range table, caches, engine configs,
// learned profiles) is written through it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, with file mode mode. A missing directory
// is created with dirMode.
func Write(path string, data []byte, mode, dirMode os.FileMode) error {
	return write(path, data, mode, dirMode, true)
}

// WriteUnsynced is Write without the two syncs: a reader still sees the old
// content or the new, never a torn one, but after a crash the file may hold
// either, or nothing. Only for state whose loss a reader survives (it is
// rebuilt, or ignored when missing or unreadable), written on a hot path.
func WriteUnsynced(path string, data []byte, mode, dirMode os.FileMode) error {
	return write(path, data, mode, dirMode, false)
}

func write(path string, data []byte, mode, dirMode os.FileMode, sync bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := fill(tmp, data, mode, sync); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !sync {
		return nil
	}
	return SyncDir(dir)
}

func fill(f *os.File, data []byte, mode os.FileMode, sync bool) error {
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	return f.Close()
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
