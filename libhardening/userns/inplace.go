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

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// An engine's overlay (Docker's overlay2 `merged`, the rootfs containerd's
// shim mounts from an overlay snapshot) cannot be idmapped once mounted,
// and overlayfs forbids a second overlay on the same upper and work
// directories. So the engine's overlay is replaced in place: at the same
// mount point, in this mount namespace (the engine's: the shim inherits
// it), the engine's mount is unmounted and one overlay with the same
// layers and options, all of them idmapped, is mounted instead. The
// container's root is a bind of that mount, so the engine and the
// container read and write one overlay.
//
// Every layer, the upper and work directories included, is reached through
// one idmapped clone of their common parent, with the user namespace of
// nsfd.go: container IDs k are stored as k (on disk, the upper holds what
// it would under runc, whatever range the container gets), and a host ID
// k < size that a host process writes through the engine's view (docker cp
// into a running container) is stored as start+k. Nothing is shifted when
// the container starts.
//
// At delete the overlay stays where it is: the engine unmounts it, as it
// unmounts its own after every delete. What host processes wrote while it
// ran is moved back to their own IDs first, through the overlay (leave).
// Its range stays taken (a lingering table entry) until the engine has
// unmounted it.
//
// Two records make every step repairable after a crash:
//   - <RunDir>/userns/<id>/engine-root.json, written (atomically) before
//     anything is changed: the engine's mount, to put back if the create
//     fails, and to find ours by;
//   - the xattr trusted.hardened-runc.shift on the upper directory, set
//     before the overlay is mounted and kept while an overlay of ours may
//     write to it: which ranges' IDs on disk stand for the host IDs below
//     their size. The next create moves them back before it mounts. It lives with the data it describes, so it survives a
//     reboot (the run directory may not) and needs no fsync of its own:
//     the journal orders it before the writes that follow. Versions that
//     shifted the whole upper into the range at start wrote the same
//     record, with the same meaning.

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
	// Parent is the directory cloned for the layers. Set when the upper is
	// idmapped too; a record without it was written by a version that
	// shifted the upper's owners instead, and is torn down as it was
	// (unmounted, shifted back, the engine's overlay mounted again).
	Parent string `json:"parent,omitempty"`
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
	if r.Parent != "" {
		rel, err := filepath.Rel(r.Parent, r.Engine.Upper)
		return ours && err == nil && strings.HasPrefix(upper, procFDPrefix) && strings.HasSuffix(upper, "/"+rel)
	}
	return ours && upper == r.Engine.Upper
}

// replaceEngineRoot swaps the engine's overlay at p.Source for one on
// idmapped layers, and binds it at <dir>/rootfs for the container. What is
// at p.Source may also be hardened-runc's overlay of a deleted container
// that the engine has not unmounted yet (p.Stale): it is replaced the
// same way, and the engine's own is p.Stale's record.
func replaceEngineRoot(p *rootfsPlan, dir string, userns *os.File, m Mapping) error {
	// An earlier run of this container that did not finish its teardown
	// (a crash) is finished first, as far as it can be while an overlay is
	// mounted; what is left is in the upper's own record, repaired below.
	if _, err := repairEngineRoot(dir); err != nil && !errors.Is(err, errUpperInUse) {
		return err
	}
	top, err := findMount(p.Source)
	if err != nil {
		return err
	}
	if top == nil || top.FSType != "overlay" {
		return fmt.Errorf("the engine's overlay at %s is gone", p.Source)
	}
	rec := &engineRoot{Mountpoint: p.Source, Engine: p.Overlay, Attrs: mountAttrs(top.Options), Mapping: m, Parent: p.Parent}
	if p.Stale != nil {
		if !p.Stale.isOurs(top) {
			return fmt.Errorf("%s: the overlay there changed while the container was being created", p.Source)
		}
		rec.Attrs = p.Stale.Attrs // the engine's own
	}
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
	err = prepareUpper(p.Overlay.Upper, m, stale)
	killPoint("setup-shifted")
	if err == nil && fsfd < 0 {
		err = legacyMountOverlay(ours, p.Source)
	} else if err == nil {
		err = attachOverlay(fsfd, p.Source, rec.Attrs)
	}
	if err != nil {
		// Put the engine's view back as it was.
		_, rerr := restoreEngineRoot(dir, rec, true)
		return errors.Join(err, rerr)
	}
	killPoint("setup-attached")
	if err := bindOnto(p.Source, filepath.Join(dir, rootfsDirName)); err != nil {
		_, rerr := restoreEngineRoot(dir, rec, true)
		return errors.Join(err, rerr)
	}
	killPoint("setup-mounted")
	return nil
}

// prepareUpper readies the upper, while no overlay uses it, for an overlay
// on m's idmapping. IDs an earlier run left in a range (stale: what a
// host process wrote through the view delete left for the engine, a
// crash, or a version that shifted the whole upper) are moved back first;
// the record then names m, the range whose IDs on disk stand for host IDs
// from now on.
func prepareUpper(upper string, m Mapping, stale []Mapping) error {
	if len(stale) > 0 {
		if err := shiftTree(upper, Mapping{Size: stale[0].Size}, stale...); err != nil {
			return err
		}
	}
	return setShiftedRanges(upper, []Mapping{m})
}

