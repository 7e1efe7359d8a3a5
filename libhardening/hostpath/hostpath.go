// Package hostpath resolves a host path named in a container spec to the
// object it really is, so policy decides on that object and not on how the
// path is spelled: symlinks and ".." are followed, a relative path is taken
// against the bundle, and a directory that is the target of a bind mount is
// judged as the directory the bind came from (a volume's _data that is a
// bind of /etc is /etc). The package only reads the host (stat, readlink,
// /proc/self/mountinfo); it never mounts or changes anything.
package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// ID identifies a file on the host whatever its path: device and inode.
type ID struct{ Dev, Ino uint64 }

// Object is a resolved host path.
type Object struct {
	// Spelled is the path as the spec gave it, made absolute and cleaned.
	Spelled string
	// Path is the canonical path: absolute, every symlink and ".."
	// resolved. It names the same object as Spelled did at resolve time.
	Path string
	// Host is the path the object is judged as: Path, or, where Path lies
	// on a bind mount, the path of the same object where its filesystem is
	// mounted whole. Empty when that filesystem is mounted nowhere whole
	// (then Path and ID are all there is to judge by).
	Host string
	ID   ID
	Mode fs.FileMode
	UID  uint32
	// Mount is the mountinfo entry of the mount Path lives on.
	Mount *mountinfo.Info
}

// IsDir reports whether the object is a directory.
func (o *Object) IsDir() bool { return o.Mode.IsDir() }

// Names returns the distinct paths the object is known by (spelled,
// canonical, host), the ones every path rule must be tried on.
func (o *Object) Names() []string {
	out := []string{o.Spelled}
	for _, p := range []string{o.Path, o.Host} {
		if p != "" && !contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Table is a snapshot of this process's mount table, read once per spec so
// every path of one spec is judged against the same table.
type Table struct {
	mounts []*mountinfo.Info
}

// Load reads /proc/self/mountinfo.
func Load() (*Table, error) {
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return NewTable(infos), nil
}

// NewTable builds a Table from mountinfo entries in /proc order (tests).
func NewTable(infos []*mountinfo.Info) *Table { return &Table{mounts: infos} }

// Resolve resolves p; a relative p is taken against base (the bundle),
// and is an error without one. A path that does not exist or cannot be
// inspected is an error: what cannot be resolved cannot be judged.
func (t *Table) Resolve(p, base string) (*Object, error) {
	abs, err := absolute(p, base)
	if err != nil {
		return nil, err
	}
	canon, err := follow(abs)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", p, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(canon, &st); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", canon, err)
	}
	o := &Object{
		Spelled: filepath.Clean(abs),
		Path:    canon,
		ID:      ID{Dev: uint64(st.Dev), Ino: st.Ino},
		Mode:    fileMode(st.Mode),
		UID:     st.Uid,
	}
	o.Mount = t.MountOf(canon)
	if o.Mount == nil {
		return nil, fmt.Errorf("resolve %s: no mount in the mount table holds %s", p, canon)
	}
	o.Host = t.HostPath(o.Mount, canon)
	return o, nil
}

// absolute makes p absolute the way runc does: a relative path is joined
// to the bundle (filepath.Join, so its ".." are taken lexically), an
// absolute one is left for the kernel's rules (a ".." after a symlink
// leaves the symlink's target, which EvalSymlinks follows too).
func absolute(p, base string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if filepath.IsAbs(p) {
		return p, nil
	}
	if !filepath.IsAbs(base) {
		return "", fmt.Errorf("relative path %q and no absolute bundle directory to take it against", p)
	}
	return filepath.Join(base, p), nil
}

// maxHops bounds symlink following, as the kernel's ELOOP does (40).
const maxHops = 40

