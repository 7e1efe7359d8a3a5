package userns

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// shiftTree moves the owners of every file under root (root included) from
// the ranges in from into to: an ID at offset k of from[i] becomes to's
// base + k; IDs in none of them are left as they are. It is idempotent, so
// a walk cut short by a crash is finished by running it again, and it
// walks only the container's writable layer (what the container and the
// engine wrote to it), never the image. It runs only while no overlay is
// mounted on root: overlayfs does not allow its layers to change under it.
//
// chown clears set-id bits and file capabilities; both are put back.
func shiftTree(root string, to Mapping, from ...Mapping) error {
	move := func(id uint32, gid bool) (uint32, bool) {
		for _, f := range from {
			base, dst := f.HostUID, to.HostUID
			if gid {
				base, dst = f.HostGID, to.HostGID
			}
			if id >= base && uint64(id) < uint64(base)+uint64(f.Size) && id-base < to.Size {
				return dst + (id - base), base != dst
			}
		}
		return id, false
	}
	err := walkOwners(root, func(path string, st *unix.Stat_t) error {
		uid, cu := move(st.Uid, false)
		gid, cg := move(st.Gid, true)
		if !cu && !cg {
			return nil
		}
		return chownKeep(path, st, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("shift owners under %s: %w", root, err)
	}
	return nil
}

// walkOwners calls fn with the lstat(2) of every file under root, root
// included, without following symlinks; what vanishes during the walk is
// skipped.
func walkOwners(root string, fn func(path string, st *unix.Stat_t) error) error {
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return err
		}
		return fn(path, &st)
	})
}

// chownKeep chowns path and restores what chown drops: set-id bits and
// the security.capability xattr.
func chownKeep(path string, st *unix.Stat_t, uid, gid uint32) error {
	return chownKeeping(path, st, func() error { return unix.Lchown(path, int(uid), int(gid)) })
}

// chownKeeping runs chown and puts back what it drops: the set-id bits,
// and a regular file's security.capability xattr. path names the file
// itself for the mode and the xattr (its own path, or /proc/self/fd/N of
// an fd of it), so the calls that follow a symlink are used: what st
// says is a regular file is not one.
func chownKeeping(path string, st *unix.Stat_t, chown func() error) error {
	var capBuf []byte
	link := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		buf := make([]byte, 64)
		if n, err := unix.Getxattr(path, "security.capability", buf); err == nil {
			capBuf = buf[:n]
		}
	}
	if err := chown(); err != nil {
		return err
	}
	if !link && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		if err := unix.Chmod(path, st.Mode&0o7777); err != nil {
			return err
		}
	}
	if capBuf != nil {
		return unix.Setxattr(path, "security.capability", capBuf, 0)
	}
	return nil
}
