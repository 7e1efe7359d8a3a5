package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// writeAtomic replaces path with data: a temp file in the same directory,
// fsync, rename, fsync of the directory. An engine reading the file at any
// moment sees the old or the new content, never a truncated one. The
// existing file's mode is kept; a new file gets 0644 (engines' configs are
// world-readable) and its directory is created 0755.
func writeAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return writeAtomicMode(path, data, mode)
}

func writeAtomicMode(path string, data []byte, mode fs.FileMode) error {
	return atomicfile.Write(path, data, mode, 0o755)
}

// keepBackup saves the original bytes of path beside it, once: a later
// configure never overwrites the backup, so it always holds the file as it
// was before hardened-runc first touched it.
func keepBackup(path string, original []byte) error {
	bak := path + BackupSuffix
	if _, err := os.Lstat(bak); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup %s: %w", bak, err)
	}
	// The backup gets the original's mode: daemon.json may hold registry
	// credentials and must not become more readable through its copy.
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := writeAtomicMode(bak, original, mode); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
