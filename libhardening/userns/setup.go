package userns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Method says how the container's root filesystem was made usable.
type Method string

const (
	// MethodOverlay: the engine's overlay (Docker overlay2, containerd's
	// overlay snapshotter) replaced in place by one on idmapped layers.
	MethodOverlay Method = "idmapped-overlay"
	// MethodBind: an idmapped bind mount of a plain directory rootfs.
	MethodBind Method = "idmapped-bind"
	// MethodUnmapped: a plain bind mount; image files appear owned by
	// nobody (the "unmapped" fallback).
	MethodUnmapped Method = "unmapped-bind"
	// MethodChown: a bind mount of a copy of the rootfs whose owners are
	// shifted into the container's range.
	MethodChown Method = "chowned-copy"
)

// rootfsPlan is what Modify learned about root.path; building it touches
// nothing, so explain can show it.
type rootfsPlan struct {
	Source  string
	Overlay *Overlay
	// Parent is the directory idmapped once for all overlay layers.
	Parent string
	// Stale is set when what is mounted at Source is hardened-runc's
	// overlay of a deleted container, left there for the engine to
	// unmount (a Docker reference still held, `podman mount`): its record,
	// which has the engine's own overlay.
	Stale *engineRoot
}

func (p *rootfsPlan) method() Method {
	if p.Overlay != nil {
		return MethodOverlay
	}
	return MethodBind
}

// planRootfs plans the container's root at source, judged on the mount
// table the launch read (mounts). stale finds the record of an overlay of
// hardened-runc's that a deleted container left at a mount point.
func planRootfs(source string, mounts []*mountinfo.Info, stale func(mountpoint string) *engineRoot) (*rootfsPlan, error) {
	if _, err := os.Stat(source); err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	real, err := filepath.EvalSymlinks(source)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	p := &rootfsPlan{Source: real}
	m := topMount(mounts, real)
	if m == nil || m.FSType != "overlay" {
		return p, nil
	}
	o, err := ParseOverlay(m)
	if err != nil {
		return nil, err
	}
	if o.throughFD() {
		rec := stale(real)
		if rec == nil || !rec.isOurs(m) {
			return nil, fmt.Errorf("%s is still the idmapped overlay of a create that did not finish: `hardenctl gc` puts the engine's back", real)
		}
		o, p.Stale = rec.Engine, rec
	} else if err := o.resolve(); err != nil {
		return nil, err
	}
	dirs := o.dirs()
	p.Parent = commonParent(dirs)
	if p.Parent == "/" {
		return nil, fmt.Errorf("overlay at %s: layers %v have no common parent below /", real, dirs)
	}
	if err := sameMount(p.Parent, dirs); err != nil {
		return nil, fmt.Errorf("overlay at %s: %w", real, err)
	}
	p.Overlay = o
	return p, nil
}

// throughFD reports an overlay whose layers are reached through a detached
// mount's fd: only hardened-runc mounts one so.
func (o *Overlay) throughFD() bool {
	for _, d := range o.dirs() {
		if strings.HasPrefix(d, procFDPrefix) {
			return true
		}
	}
	return false
}

// containerDir is <RunDir>/userns/<id>: its rootfs/ is the new root.path.
func containerDir(runDir, id string) string {
	return filepath.Join(runDir, stateDirName, id)
}

// makeContainerDir creates the container's directory so the mapped root
// can reach rootfs/ (runc mounts the rootfs by path from inside the user
// namespace): the shared parents get o+x, the container's own directory is
// group-owned by the mapped GID 0 with mode 0710, as containerd does with
// its bundles, so other containers' roots cannot enter it.
func makeContainerDir(runDir, dir string, m Mapping) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		return err
	}
	for _, p := range []string{runDir, filepath.Dir(dir)} {
		if err := ensureSearchable(p); err != nil {
			return err
		}
	}
	if err := checkSearchable(filepath.Dir(runDir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o710); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := os.Chown(dir, 0, int(m.HostGID)); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o710); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, rootfsDirName), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func ensureSearchable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o001 != 0 {
		return nil
	}
	return os.Chmod(p, st.Mode().Perm()|0o011)
}

// checkSearchable fails when a directory above the run directory keeps
// others out: runc could not reach the rootfs from inside the user
// namespace, and changing the host's directories is not ours to do.
func checkSearchable(p string) error {
	for ; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %v) is not searchable by others; the container's mapped root must traverse it to reach its rootfs: chmod o+x it or move run_dir", p, st.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}

// mountRootfs builds <dir>/rootfs from the plan with the given user
// namespace's mapping: an idmapped bind of a plain directory, or, for an
// engine's overlay, a bind of the overlay that replaces it in place
// (inplace.go).
func mountRootfs(p *rootfsPlan, dir string, userns *os.File, m Mapping) error {
	if p.Overlay == nil {
		return idmapOnto(p.Source, filepath.Join(dir, rootfsDirName), userns)
	}
	return replaceEngineRoot(p, dir, userns, m)
}

// bindUnmapped is the "unmapped" fallback: the rootfs as it is, moved to a
// path the mapped root can reach.
func bindUnmapped(p *rootfsPlan, dir string) error {
	target := filepath.Join(dir, rootfsDirName)
	if err := unix.Mount(p.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &os.PathError{Op: "bind mount", Path: target, Err: err}
	}
	return nil
}

