package userns

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyDirName holds the chowned copy of a rootfs that cannot be idmapped.
const copyDirName = "copy"

// chownCopy is the "chown" fallback for root filesystems that cannot be
// idmapped (NFS, FUSE, an already-merged overlay on an old kernel): a copy
// of the rootfs whose owners are shifted into the container's range, bind
// mounted as its root. It costs a full copy of the image per container, and
// writes to the root go to the copy, which is removed at delete (the
// engine's own writable layer does not see them). Set-id bits and file
// capabilities are kept; hard links become separate files.
func chownCopy(p *rootfsPlan, dir string, m Mapping) error {
	dst := filepath.Join(dir, copyDirName)
	if err := os.Mkdir(dst, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := copyShifted(p.Source, dst, m); err != nil {
		return fmt.Errorf("chowned copy of %s: %w", p.Source, err)
	}
	target := filepath.Join(dir, rootfsDirName)
	if err := unix.Mount(dst, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &os.PathError{Op: "bind mount", Path: target, Err: err}
	}
	return nil
}

// copyShifted copies the tree at src into dst (which exists), shifting
// every uid and gid by the mapping. IDs outside the range become the
// range's nobody (65534), as they would appear in the container anyway.
func copyShifted(src, dst string, m Mapping) error {
	shift := func(id uint32, base uint32) int {
		if id >= m.Size {
			id = 65534
		}
		return int(base + id)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		if path != src {
			if err := copyEntry(path, to, &st); err != nil {
				return err
			}
		}
		if err := unix.Lchown(to, shift(st.Uid, m.HostUID), shift(st.Gid, m.HostGID)); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			// chown clears set-id bits: put the mode back after it.
			if err := unix.Chmod(to, st.Mode&0o7777); err != nil {
				return err
			}
		}
		return copyCapability(path, to)
	})
}

func copyEntry(from, to string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(to, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	case unix.S_IFLNK:
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		return os.Symlink(target, to)
	case unix.S_IFREG:
		return copyFile(from, to)
	default:
		// Device nodes, FIFOs and sockets: recreate the node.
		return unix.Mknod(to, st.Mode, int(st.Rdev))
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyCapability carries a file capability (security.capability) over; a
// v3 capability names the owning namespace's root and is shifted by the
// kernel when read through this mapping, so the bytes are copied as they
// are.
func copyCapability(from, to string) error {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(from, "security.capability", buf)
	if err != nil {
		if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil
		}
		return err
	}
	return unix.Lsetxattr(to, "security.capability", buf[:n], 0)
}
