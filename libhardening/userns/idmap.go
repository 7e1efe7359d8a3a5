package userns

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Mapping is a container's ID mapping: container IDs 0..Size-1 are host
// IDs HostUID.. and HostGID...
type Mapping struct {
	HostUID uint32 `json:"hostUID"`
	HostGID uint32 `json:"hostGID"`
	Size    uint32 `json:"size"`
}

func (m Mapping) String() string {
	return fmt.Sprintf("uid 0-%d → %d-%d, gid 0-%d → %d-%d", m.Size-1, m.HostUID, m.HostUID+m.Size-1, m.Size-1, m.HostGID, m.HostGID+m.Size-1)
}

// usernsFD returns an fd of a user namespace with mapping m, for
// MOUNT_ATTR_IDMAP: one per container, for all its idmapped mounts (nsfd.go).
func usernsFD(m Mapping) (*os.File, error) { return newUsernsFD(m) }

// idmappedClone returns a detached, idmapped copy of the mount at (or bind
// mount of the directory) path. Non-recursive on purpose: idmapping a tree
// that contains an overlay fails with EINVAL, and nested mounts of a
// rootfs are the engine's business, not ours.
func idmappedClone(path string, userns *os.File) (int, error) {
	return idmappedCloneTree(path, false, userns)
}

// idmappedCloneTree is idmappedClone, with the mounts below path included
// (and idmapped) when recursive is set (`rbind` sources).
func idmappedCloneTree(path string, recursive bool, userns *os.File) (int, error) {
	flags, setFlags := uint(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC), uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
		setFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, flags)
	if err != nil {
		return -1, &os.PathError{Op: "open_tree", Path: path, Err: err}
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", setFlags, attr); err != nil {
		unix.Close(fd)
		return -1, &IdmapError{Path: path, Err: err}
	}
	return fd, nil
}

// IdmapError says the kernel refused to idmap a mount: the filesystem (or
// the kernel) does not support idmapped mounts, or the path is an overlay.
type IdmapError struct {
	Path string
	Err  error
}

func (e *IdmapError) Error() string {
	return fmt.Sprintf("idmapped mount of %s not supported: mount_setattr(MOUNT_ATTR_IDMAP): %v", e.Path, e.Err)
}

func (e *IdmapError) Unwrap() error { return e.Err }

// attach moves a detached mount onto target.
func attach(fd int, target string) error {
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount", Path: target, Err: err}
	}
	return nil
}

// idmapOnto mounts an idmapped copy of src on target.
func idmapOnto(src, target string, userns *os.File) error {
	fd, err := idmappedClone(src, userns)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return attach(fd, target)
}

// detach lazily unmounts target. EBUSY and EAGAIN are retried: a process
// forking into a new user namespace holds a copy of the mount table for a
// moment (containerd retries for the same reason). Not mounted is success.
func detach(target string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY), errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			time.Sleep(10 * time.Millisecond)
		default:
			return &os.PathError{Op: "umount", Path: target, Err: err}
		}
	}
	return &os.PathError{Op: "umount", Path: target, Err: err}
}
