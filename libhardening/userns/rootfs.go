package userns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/hostpath"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Per-container directory layout under <RunDir>/userns/<id>.
const (
	stateDirName  = "userns"
	rootfsDirName = "rootfs"
	layersDirName = "layers" // made by versions that mounted a second overlay; removed at delete
	mntDirName    = "mnt"
)

// Overlay is an overlay mount's layers, as read from mountinfo.
type Overlay struct {
	// Lower is top-most first, as in lowerdir=.
	Lower []Layer `json:"lower"`
	Upper string  `json:"upper,omitempty"`
	Work  string  `json:"work,omitempty"`
	// Options are the other overlay options (index=off, userxattr,
	// metacopy=on, redirect_dir=..., context=...), carried over unchanged.
	Options []string `json:"options,omitempty"`
}

// Layer is one lower layer; DataOnly layers follow "::" in lowerdir=.
type Layer struct {
	Path     string `json:"path"`
	DataOnly bool   `json:"dataOnly,omitempty"`
}

func (o *Overlay) dirs() []string {
	var d []string
	for _, l := range o.Lower {
		d = append(d, l.Path)
	}
	if o.Upper != "" {
		d = append(d, o.Upper, o.Work)
	}
	return d
}

// findMount returns the top-most mount whose mount point is path, read
// from mountinfo now (effects: what is mounted there at this moment).
func findMount(path string) (*mountinfo.Info, error) {
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(path))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return topMount(ms, path), nil
}

// topMount returns the top-most of mounts whose mount point is path: mounts
// stacked on one mount point are listed bottom first.
func topMount(mounts []*mountinfo.Info, path string) *mountinfo.Info {
	var top *mountinfo.Info
	for _, m := range mounts {
		if m.Mountpoint == path {
			top = m
		}
	}
	return top
}

// ParseOverlay reads the layers of overlay mount m. Relative layer paths
// are Docker's: overlay2 mounts with short `l/<id>` lowerdirs and
// `<id>/diff` upper, chdir'd into its root, when the absolute options
// would not fit a page; that root is two levels above the mount point
// (<root>/<id>/merged). Symlinks (the `l/` links) are resolved, so every
// path is a real directory.
func ParseOverlay(m *mountinfo.Info) (*Overlay, error) {
	if m.FSType != "overlay" {
		return nil, fmt.Errorf("%s is %s, not overlay", m.Mountpoint, m.FSType)
	}
	base := filepath.Dir(filepath.Dir(m.Mountpoint))
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	o := &Overlay{}
	for _, opt := range splitOptions(m.VFSOptions) {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "rw", "ro":
		case "lowerdir":
			for _, l := range splitLowerdir(v) {
				l.Path = abs(l.Path)
				o.Lower = append(o.Lower, l)
			}
		case "lowerdir+":
			o.Lower = append(o.Lower, Layer{Path: abs(unescapeOverlay(v))})
		case "datadir+":
			o.Lower = append(o.Lower, Layer{Path: abs(unescapeOverlay(v)), DataOnly: true})
		case "upperdir":
			o.Upper = abs(unescapeOverlay(v))
		case "workdir":
			o.Work = abs(unescapeOverlay(v))
		default:
			o.Options = append(o.Options, opt)
		}
	}
	if len(o.Lower) == 0 {
		return nil, fmt.Errorf("overlay at %s: no lowerdir in %q", m.Mountpoint, m.VFSOptions)
	}
	if (o.Upper == "") != (o.Work == "") {
		return nil, fmt.Errorf("overlay at %s: upperdir without workdir", m.Mountpoint)
	}
	return o, nil
}

// resolve replaces every layer path by its symlink-free form.
func (o *Overlay) resolve() error {
	eval := func(p *string) error {
		r, err := filepath.EvalSymlinks(*p)
		if err != nil {
			return fmt.Errorf("overlay layer: %w", err)
		}
		*p = r
		return nil
	}
	for i := range o.Lower {
		if err := eval(&o.Lower[i].Path); err != nil {
			return err
		}
	}
	if o.Upper != "" {
		if err := eval(&o.Upper); err != nil {
			return err
		}
		return eval(&o.Work)
	}
	return nil
}

// splitOptions splits mountinfo's super options and undoes its octal
// escapes (a comma inside a value is shown as \054, so splitting first is
// safe).
func splitOptions(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o != "" {
			out = append(out, unescapeOctal(o))
		}
	}
	return out
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}

