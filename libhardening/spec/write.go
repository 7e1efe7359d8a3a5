package spec

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// writeAtomic replaces path with data so that a reader (the lower runtime, a
// crash) sees either the old file or the complete new one: a temporary file
// in the same directory gets the data, the original's mode and owner and an
// fsync, then is renamed over path, and the directory is fsynced so the
// rename survives a crash. It returns the identity of the new file; a
// non-zero identity with an error means the rename happened but its
// durability is unknown.
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
	if err := atomicfile.SyncDir(dir); err != nil {
		return info, &Error{Path: dir, Kind: ErrUnwritable, Err: err, Detail: "config.json replaced, but the directory could not be synced",
			Fix: "the new config.json is in place; check the filesystem (a crash now may bring back the old one)"}
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
	if err := f.Sync(); err != nil {
		return fileInfo{}, err
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
