package userns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// An engine's overlay (Docker's overlay2 `merged`, the rootfs containerd's
// shim mounts from an overlay snapshot) cannot be idmapped once mounted,
// and overlayfs forbids a second overlay on the same upper and work
// directories. So the engine's overlay is replaced in place: at the same
// mount point, in this mount namespace (the engine's: the shim inherits
// it), the engine's mount is unmounted and one overlay with the same upper,
// work and options, on idmapped lowers, is mounted instead. The container's
// root is a bind of that mount, so the engine and the container read and
// write one overlay. `delete` (or GC after a crash) puts the engine's own
// overlay back while ours is still there.
//
// Files in the upper directory are stored with host IDs of the container's
// range while it runs (the upper is not idmapped, so the engine, as host
// root, can still create files through its view), and shifted back to
// container IDs when the engine's overlay is restored, so a stopped
// container's layer holds what it would under runc and the next start may
// get another range.
//
// Two records make every step repairable after a crash:
//   - <RunDir>/userns/<id>/engine-root.json, written (atomically) before
//     anything is changed: the engine's mount, to put back;
//   - the xattr trusted.hardened-runc.shift on the upper directory, set
//     before its owners are shifted and removed once they are back: which
//     ranges the upper may hold. It lives with the data it describes, so it
//     survives a reboot (the run directory may not) and needs no fsync of
//     its own: the journal orders it before the chowns that follow.

// engineRootFile records the replaced mount in <RunDir>/userns/<id>.
const engineRootFile = "engine-root.json"

// shiftXattr on an upper directory lists the ranges its owners may be
// shifted into ("uid:gid:size" separated by ",").
const shiftXattr = "trusted.hardened-runc.shift"

// engineRoot is what replacing the engine's overlay changed.
type engineRoot struct {
	Mountpoint string `json:"mountpoint"`
	// Engine is the engine's overlay with every layer path resolved.
	Engine *Overlay `json:"engine"`
	// Attrs are the engine mount's per-mount flags (MOUNT_ATTR_*).
	Attrs   uint64  `json:"attrs"`
	Mapping Mapping `json:"mapping"`
}

func readEngineRoot(dir string) (*engineRoot, error) {
	data, err := os.ReadFile(filepath.Join(dir, engineRootFile))
	if err != nil {
		return nil, err
	}
	var r engineRoot
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", engineRootFile, err)
	}
	if r.Engine == nil || r.Mountpoint == "" || r.Engine.Upper == "" {
		return nil, fmt.Errorf("%s: incomplete record", engineRootFile)
	}
	return &r, nil
}

// write records r: a temp file renamed over the record, so a reader sees
// the old record or the new one. Not fsynced: it only has to survive this
// process dying (mounts do not survive a reboot; the upper's own record,
// shiftXattr, does).
func (r *engineRoot) write(dir string) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, engineRootFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("record engine root: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, engineRootFile)); err != nil {
		return fmt.Errorf("record engine root: %w", err)
	}
	return nil
}

// shiftedRanges reads the ranges the upper's owners may be shifted into.
func shiftedRanges(upper string) ([]Mapping, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(upper, shiftXattr, buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOENT) {
		// Not shifted, or the layer is gone (the engine removed it).
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "getxattr " + shiftXattr, Path: upper, Err: err}
	}
	var out []Mapping
	for _, f := range strings.Split(string(buf[:n]), ",") {
		var m Mapping
		// Ranges start at or above 65536 and fit in 32 bits; anything else
		// is not ours (only host root can write a trusted.* xattr).
		_, err := fmt.Sscanf(f, "%d:%d:%d", &m.HostUID, &m.HostGID, &m.Size)
		if err != nil || m.Size == 0 || m.HostUID < 65536 || m.HostGID < 65536 ||
			uint64(m.HostUID)+uint64(m.Size) > 1<<32 || uint64(m.HostGID)+uint64(m.Size) > 1<<32 {
			return nil, fmt.Errorf("%s: %s = %q: not uid:gid:size", upper, shiftXattr, buf[:n])
		}
		out = append(out, m)
	}
	return out, nil
}

func setShiftedRanges(upper string, ms []Mapping) error {
	var f []string
	for _, m := range ms {
		f = append(f, fmt.Sprintf("%d:%d:%d", m.HostUID, m.HostGID, m.Size))
	}
	if err := unix.Setxattr(upper, shiftXattr, []byte(strings.Join(f, ",")), 0); err != nil {
		return &os.PathError{Op: "setxattr " + shiftXattr, Path: upper, Err: err}
	}
	return nil
}

