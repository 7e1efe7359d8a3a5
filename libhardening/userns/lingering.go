package userns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// leave readies our overlay at the engine's mount point to stay there after
// delete, for the engine to unmount as it unmounts its own overlay (Docker,
// containerd's shim and Podman all do, right after the runtime's delete).
// Unmounting it and mounting the engine's again instead cost two overlay
// mounts' work and a second sync of the upper's file system on every stop.
//
// What host processes wrote through the engine's view while the container
// ran is moved back to their own IDs, through the overlay (moveBack), so
// the stopped container's layer holds what it would under runc. The view
// stays writable: an engine that still holds the mount may write through
// it (Podman chowns the root of a held `podman mount` before the next
// start), and what it writes with host IDs is again stored in the range,
// so the upper keeps its record and the container's next create moves it
// back, as after a crash.
//
// It returns what the range table keeps for the range while the overlay
// is mounted.
func (r *engineRoot) leave() (*Lingering, error) {
	l := &Lingering{MountID: uniqueMountID(r.Mountpoint), Root: r}
	l.MountNS, l.NSInode = thisMountNS()
	// A clone of the mount: the moves go through the overlay, as overlayfs
	// requires of changes to its layers, and never through a path the
	// engine could change under them.
	fd, err := unix.OpenTree(unix.AT_FDCWD, r.Mountpoint, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: r.Mountpoint, Err: err}
	}
	defer unix.Close(fd)
	if err := moveBack(fd, r.Engine.Upper, r.Mapping); err != nil {
		return nil, err
	}
	killPoint("teardown-unshifted")
	return l, nil
}

// moveBack stores the host IDs that host processes wrote through the
// overlay (root: a writable mount of it) as themselves: an owner at offset
// k of m's range on disk in upper is host ID k seen through the overlay,
// and chowning it, through the overlay, to the number stored (start+k, the
// kuid the idmapping turns into k on disk) stores k. Whiteouts, which the
// overlay never shows (its own, made with the mounter's root IDs), are
// chowned in the upper directly: the overlay reads nothing of them but
// their name. The walk reads the upper only; files are reached through
// root without following a symlink or leaving the mount.
func moveBack(root int, upper string, m Mapping) error {
	in := func(id, base uint32) bool { return id >= base && uint64(id) < uint64(base)+uint64(m.Size) }
	err := walkOwners(upper, func(path string, st *unix.Stat_t) error {
		uid, gid := -1, -1
		if in(st.Uid, m.HostUID) {
			uid = int(st.Uid)
		}
		if in(st.Gid, m.HostGID) {
			gid = int(st.Gid)
		}
		if uid < 0 && gid < 0 {
			return nil
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return unix.Lchown(path, shiftDown(uid, m.HostUID), shiftDown(gid, m.HostGID))
		}
		rel, err := filepath.Rel(upper, path)
		if err != nil {
			return err
		}
		return chownThrough(root, rel, st, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("move host IDs back under %s: %w", upper, err)
	}
	return nil
}

func shiftDown(id int, base uint32) int {
	if id < 0 {
		return -1
	}
	return id - int(base)
}

// chownThrough chowns rel under root (a mount fd), keeping what chown
// drops (chownKeeping).
func chownThrough(root int, rel string, st *unix.Stat_t, uid, gid int) error {
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return &os.PathError{Op: "open through the overlay", Path: rel, Err: err}
	}
	defer unix.Close(fd)
	// An O_PATH fd's /proc/self/fd link names the file itself for the
	// calls that take no fd of that kind (chmod, xattrs).
	err = chownKeeping("/proc/self/fd/"+strconv.Itoa(fd), st, func() error {
		return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return &os.PathError{Op: "chown through the overlay", Path: rel, Err: err}
	}
	return nil
}

// uniqueMountID is the unique ID of the mount at path (statx
// STATX_MNT_ID_UNIQUE, Linux 6.8), or 0.
func uniqueMountID(path string) uint64 {
	var st unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID_UNIQUE, &st) != nil ||
		st.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return 0
	}
	return st.Mnt_id
}

// mounted reports whether the lingering overlay is still mounted in its
// mount namespace. With unique IDs that is one statmount(2), which fails
// with ENOENT once the mount or its namespace is gone; otherwise, from the
// same namespace only, the mount point is looked up in mountinfo. What
// cannot be decided counts as mounted: the range stays taken.
func (l *Lingering) mounted() bool {
	if l.MountID != 0 && l.MountNS != 0 {
		switch err := statmount(l.MountID, l.MountNS); {
		case err == nil:
			return true
		case errors.Is(err, unix.ENOENT):
			return false
		}
	}
	if _, ino := thisMountNS(); ino != l.NSInode {
		return true
	}
	if l.MountID != 0 {
		switch err := statmount(l.MountID, 0); {
		case err == nil:
			return true
		case errors.Is(err, unix.ENOENT):
			return false
		}
	}
	if l.Root == nil {
		return true
	}
	top, err := findMount(l.Root.Mountpoint)
	return err != nil || l.Root.isOurs(top)
}

// mntIDReq is struct mnt_id_req (MNT_ID_REQ_SIZE_VER1: with the mount
// namespace's ID), which golang.org/x/sys/unix does not define.
type mntIDReq struct {
	Size    uint32
	Spare   uint32
	MntID   uint64
	Param   uint64
	MntNSID uint64
}

// statmount asks the kernel for the mount with unique ID id in the mount
// namespace with unique ID ns (0: this one), for its basic superblock facts
// only (STATMOUNT_SB_BASIC).
func statmount(id, ns uint64) error {
	const sbBasic = 0x1
	req := mntIDReq{Size: unix.MNT_ID_REQ_SIZE_VER1, MntID: id, Param: sbBasic, MntNSID: ns}
	if ns == 0 {
		req.Size = unix.MNT_ID_REQ_SIZE_VER0
	}
	var buf [512]byte
	_, _, errno := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// mntNSInfo is struct mnt_ns_info (MNT_NS_INFO_SIZE_VER0).
type mntNSInfo struct {
	Size     uint32
	NrMounts uint32
	MntNSID  uint64
}

// nsMntGetInfo is NS_MNT_GET_INFO, _IOR(NSIO, 10, struct mnt_ns_info)
// (Linux 6.12), not in golang.org/x/sys/unix.
const nsMntGetInfo = 2<<30 | 16<<16 | 0xb7<<8 | 10

// thisMountNS returns the unique ID of this process's mount namespace (0
// before Linux 6.12) and its inode.
func thisMountNS() (id, ino uint64) {
	fd, err := unix.Open("/proc/self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		ino = st.Ino
	}
	info := mntNSInfo{Size: uint32(unsafe.Sizeof(mntNSInfo{}))}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsMntGetInfo, uintptr(unsafe.Pointer(&info))); errno == 0 {
		id = info.MntNSID
	}
	return id, ino
}
