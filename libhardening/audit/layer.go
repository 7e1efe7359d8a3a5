package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// maxPaths bounds the rootfs findings of one container: a `docker build`
// step installing packages writes thousands of files, and the record needs
// the directories, not every file.
const maxPaths = 200

// Layer is an overlay root filesystem: its writable upper directory, where
// every write to the root lands, and its read-only lower directories (the
// image).
type Layer struct {
	Upper  string   `json:"upper"`
	Lowers []string `json:"lowers,omitempty"`
}

// LayerOf finds the overlay mounted at root, the bundle's root.path as the
// engine gave it (before hardened-runc's user namespace put an idmapped
// overlay of the same layers in its place). It fails when root is not an
// overlay mount point with an upper directory.
func LayerOf(root string) (*Layer, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(root))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: not a mount point", root)
	}
	o, err := userns.ParseOverlay(ms[len(ms)-1]) // the last one is on top
	if err != nil {
		return nil, err
	}
	if o.Upper == "" {
		return nil, fmt.Errorf("%s: overlay without an upper directory", root)
	}
	l := &Layer{Upper: o.Upper}
	for _, lo := range o.Lower {
		l.Lowers = append(l.Lowers, lo.Path)
	}
	return l, nil
}

// Writes lists what the container changed in its root, outside mounts:
// files and symlinks written, directories created (not descended into: their
// parent is what must be writable), entries deleted (overlay whiteouts). At
// most max findings; then the walk stops (a build step that installed
// packages must not make delete slow) and one more finding says so.
func (l *Layer) Writes(mounts []string, max int) ([]Finding, error) {
	var out []Finding
	more := false
	err := filepath.WalkDir(l.Upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == l.Upper {
				return fs.SkipAll // the engine removed the layer already
			}
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, l.Upper), "/")
		if rel == "/" {
			return nil
		}
		if coveredByMount(rel, mounts) {
			if d.IsDir() && !slices.Contains(mounts, rel) {
				return nil // an ancestor of a mount point: look inside
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		f, skip := l.judge(p, rel, d)
		if f == nil {
			return skip
		}
		if len(out) == max {
			more = true
			return fs.SkipAll
		}
		out = append(out, *f)
		return skip
	})
	if more {
		out = append(out, Finding{Control: RootfsReadonly, What: "/", Detail: fmt.Sprintf("more than %d paths written; the rest not listed", max)})
	}
	if err != nil {
		return out, fmt.Errorf("audit rootfs.readonly: reading %s: %w", l.Upper, err)
	}
	return out, nil
}

// judge says what one entry of the upper directory means.
func (l *Layer) judge(p, rel string, d fs.DirEntry) (*Finding, error) {
	info, err := d.Info()
	if err != nil {
		return nil, nil
	}
	switch {
	case isWhiteout(info):
		return &Finding{Control: RootfsReadonly, What: rel, Detail: "deleted"}, nil
	case d.IsDir():
		if l.inImage(rel) {
			return nil, nil // copied up because something beneath changed
		}
		return &Finding{Control: RootfsReadonly, What: rel, Detail: "created directory"}, fs.SkipDir
	case l.inImage(rel):
		return &Finding{Control: RootfsReadonly, What: rel, Detail: "modified"}, nil
	}
	return &Finding{Control: RootfsReadonly, What: rel, Detail: "created"}, nil
}

// inImage reports whether rel exists in a lower layer. Without lowers
// every directory counts as existing, so the walk descends and reports
// files with their own parent.
func (l *Layer) inImage(rel string) bool {
	if len(l.Lowers) == 0 {
		return true
	}
	for _, lo := range l.Lowers {
		if _, err := os.Lstat(filepath.Join(lo, rel)); err == nil {
			return true
		}
	}
	return false
}

// isWhiteout: overlayfs marks a deleted lower entry with a 0:0 character
// device in the upper directory.
func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// coveredByMount reports whether rel is a mount destination, beneath one,
// or an ancestor of one (runc creates the mount points in the root).
func coveredByMount(rel string, mounts []string) bool {
	for _, m := range mounts {
		if m == rel || strings.HasPrefix(rel, m+"/") || strings.HasPrefix(m, rel+"/") {
			return true
		}
	}
	return false
}