func clearShiftedRanges(upper string) error {
	err := unix.Removexattr(upper, shiftXattr)
	if err != nil && !errors.Is(err, unix.ENODATA) {
		return &os.PathError{Op: "removexattr " + shiftXattr, Path: upper, Err: err}
	}
	return nil
}

// procFDPrefix marks our overlay in mountinfo: its lowers are given as
// /proc/self/fd/<n>/<layer> of a detached idmapped mount, which no engine
// does.
const procFDPrefix = "/proc/self/fd/"

// isOurs reports whether m is the overlay this record's replacement
// mounted: same upper, lowers reached through our detached idmapped mount.
func (r *engineRoot) isOurs(m *mountinfo.Info) bool {
	if m == nil || m.FSType != "overlay" {
		return false
	}
	upper, ours := "", false
	for _, opt := range splitOptions(m.VFSOptions) {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "upperdir":
			upper = unescapeOverlay(v)
		case "lowerdir+", "datadir+", "lowerdir":
			ours = ours || strings.HasPrefix(v, procFDPrefix)
		}
	}
	return ours && upper == r.Engine.Upper
}

// replaceEngineRoot swaps the engine's overlay at p.Source for one on
// idmapped lowers, and binds it at <dir>/rootfs for the container.
func replaceEngineRoot(p *rootfsPlan, dir string, userns *os.File, m Mapping) error {
	// An earlier run of this container that did not finish its teardown
	// (a crash) is finished first, as far as it can be while the engine's
	// overlay is mounted; what is left (a shifted upper) is in the
	// upper's own record and shifted below.
	if err := repairEngineRoot(dir); err != nil && !errors.Is(err, errUpperInUse) {
		return err
	}
	top, err := findMount(p.Source)
	if err != nil {
		return err
	}
	if top == nil || top.FSType != "overlay" {
		return fmt.Errorf("the engine's overlay at %s is gone", p.Source)
	}
	rec := &engineRoot{Mountpoint: p.Source, Engine: p.Overlay, Attrs: mountAttrs(top.Options), Mapping: m}
	if err := rec.write(dir); err != nil {
		return err
	}
	killPoint("setup-recorded")

	// Everything that can fail for want of support happens before the
	// engine's mount is touched.
	parent, err := idmappedClone(p.Parent, userns)
	if err != nil {
		return errors.Join(err, removeRecord(dir))
	}
	defer unix.Close(parent)
	ours := p.Overlay.onFD(p.Parent, parent)
	fsfd, err := configureOverlay(ours)
	if noLowerdirPlus(err) {
		fsfd = -1 // mount(2) below, options as one string
	} else if err != nil {
		return errors.Join(err, removeRecord(dir))
	} else {
		defer unix.Close(fsfd)
	}
	stale, err := shiftedRanges(p.Overlay.Upper)
	if err != nil {
		return errors.Join(err, removeRecord(dir))
	}

	// Not lazy: a busy engine mount stays as it was, and its superblock is
	// gone (from this namespace) before ours uses the same upper.
	if err := unix.Unmount(p.Source, unix.UMOUNT_NOFOLLOW); err != nil {
		return errors.Join(&os.PathError{Op: "umount the engine's overlay", Path: p.Source, Err: err}, removeRecord(dir))
	}
	killPoint("setup-unmounted")
	err = shiftUpper(p.Overlay.Upper, m, stale)
	killPoint("setup-shifted")
	if err == nil && fsfd < 0 {
		err = legacyMountOverlay(ours, p.Source)
	} else if err == nil {
		err = attachOverlay(fsfd, p.Source, rec.Attrs)
	}
	if err != nil {
		// Put the engine's view back as it was.
		return errors.Join(err, restoreEngineRoot(dir, rec, true))
	}
	killPoint("setup-attached")
	if err := bindOnto(p.Source, filepath.Join(dir, rootfsDirName)); err != nil {
		return errors.Join(err, restoreEngineRoot(dir, rec, true))
	}
	killPoint("setup-mounted")
	return nil
}

