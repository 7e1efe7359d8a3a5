package spec

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// writeAtomic replaces path with data so that a reader (the lower runtime)
// sees either the old file or the complete new one: a temporary file in the
// same directory gets the data and the original's mode and owner, then is
// renamed over path. Nothing is fsynced, on purpose (docs/durability.md):
// the rename is what makes the replacement atomic for readers, runc reads
// the file at once (from the page cache) and copies the spec into its own
// state, and after a crash no container runs from this file without another
// create, which reads and hardens it again. The forensic record, which is
// fsynced before runc runs, keeps the hardened document and its hash. It
// returns the identity of the new file.
func writeAtomic(path string, data []byte, orig fileInfo) (fileInfo, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".hardened-*")
	if err != nil {
		return fileInfo{}, &Error{Path: dir, Kind: ErrUnwritable, Err: syscallError(err),
			Detail: "cannot create the new " + filepath.Base(path) + " in the bundle directory",
			Fix:    "hardened-runc rewrites config.json in the bundle directory; make the directory writable (not read-only, not immutable) for the user running the runtime"}
	}
	tmp := f.Name()
	info, err := fillTemp(f, data, orig)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = checkUnchanged(path, orig)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fileInfo{}, unwritable(path, err)
	}
	return info, nil
}

// fillTemp writes data into the temporary file and gives it the original's
// mode and owner (fchmod is not subject to the umask).
func fillTemp(f *os.File, data []byte, orig fileInfo) (fileInfo, error) {
	if _, err := f.Write(data); err != nil {
		return fileInfo{}, err
	}
	fd := int(f.Fd())
	if err := unix.Fchmod(fd, orig.mode); err != nil {
		return fileInfo{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileInfo{}, err
	}
	if st.Uid != orig.uid || st.Gid != orig.gid {
		if err := unix.Fchown(fd, int(orig.uid), int(orig.gid)); err != nil {
			return fileInfo{}, err
		}
		// chown clears setuid/setgid bits; restore them.
		if err := unix.Fchmod(fd, orig.mode); err != nil {
			return fileInfo{}, err
		}
	}
	return fileInfo{dev: st.Dev, ino: st.Ino, mode: orig.mode, uid: orig.uid, gid: orig.gid}, nil
}

// checkUnchanged refuses to replace a file that is no longer the one that was
// read: another writer's config would be silently lost.
func checkUnchanged(path string, orig fileInfo) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if st.Dev != orig.dev || st.Ino != orig.ino {
		return ErrChanged
	}
	return nil
}

// syscallError strips the *os.PathError around err: the Error already names
// the path.
func syscallError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwritable(path string, err error) error {
	if errors.Is(err, ErrChanged) {
		return &Error{Path: path, Kind: ErrChanged, Detail: "was replaced while hardened-runc was rewriting it",
			Fix: "another process is writing this bundle; retry once it is done"}
	}
	return &Error{Path: path, Kind: ErrUnwritable, Detail: "cannot write the hardened document", Err: err,
		Fix: "the original is unchanged; make the bundle directory writable for the user running the runtime"}
}