// unshiftUpper moves the upper's owners back from every range its xattr
// names, and drops the xattr. Only while no overlay uses the upper.
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

// onFD is the overlay with every layer, upper and work included, under the
// detached mount fd (a clone of parent).
func (o *Overlay) onFD(parent string, fd int) *Overlay {
	base := procFDPrefix + strconv.Itoa(fd)
	under := func(p string) string {
		rel, _ := filepath.Rel(parent, p)
		return filepath.Join(base, rel)
	}
	n := &Overlay{Options: o.Options}
	if o.Upper != "" {
		n.Upper, n.Work = under(o.Upper), under(o.Work)
	}
	for _, l := range o.Lower {
		n.Lower = append(n.Lower, Layer{Path: under(l.Path), DataOnly: l.DataOnly})
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

// repairEngineRoot finishes what a replacement recorded in dir left, if
// anything: at delete, or after a crash at any step. It returns our
// overlay when it is left at the engine's mount point for the engine to
// unmount. The record stays: removeContainerDir removes it once the range
// table says so.
func repairEngineRoot(dir string) (*Lingering, error) {
	// delete and the GC of another container's create may both find a
	// container whose runc state is gone: one repairs at a time.
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := flockRetry(int(d.Fd())); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	rec, err := readEngineRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
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

// errUpperInUse: the upper still holds IDs of a range, and an overlay of
// the engine uses it, so they cannot be moved back now.
var errUpperInUse = errors.New("the engine's overlay was mounted again before the upper's owners were shifted back")

// restoreEngineRoot ends a replacement, by what is at the mount point:
//   - ours, at delete (engineWaits unset): left there for the engine to
//     unmount (leave), and returned; the bind for runc is unmounted;
//   - ours, for a create that fails in our hands (engineWaits), or one a
//     version that shifted the upper mounted: unmounted, the upper shifted
//     back and the engine's overlay mounted again, so the engine finds the
//     mount it made;
//   - nothing (a crash between unmounting the engine's and attaching ours,
//     or the engine already unmounted ours): the upper's IDs are moved
//     back, and nothing is mounted, unless engineWaits: the engine
//     believes its mount is there only until it unmounts it, and mounting
//     it then would leave a mount nobody owns;
//   - the engine's own overlay (it remounted after a crash): the upper
//     cannot change under a mounted overlay; the upper's record stays for
//     the next create of the container, which moves the IDs back after
//     unmounting the engine's (errUpperInUse).
//
// The record is removed except when ours is left: the table must say the
// range lingers before the record that finds our overlay goes.
func restoreEngineRoot(dir string, rec *engineRoot, engineWaits bool) (*Lingering, error) {
	bind := filepath.Join(dir, rootfsDirName)
	ours := sameOverlay(bind, rec.Mountpoint)
	var top *mountinfo.Info
	if !ours {
		var err error
		if top, err = findMount(rec.Mountpoint); err != nil {
			return nil, err
		}
		ours = rec.isOurs(top)
	}
	var left *Lingering
	if ours && !engineWaits && rec.Parent != "" {
		var err error
		if left, err = rec.leave(); err != nil {
			return nil, err
		}
	}
	if err := detach(bind); err != nil {
		return nil, err
	}
	killPoint("teardown-unbound")
	if left != nil {
		return left, nil
	}
	remount := engineWaits && top == nil && !ours
	switch {
	case ours:
		if err := unmountBusy(rec.Mountpoint); err != nil {
			return nil, fmt.Errorf("unmount the idmapped overlay: %w", err)
		}
		remount = true
		killPoint("teardown-unmounted")
	case top != nil && rec.usesUpper(top):
		if r, _ := shiftedRanges(rec.Engine.Upper); len(r) > 0 {
			// Kept: GC finishes once the engine unmounts it.
			return nil, fmt.Errorf("%s: %w (ranges %v); the next create of the container, or `hardenctl gc` once it is unmounted, shifts them", rec.Mountpoint, errUpperInUse, r)
		}
		return nil, removeRecord(dir)
	}
	if err := unshiftUpper(rec.Engine.Upper); err != nil {
		return nil, err
	}
	killPoint("teardown-unshifted")
	if remount {
		if err := mountEngineOverlay(rec); err != nil {
			return nil, fmt.Errorf("restore the engine's overlay at %s: %w", rec.Mountpoint, err)
		}
		killPoint("teardown-restored")
	}
	return nil, removeRecord(dir)
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

// staleRecords finds the record of hardened-runc's overlay left at a
// mount point by a deleted container: in the range table's lingering
// entries, or in this container's own directory (its previous run, torn
// down by a crash before the table said so).
func staleRecords(ctx *modifier.Context) func(mountpoint string) *engineRoot {
	return func(mountpoint string) *engineRoot {
		dir := filepath.Join(ctx.StateDir(), stateDirName)
		if t, err := readTable(filepath.Join(dir, tableFile)); err == nil {
			if r, ok := t.LingeringAt(mountpoint); ok {
				return r
			}
		}
		if ValidID(ctx.ContainerID) != nil {
			return nil
		}
		if r, err := readEngineRoot(filepath.Join(dir, ctx.ContainerID)); err == nil && r.Mountpoint == mountpoint {
			return r
		}
		return nil
	}
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