// follow resolves an absolute path with the kernel's rules, one component
// at a time: a symlink's target replaces it (from / when absolute), and
// ".." leaves the directory reached so far, not the spelled one. Every
// component must exist.
func follow(p string) (string, error) {
	rest := strings.Split(p, "/")
	cur := "/"
	hops := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxHops {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}

// MountOf returns the mount a canonical path lives on: the entry with the
// longest mount point at or above it, the last one where several are
// stacked (mountinfo lists mounts in the order they were made).
func (t *Table) MountOf(canon string) *mountinfo.Info {
	var best *mountinfo.Info
	for _, m := range t.mounts {
		if !Under(canon, m.Mountpoint) {
			continue
		}
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	return best
}

// HostPath returns the path under which the object at canon (on mount m)
// appears where its filesystem is mounted whole: for a bind mount of
// /etc/ssl at /srv/x, HostPath(m, "/srv/x/certs") is "/etc/ssl/certs". The
// origin is the mount of the same filesystem with the shortest root above
// m's: the filesystem mounted whole wherever it is (its root "/", or a
// btrfs subvolume's), so a second bind, another spelling, does not decide
// what the object is. "" when no such mount exists.
func (t *Table) HostPath(m *mountinfo.Info, canon string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(canon, m.Mountpoint), "/")
	if m.Root == "/" {
		return canon
	}
	origin := t.origin(m)
	if origin == nil {
		return ""
	}
	inFS := strings.TrimPrefix(strings.TrimPrefix(m.Root, origin.Root), "/")
	return filepath.Join(origin.Mountpoint, inFS, rel)
}

// origin returns the mount of m's filesystem, other than m, with the
// shortest root at or above m's root (the first such in mount order).
func (t *Table) origin(m *mountinfo.Info) *mountinfo.Info {
	var best *mountinfo.Info
	for _, o := range t.mounts {
		if o == m || o.Major != m.Major || o.Minor != m.Minor || !Under(m.Root, o.Root) {
			continue
		}
		if best == nil || len(o.Root) < len(best.Root) {
			best = o
		}
	}
	return best
}

// Beneath returns the mounts strictly beneath dir: what a recursive bind of
// dir brings along.
func (t *Table) Beneath(dir string) []*mountinfo.Info {
	var out []*mountinfo.Info
	for _, m := range t.mounts {
		if m.Mountpoint != dir && Under(m.Mountpoint, dir) {
			out = append(out, m)
		}
	}
	return out
}

// Within returns the first of o's ancestors (o itself included), walked up
// its canonical path, whose device and inode are in ids, with the name ids
// gives it. Identity catches what paths miss: a directory bind-mounted
// elsewhere has the same device and inode at its new path.
func (o *Object) Within(ids map[ID]string) (string, bool) {
	if len(ids) == 0 {
		return "", false
	}
	for p := o.Path; ; p = filepath.Dir(p) {
		if id, err := Stat(p); err == nil {
			if name, ok := ids[id]; ok {
				return name, true
			}
		}
		if p == "/" {
			return "", false
		}
	}
}

// Stat returns the device and inode of p (symlinks followed).
func Stat(p string) (ID, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return ID{}, err
	}
	return ID{Dev: uint64(st.Dev), Ino: st.Ino}, nil
}

// Under reports whether p is dir or beneath it (both cleaned, absolute).
func Under(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// MountFlags returns the per-mount flags of m that a user namespace locks
// once the mount is copied into it (ro, nosuid, nodev, noexec and the atime
// flags), as mount options. A bind of a source on m that asks for less
// cannot be remounted inside the container's user namespace: EPERM.
// "strictatime" stands for neither relatime nor noatime.
func MountFlags(m *mountinfo.Info) []string {
	var out []string
	atime := "strictatime"
	for _, o := range strings.Split(m.Options, ",") {
		switch o {
		case "ro", "nosuid", "nodev", "noexec", "nodiratime":
			out = append(out, o)
		case "relatime", "noatime":
			atime = o
		}
	}
	return append(out, atime)
}

func fileMode(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// IsNotExist reports whether a Resolve error means the path does not exist.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

// SplitLowerdir splits the value of overlay's lowerdir option into its
// segments: ':' separates layers and "\:" is a colon inside a path. An
// empty segment after the first is the "::" that starts the data-only
// layers; callers that judge every layer as a host path see it as the
// empty, relative path it is.
func SplitLowerdir(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}
