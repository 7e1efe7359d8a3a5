package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// LayerOf finds the overlay mounted at root (the bundle's root.path, or the
// idmapped mount hardened-runc put in its place: an idmapped mount shows its
// superblock's options). It fails when root is not an overlay mount point.
func LayerOf(root string) (*Layer, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found *Layer
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l, ok := parseMountinfo(sc.Text(), root); ok {
			found = l // the last mount at root is the visible one
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%s: not an overlay mount point", root)
	}
	return found, nil
}

// parseMountinfo returns the layer of a mountinfo line for an overlay
// mounted at root.
func parseMountinfo(line, root string) (*Layer, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return nil, false
	}
	f := strings.Fields(pre)
	p := strings.Fields(post)
	if len(f) < 5 || len(p) < 3 || p[0] != "overlay" || unescape(f[4]) != root {
		return nil, false
	}
	l := &Layer{}
	for _, o := range strings.Split(p[2], ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "upperdir":
			l.Upper = unescape(v)
		case "lowerdir":
			for _, d := range strings.Split(unescape(v), ":") {
				l.Lowers = append(l.Lowers, d)
			}
		}
	}
	if !filepath.IsAbs(l.Upper) {
		return nil, false
	}
	// Docker's overlay2 names lowers relative to its driver directory
	// when the options are long; that directory is two above upperdir.
	base := filepath.Dir(filepath.Dir(l.Upper))
	for i, d := range l.Lowers {
		if !filepath.IsAbs(d) {
			l.Lowers[i] = filepath.Join(base, d)
		}
	}
	return l, true
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Writes lists what the container changed in its root, outside mounts:
// files and symlinks written, directories created (not descended into: their
// parent is what must be writable), entries deleted (overlay whiteouts). At
// most max findings; one more says how many were left out.
func (l *Layer) Writes(mounts []string, max int) ([]Finding, error) {
	var out []Finding
	more := 0
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
		if f != nil {
			if len(out) < max {
				out = append(out, *f)
			} else {
				more++
			}
		}
		return skip
	})
	if more > 0 {
		out = append(out, Finding{Control: RootfsReadonly, What: "/", Detail: fmt.Sprintf("%d more paths not listed", more)})
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