// retireContainerDir ends what the directory of a container that is gone
// holds: the engine's overlay is put in order (repairEngineRoot) and the
// directory removed. When our overlay is left at the engine's mount point
// for the engine to unmount, it is returned and the directory stays: it
// goes once the range table says the range lingers (dirRetirer).
func retireContainerDir(dir string) (*Lingering, error) {
	// Nothing can be mounted under a directory that does not exist (a mount
	// point cannot be removed): every delete of a container that had no
	// idmapped rootfs skips reading the host's whole mountinfo.
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	// The engine's overlay first: while the record of its replacement is
	// there, the directory (and the record) must stay.
	l, err := repairEngineRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("restore the engine's root filesystem: %w", err)
	}
	if l != nil {
		return l, nil
	}
	return nil, removeContainerDir(dir)
}

// removeContainerDir unmounts everything under dir, deepest first, and
// removes the directories it made and the record of the engine's overlay.
// It never removes recursively: a mount that survived would take the
// image's files with it.
func removeContainerDir(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := removeRecord(dir); err != nil {
		return err
	}
	// Normally nothing is mounted under dir any more. Removing its
	// directories one by one, never recursively, proves it (a mount point
	// cannot be removed) without reading the host's whole mountinfo; only
	// a failure, or a chowned copy to remove recursively, reads it.
	if _, err := os.Lstat(filepath.Join(dir, copyDirName)); errors.Is(err, fs.ErrNotExist) && removeDirs(dir) == nil {
		return nil
	}
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) > len(ms[j].Mountpoint) })
	var errs []error
	for _, m := range ms {
		if err := detach(m.Mountpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The chowned copy is a plain directory of ours, and nothing is
	// mounted under dir any more (checked above): it can go recursively.
	if err := os.RemoveAll(filepath.Join(dir, copyDirName)); err != nil {
		return err
	}
	return removeDirs(dir)
}

// removeDirs removes the directories a container's dir may hold, and dir,
// one by one and never recursively: one that is still a mount point, or
// not empty, stays, and is an error.
func removeDirs(dir string) error {
	var errs []error
	if err := removeMountPoints(filepath.Join(dir, mntDirName)); err != nil {
		errs = append(errs, err)
	}
	for _, p := range []string{filepath.Join(dir, layersDirName), filepath.Join(dir, rootfsDirName), filepath.Join(dir, procDirName), dir} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MountsUnder counts the mounts below dir (tests, doctor).
func MountsUnder(dir string) (int, error) {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (bool, bool) {
		return !(m.Mountpoint == dir || strings.HasPrefix(m.Mountpoint, dir+"/")), false
	})
	return len(ms), err
}

// removeMountPoints unmounts and removes the mount points of idmapped
// bind-mount sources (<dir>/mnt/<n>, made by idmappedSources, one mount
// each), one by one and never recursively.
func removeMountPoints(mnt string) error {
	ents, err := os.ReadDir(mnt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		p := filepath.Join(mnt, e.Name())
		if err := detach(p); err != nil {
			errs = append(errs, err)
		} else if err := os.Remove(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(mnt); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// idmappedSources is the sourceBinder for lower runtimes without idmap:
// <dir>/mnt/<n> holds an idmapped clone of each selected source.
type idmappedSources struct {
	dir    string
	userns *os.File
	n      int
}

func (b *idmappedSources) bind(src string, recursive bool) (string, error) {
	mnt := filepath.Join(b.dir, mntDirName)
	if err := os.MkdirAll(mnt, 0o711); err != nil {
		return "", err
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	b.n++
	target := filepath.Join(mnt, strconv.Itoa(b.n))
	if st.IsDir() {
		err = os.Mkdir(target, 0o755)
	} else {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return "", err
	}
	fd, err := idmappedCloneTree(src, recursive, b.userns)
	if err != nil {
		os.Remove(target)
		return "", err
	}
	defer unix.Close(fd)
	if err := attach(fd, target); err != nil {
		os.Remove(target)
		return "", err
	}
	return target, nil
}

// dirRetirer is what an Allocator does with the directories of the
// containers it finds gone: Released retires each (retireContainerDir);
// Forget removes those whose overlay was left for the engine, once the
// table that says their range lingers is written. Errors are collected.
type dirRetirer struct {
	dir  string // <RunDir>/userns
	left map[string]bool
	errs []error
}

func (d *dirRetirer) released(e Entry) *Lingering {
	l, err := retireContainerDir(filepath.Join(d.dir, e.ID))
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: %w", e.ID, err))
	}
	if l != nil {
		if d.left == nil {
			d.left = map[string]bool{}
		}
		d.left[e.ID] = true
	}
	return l
}

func (d *dirRetirer) forget(e Entry) {
	if !d.left[e.ID] {
		return
	}
	if err := removeContainerDir(filepath.Join(d.dir, e.ID)); err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: %w", e.ID, err))
	}
}

// allocator returns an Allocator on the table in d.dir that retires
// containers' directories through d.
func (d *dirRetirer) allocator(alive func(Entry) bool) *Allocator {
	return &Allocator{Dir: d.dir, Alive: alive, Released: d.released, Forget: d.forget}
}

func (d *dirRetirer) err() error { return errors.Join(d.errs...) }
