package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// fileInfo is what Write needs from the file that was read: its identity, to
// notice a replacement, and its mode and owner, to keep them.
type fileInfo struct {
	dev, ino uint64
	mode     uint32 // permission bits including setuid/setgid/sticky
	uid, gid uint32
}

// readBundleConfig reads <bundle>/config.json, telling a missing bundle
// apart from a missing file so the operator knows which path is wrong.
func readBundleConfig(bundle string) ([]byte, fileInfo, error) {
	if bundle == "" {
		bundle = "." // runc's default: the working directory
	}
	st, err := os.Stat(bundle)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fileInfo{}, &Error{Path: bundle, Kind: ErrNotFound,
			Detail: "bundle directory does not exist",
			Fix:    "pass the bundle directory with --bundle, or run from inside it"}
	case err != nil:
		return nil, fileInfo{}, &Error{Path: bundle, Kind: ErrUnreadable,
			Detail: "cannot access bundle directory", Err: err}
	case !st.IsDir():
		return nil, fileInfo{}, &Error{Path: bundle, Kind: ErrNotFound,
			Detail: "bundle is not a directory",
			Fix:    "--bundle must name the directory that holds config.json"}
	}
	return readDocument(bundleConfig(bundle))
}

// readDocument reads a regular file without following a symlink in its last
// component and without blocking on a FIFO: it opens with O_NOFOLLOW and
// O_NONBLOCK, checks the type on the open descriptor (no check-then-open
// race), then reads at most MaxDocumentSize bytes.
func readDocument(path string) ([]byte, fileInfo, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fileInfo{}, openError(path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fileInfo{}, &Error{Path: path, Kind: ErrUnreadable, Detail: "cannot stat", Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fileInfo{}, &Error{Path: path, Kind: ErrNotRegular,
			Detail: "is a " + fileType(st.Mode) + ", not a regular file",
			Fix:    "replace it with a regular file holding the JSON document"}
	}
	if st.Size > MaxDocumentSize {
		return nil, fileInfo{}, tooLarge(path, st.Size)
	}
	data, err := readCapped(f, st.Size)
	if err != nil {
		return nil, fileInfo{}, withPath(err, path)
	}
	info := fileInfo{dev: st.Dev, ino: st.Ino, mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid}
	return data, info, nil
}

// readCapped reads r to the end, refusing more than MaxDocumentSize bytes
// (a file may grow after fstat; a stream has no size at all).
func readCapped(r io.Reader, sizeHint int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(sizeHint, MaxDocumentSize)) + bytes.MinRead)
	n, err := buf.ReadFrom(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, &Error{Kind: ErrUnreadable, Detail: "read failed", Err: err}
	}
	if n > MaxDocumentSize {
		return nil, tooLarge("", n)
	}
	return buf.Bytes(), nil
}

func tooLarge(path string, size int64) error {
	return &Error{Path: path, Kind: ErrTooLarge,
		Detail: fmt.Sprintf("document is over the %d MiB limit (at least %d bytes)", MaxDocumentSize>>20, size),
		Fix:    "no engine generates an OCI document this large; check what wrote it"}
}

// withPath fills in the path of an *Error built without one.
func withPath(err error, path string) error {
	var e *Error
	if errors.As(err, &e) && e.Path == "" {
		e.Path = path
	}
	return err
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return &Error{Path: path, Kind: ErrNotRegular, Detail: "is a symbolic link",
			Fix: "hardened-runc does not follow symlinks here; replace it with the regular file it points to"}
	case errors.Is(err, unix.ENOENT):
		return &Error{Path: path, Kind: ErrNotFound, Detail: "file does not exist",
			Fix: "check the path (for a bundle, create config.json there, e.g. with `runc spec`)"}
	case errors.Is(err, unix.ENXIO):
		// O_NONBLOCK on a socket-backed path or a FIFO-like device.
		return &Error{Path: path, Kind: ErrNotRegular, Detail: "is not a regular file", Err: err,
			Fix: "replace it with a regular file holding the JSON document"}
	default:
		return &Error{Path: path, Kind: ErrUnreadable, Detail: "cannot open", Err: err,
			Fix: "hardened-runc runs as the engine's user and must be able to read it"}
	}
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFLNK:
		return "symbolic link"
	default:
		return "special file"
	}
}