// shiftUpper moves the upper's owners into m: container IDs, and the
// ranges of earlier runs that did not shift back (stale). The xattr first
// names every range the walk may leave behind, so a crash during it is
// undone by shifting all of them back; then only m.
func shiftUpper(upper string, m Mapping, stale []Mapping) error {
	all := append([]Mapping{m}, stale...)
	if err := setShiftedRanges(upper, all); err != nil {
		return err
	}
	if err := shiftTree(upper, m, append([]Mapping{{Size: m.Size}}, stale...)...); err != nil {
		return err
	}
	if len(stale) > 0 {
		return setShiftedRanges(upper, []Mapping{m})
	}
	return nil
}

// unshiftUpper moves the upper's owners back to container IDs from every
// range its xattr names, and drops the xattr.
func unshiftUpper(upper string) error {
	ranges, err := shiftedRanges(upper)
	if err != nil || len(ranges) == 0 {
		return err
	}
	if err := shiftTree(upper, Mapping{Size: ranges[0].Size}, ranges...); err != nil {
		return err
	}
	return clearShiftedRanges(upper)
}

// onFD is the overlay with its lowers under the detached mount fd (a clone
// of parent); upper and work stay as they are.
func (o *Overlay) onFD(parent string, fd int) *Overlay {
	base := procFDPrefix + strconv.Itoa(fd)
	n := &Overlay{Upper: o.Upper, Work: o.Work, Options: o.Options}
	for _, l := range o.Lower {
		rel, _ := filepath.Rel(parent, l.Path)
		n.Lower = append(n.Lower, Layer{Path: filepath.Join(base, rel), DataOnly: l.DataOnly})
	}
	return n
}

func attachOverlay(fsfd int, target string, attrs uint64) error {
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(attrs))
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	return attach(mfd, target)
}

// bindOnto binds the mount at src (not the ones below it) onto target.
func bindOnto(src, target string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return &os.PathError{Op: "open_tree", Path: src, Err: err}
	}
	defer unix.Close(fd)
	return attach(fd, target)
}

// repairEngineRoot undoes what a replacement recorded in dir left, if
// anything: at delete, or after a crash at any step.
func repairEngineRoot(dir string) error {
	// delete and the GC of another container's create may both find a
	// container whose runc state is gone: one repairs at a time.
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if err := flockRetry(int(d.Fd())); err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	rec, err := readEngineRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return restoreEngineRoot(dir, rec, false)
}

func flockRetry(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// errUpperInUse: the upper still holds shifted owners, and an overlay of
// the engine uses it, so they cannot be shifted back now.
var errUpperInUse = errors.New("the engine's overlay was mounted again before the upper's owners were shifted back")

// restoreEngineRoot puts the engine's overlay back where ours is:
//   - ours still mounted (delete, a crash after attaching): it is
//     unmounted, the upper shifted back and the engine's remounted, so the
//     engine finds the mount it made;
//   - nothing mounted (a crash between unmounting the engine's and
//     attaching ours, or the engine already unmounted ours): the upper is
//     shifted back and nothing is mounted, unless engineWaits (a create
//     failing in our hands): the engine believes its mount is there only
//     until it unmounts it, and remounting it then would leave a mount
//     nobody owns;
//   - the engine's own overlay there (it remounted after a crash): the
//     upper cannot change under a mounted overlay; the record stays for
//     GC, and the next create shifts from the upper's xattr
//     (errUpperInUse).
func restoreEngineRoot(dir string, rec *engineRoot, engineWaits bool) error {
	bind := filepath.Join(dir, rootfsDirName)
	ours := sameOverlay(bind, rec.Mountpoint)
	if err := detach(bind); err != nil {
		return err
	}
	killPoint("teardown-unbound")
	var top *mountinfo.Info
	if !ours {
		var err error
		if top, err = findMount(rec.Mountpoint); err != nil {
			return err
		}
	}
	remount := engineWaits && top == nil && !ours
	switch {
	case ours || rec.isOurs(top):
		if err := unmountBusy(rec.Mountpoint); err != nil {
			return fmt.Errorf("unmount the idmapped overlay: %w", err)
		}
		remount = true
		killPoint("teardown-unmounted")
	case top != nil && rec.usesUpper(top):
		if r, _ := shiftedRanges(rec.Engine.Upper); len(r) > 0 {
			// Kept: GC finishes once the engine unmounts it.
			return fmt.Errorf("%s: %w (ranges %v); the next create of the container, or `hardenctl gc` once it is unmounted, shifts them", rec.Mountpoint, errUpperInUse, r)
		}
		return removeRecord(dir)
	}
	if err := unshiftUpper(rec.Engine.Upper); err != nil {
		return err
	}
	killPoint("teardown-unshifted")
	if remount {
		if err := mountEngineOverlay(rec); err != nil {
			return fmt.Errorf("restore the engine's overlay at %s: %w", rec.Mountpoint, err)
		}
		killPoint("teardown-restored")
	}
	return removeRecord(dir)
}

// sameOverlay reports whether the mounts at a and b are roots of one
// overlay superblock. Our bind at <dir>/rootfs is a clone of our overlay,
// so an overlay at the engine's mount point with the bind's superblock is
// ours, decided by two statx(2) and a statfs(2) instead of reading the
// host's mountinfo; an answer of false decides nothing (the bind is gone
// after a crash, an old kernel) and the caller reads mountinfo.
func sameOverlay(a, b string) bool {
	var fs unix.Statfs_t
	if unix.Statfs(a, &fs) != nil || fs.Type != unix.OVERLAYFS_SUPER_MAGIC {
		return false
	}
	var sa, sb unix.Statx_t
	for _, st := range []struct {
		path string
		buf  *unix.Statx_t
	}{{a, &sa}, {b, &sb}} {
		if unix.Statx(unix.AT_FDCWD, st.path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO, st.buf) != nil ||
			st.buf.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 || st.buf.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
			return false
		}
	}
	return sa.Dev_major == sb.Dev_major && sa.Dev_minor == sb.Dev_minor
}

