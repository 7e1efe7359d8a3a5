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

// engineRootFile records the replaced mount in <RunDir>/userns/<id>.
const engineRootFile = "engine-root.json"

// Phases of a replacement, in order; each is on disk before the step it
// names begins, so a crash at any point is repaired from the record.
const (
	phasePlanned  = "planned"  // nothing changed yet
	phaseShifting = "shifting" // the engine's overlay may be unmounted, upper may be partly shifted
	phaseMounted  = "mounted"  // ours is at the mount point
	// phaseUnshifted: ours is unmounted and the upper holds container IDs
	// again; only the engine's mount may be missing.
	phaseUnshifted = "unshifted"
)

// engineRoot is what replacing the engine's overlay changed.
type engineRoot struct {
	Phase      string `json:"phase"`
	Mountpoint string `json:"mountpoint"`
	// Engine is the engine's overlay with every layer path resolved.
	Engine *Overlay `json:"engine"`
	// Attrs are the engine mount's per-mount flags (MOUNT_ATTR_*).
	Attrs   uint64  `json:"attrs"`
	Mapping Mapping `json:"mapping"`
	// Stale are the ranges of earlier runs whose teardown did not
	// finish: IDs in them are shifted into Mapping as well.
	Stale []Mapping `json:"stale,omitempty"`
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

// write records r durably: temp file, fsync, rename, fsync of dir.
func (r *engineRoot) write(dir string) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, engineRootFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, engineRootFile))
	}
	if err != nil {
		return fmt.Errorf("record engine root: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (r *engineRoot) setPhase(dir, phase string) error {
	r.Phase = phase
	return r.write(dir)
}

// procFDPrefix marks our overlay in mountinfo: its lowers are given as
// /proc/self/fd/<n>/<layer> of a detached idmapped mount, which no engine
// does.
const procFDPrefix = "/proc/self/fd/"

// isOurs reports whether m is the overlay this record's replacement
// mounted (or is mounting): same upper, lowers reached through our
// detached idmapped mount.
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
	rec := &engineRoot{Phase: phasePlanned, Mountpoint: p.Source, Engine: p.Overlay, Mapping: m}
	// An earlier run of this container that did not finish its teardown
	// (a crash): its upper may still be shifted to its old range.
	if old, err := readEngineRoot(dir); err == nil {
		if err := restoreEngineRoot(dir, old, false); err != nil {
			// The engine's overlay is mounted on that upper: shift the
			// old range together with the image's IDs below.
			rec.Stale = append(old.Stale, old.Mapping)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	top, err := findMount(p.Source)
	if err != nil {
		return err
	}
	if top == nil || top.FSType != "overlay" {
		return fmt.Errorf("the engine's overlay at %s is gone", p.Source)
	}
	rec.Attrs = mountAttrs(top.Options)
	if err := rec.write(dir); err != nil {
		return err
	}
	killPoint("setup-recorded")

	// Everything that can fail for want of support happens before the
	// engine's mount is touched.
	parent, err := idmappedClone(p.Parent, userns)
	if err != nil {
		return errors.Join(err, forgetUnchanged(dir, rec))
	}
	defer unix.Close(parent)
	ours := p.Overlay.onFD(p.Parent, parent)
	fsfd, err := configureOverlay(ours)
	if errors.Is(err, errNoLowerdirPlus) {
		fsfd = -1 // mount(2) below, options as one string
	} else if err != nil {
		return errors.Join(err, forgetUnchanged(dir, rec))
	} else {
		defer unix.Close(fsfd)
	}

	if err := rec.setPhase(dir, phaseShifting); err != nil {
		return err
	}
	// Not lazy: a busy engine mount stays as it was, and its superblock is
	// gone (from this namespace) before ours uses the same upper.
	if err := unix.Unmount(p.Source, unix.UMOUNT_NOFOLLOW); err != nil {
		rec.Phase = phasePlanned
		return errors.Join(&os.PathError{Op: "umount the engine's overlay", Path: p.Source, Err: err}, forgetUnchanged(dir, rec))
	}
	killPoint("setup-unmounted")
	err = shiftTree(p.Overlay.Upper, m, append([]Mapping{{Size: m.Size}}, rec.Stale...)...)
	killPoint("setup-shifted")
	if err == nil && fsfd < 0 {
		err = legacyMountOverlay(ours, p.Source)
	} else if err == nil {
		err = attachOverlay(fsfd, p.Source, rec)
	}
	if err != nil {
		// Put the engine's view back as it was.
		return errors.Join(err, restoreEngineRoot(dir, rec, true))
	}
	killPoint("setup-attached")
	if err := rec.setPhase(dir, phaseMounted); err != nil {
		return errors.Join(err, restoreEngineRoot(dir, rec, true))
	}
	target := filepath.Join(dir, rootfsDirName)
	if err := bindOnto(p.Source, target); err != nil {
		return errors.Join(err, restoreEngineRoot(dir, rec, true))
	}
	killPoint("setup-mounted")
	return nil
}

// forgetUnchanged drops the record of a replacement that changed nothing,
// unless it carries stale ranges still to be shifted back.
func forgetUnchanged(dir string, rec *engineRoot) error {
	if len(rec.Stale) > 0 {
		rec.Mapping = rec.Stale[len(rec.Stale)-1]
		rec.Stale = rec.Stale[:len(rec.Stale)-1]
		rec.Phase = phaseShifting
		return rec.write(dir)
	}
	return removeRecord(dir)
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

func attachOverlay(fsfd int, target string, rec *engineRoot) error {
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, int(rec.Attrs))
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
	rec, err := readEngineRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return restoreEngineRoot(dir, rec, false)
}

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
//     upper is left alone while an overlay uses it, and the record kept, so
//     the next create or GC shifts it back.
func restoreEngineRoot(dir string, rec *engineRoot, engineWaits bool) error {
	if err := detach(filepath.Join(dir, rootfsDirName)); err != nil {
		return err
	}
	killPoint("teardown-unbound")
	top, err := findMount(rec.Mountpoint)
	if err != nil {
		return err
	}
	remount := engineWaits && top == nil
	switch {
	case rec.isOurs(top):
		if err := unmountBusy(rec.Mountpoint); err != nil {
			return fmt.Errorf("unmount the idmapped overlay: %w", err)
		}
		remount = true
		killPoint("teardown-unmounted")
	case top != nil && rec.dirty() && rec.usesUpper(top):
		return fmt.Errorf("%s: the engine's overlay was remounted before its upper was shifted back from %d: a later create or `hardenctl gc` does it when the overlay is unmounted", rec.Mountpoint, rec.Mapping.HostUID)
	}
	if rec.dirty() {
		if err := shiftTree(rec.Engine.Upper, Mapping{Size: rec.Mapping.Size}, append([]Mapping{rec.Mapping}, rec.Stale...)...); err != nil {
			return err
		}
		if err := rec.setPhase(dir, phaseUnshifted); err != nil {
			return err
		}
		killPoint("teardown-unshifted")
	}
	if remount {
		if err := mountEngineOverlay(rec); err != nil {
			return fmt.Errorf("restore the engine's overlay at %s: %w", rec.Mountpoint, err)
		}
		killPoint("teardown-restored")
	}
	return removeRecord(dir)
}

// dirty reports whether the upper may hold IDs of the container's range.
func (r *engineRoot) dirty() bool {
	return r.Phase != phasePlanned && r.Phase != phaseUnshifted
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
	return syncDir(dir)
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
	if errors.Is(err, errNoLowerdirPlus) {
		return legacyMountOverlay(rec.Engine, rec.Mountpoint)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	return attachOverlay(fsfd, rec.Mountpoint, rec)
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