// splitLowerdir reads lowerdir= as layers (hostpath.SplitLowerdir): an
// empty segment after the first is "::", after which layers are data-only.
func splitLowerdir(v string) []Layer {
	var out []Layer
	data := false
	for k, seg := range hostpath.SplitLowerdir(v) {
		switch {
		case seg != "":
			out = append(out, Layer{Path: seg, DataOnly: data})
		case k > 0:
			data = true
		}
	}
	return out
}

func unescapeOverlay(v string) string {
	return strings.ReplaceAll(v, `\:`, ":")
}

// commonParent is the deepest directory containing every path.
func commonParent(paths []string) string {
	p := filepath.Clean(paths[0])
	for _, q := range paths[1:] {
		q = filepath.Clean(q)
		for p != "/" && q != p && !strings.HasPrefix(q, p+"/") {
			p = filepath.Dir(p)
		}
	}
	return p
}

// sameMount checks that every dir is on the mount that holds parent, so a
// non-recursive clone of parent contains all of them. The mount IDs come
// from statx, one call per layer, not from parsing mountinfo.
func sameMount(parent string, dirs []string) error {
	want, err := mountID(parent)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		id, err := mountID(d)
		if err != nil {
			return err
		}
		if id != want {
			return fmt.Errorf("layer %s is on another mount (id %d) than the common parent %s (id %d)", d, id, parent, want)
		}
	}
	return nil
}

func mountID(p string) (uint64, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		return 0, &os.PathError{Op: "statx", Path: p, Err: err}
	}
	if st.Mask&unix.STATX_MNT_ID == 0 {
		return 0, fmt.Errorf("statx %s: kernel without STATX_MNT_ID", p)
	}
	return st.Mnt_id, nil
}

// errNoLowerdirPlus: kernels before 6.8 take the lowers only as one
// "lowerdir" string; mount(2) is used there (legacyMountOverlay).
var errNoLowerdirPlus = errors.New(`kernel without overlay "lowerdir+"`)

// noLowerdirPlus reports whether the kernel refused the option itself.
func noLowerdirPlus(err error) bool {
	return errors.Is(err, unix.EINVAL) && errors.Is(err, errNoLowerdirPlus)
}

type fsconfigError struct {
	key string
	err error
}

func (e *fsconfigError) Error() string { return fmt.Sprintf("overlay option %s: %v", e.key, e.err) }
func (e *fsconfigError) Unwrap() []error {
	if e.key == "lowerdir+" {
		return []error{e.err, errNoLowerdirPlus}
	}
	return []error{e.err}
}

// configureOverlay opens an overlay filesystem context with o's layers and
// options set, not yet created: creating it takes the upper and work
// directories, which only one overlay may use at a time.
func configureOverlay(o *Overlay) (int, error) {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	set := func(k, v string) error {
		var err error
		if v == "" {
			err = unix.FsconfigSetFlag(fd, k)
		} else {
			err = unix.FsconfigSetString(fd, k, v)
		}
		if err != nil {
			return &fsconfigError{key: k, err: err}
		}
		return nil
	}
	err = func() error {
		for _, l := range o.Lower {
			key := "lowerdir+"
			if l.DataOnly {
				key = "datadir+"
			}
			if err := set(key, l.Path); err != nil {
				return err
			}
		}
		if o.Upper != "" {
			if err := set("upperdir", o.Upper); err != nil {
				return err
			}
			if err := set("workdir", o.Work); err != nil {
				return err
			}
		}
		for _, opt := range o.Options {
			k, v, _ := strings.Cut(opt, "=")
			if err := set(k, v); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func legacyMountOverlay(o *Overlay, target string) error {
	esc := func(p string) string { return strings.ReplaceAll(p, ":", `\:`) }
	var lower strings.Builder
	for i, l := range o.Lower {
		switch {
		case l.DataOnly && (i == 0 || !o.Lower[i-1].DataOnly):
			lower.WriteString("::")
		case i > 0:
			lower.WriteString(":")
		}
		lower.WriteString(esc(l.Path))
	}
	opts := append([]string{"lowerdir=" + lower.String()}, o.Options...)
	if o.Upper != "" {
		opts = append(opts, "upperdir="+esc(o.Upper), "workdir="+esc(o.Work))
	}
	data := strings.Join(opts, ",")
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("overlay options for %d layers exceed a page and this kernel has no lowerdir+", len(o.Lower))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
		return &os.PathError{Op: "mount overlay", Path: target, Err: err}
	}
	return nil
}