// usesUpper reports whether m is an overlay on the record's upper.
func (r *engineRoot) usesUpper(m *mountinfo.Info) bool {
	if m.FSType != "overlay" {
		return false
	}
	o, err := ParseOverlay(m)
	if err != nil || o.Upper == "" {
		return false
	}
	u, err := filepath.EvalSymlinks(o.Upper)
	return err == nil && u == r.Engine.Upper
}

func removeRecord(dir string) error {
	err := os.Remove(filepath.Join(dir, engineRootFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// unmountBusy unmounts target, not lazily: a lazily detached overlay would
// live on beside the engine's restored one. EBUSY is retried for a while
// (a process forking into a new mount namespace holds a copy briefly).
func unmountBusy(target string) error {
	var err error
	for i := 0; i < 100; i++ {
		err = unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
		if err == nil || !(errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return &os.PathError{Op: "umount", Path: target, Err: err}
	}
	return nil
}

// mountEngineOverlay mounts the engine's overlay as it was (layers by
// their resolved paths, same options and per-mount flags).
func mountEngineOverlay(rec *engineRoot) error {
	fsfd, err := configureOverlay(rec.Engine)
	if noLowerdirPlus(err) {
		return legacyMountOverlay(rec.Engine, rec.Mountpoint)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	return attachOverlay(fsfd, rec.Mountpoint, rec.Attrs)
}

// mountAttrs turns mountinfo per-mount options into MOUNT_ATTR_* flags.
func mountAttrs(opts string) uint64 {
	var a uint64
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "ro":
			a |= unix.MOUNT_ATTR_RDONLY
		case "nosuid":
			a |= unix.MOUNT_ATTR_NOSUID
		case "nodev":
			a |= unix.MOUNT_ATTR_NODEV
		case "noexec":
			a |= unix.MOUNT_ATTR_NOEXEC
		case "noatime":
			a |= unix.MOUNT_ATTR_NOATIME
		case "nodiratime":
			a |= unix.MOUNT_ATTR_NODIRATIME
		case "strictatime":
			a |= unix.MOUNT_ATTR_STRICTATIME
		}
	}
	return a
}

// EngineOverlay is the engine's own overlay for a container whose root
// hardened-runc replaced in place (every layer path resolved), from the
// record kept for putting it back; an error when none was replaced. What
// is mounted at the engine's mount point meanwhile is hardened-runc's
// overlay, whose lower layers are paths of fds only the creating process
// held: readers of the engine's layers (the audit of writes) read this.
func EngineOverlay(runDir, id string) (*Overlay, error) {
	r, err := readEngineRoot(containerDir(runDir, id))
	if err != nil {
		return nil, err
	}
	return r.Engine, nil
}
