package userns

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// Files of the range table under <RunDir>/userns.
const (
	tableFile = "ranges.json"
	lockFile  = "ranges.lock"
	// MinHostID is the lowest host ID a container range may start at: IDs
	// below it belong to the host's users and system accounts.
	MinHostID = 65536
	// DefaultSize is the number of IDs per container, enough for every ID
	// an image may use (GID 5 for /dev/pts, 65534 nobody).
	DefaultSize = 65536
)

// ErrExhausted is returned when every range of the pool is in use. A range
// is never handed out twice.
var ErrExhausted = errors.New("user namespace ID pool exhausted")

// Entry is one container's claim on a range. Containers that join another
// container's namespaces have their own entry with the same range, so a
// range stays in use while any of them exists.
type Entry struct {
	ID string `json:"id"`
	// Root is the lower runtime's state directory (--root), where GC looks
	// for <root>/<id>/state.json.
	Root    string `json:"root"`
	HostUID uint32 `json:"hostUID"`
	HostGID uint32 `json:"hostGID"`
	Size    uint32 `json:"size"`
	// SharedWith names the container whose range (and user namespace) this
	// one joined; empty for the range's owner.
	SharedWith string `json:"sharedWith,omitempty"`
	// Pid and PidStart identify the process that allocated the entry (the
	// runtime, which becomes `runc create` by execve): until the lower
	// runtime has written state.json, the entry is alive while it runs.
	Pid      int       `json:"pid"`
	PidStart uint64    `json:"pidStart"`
	Created  time.Time `json:"created"`
	Builtin  bool      `json:"builtin,omitempty"`
	// Lingering is set once the container is deleted while its idmapped
	// overlay stays at the engine's mount point for the engine to unmount
	// (inplace.go): the entry then belongs to no container, and keeps the
	// range taken until that mount is gone, so no other container gets IDs
	// that an overlay still maps.
	Lingering *Lingering `json:"lingering,omitempty"`
}

// Lingering is a deleted container's idmapped overlay, left at the
// engine's mount point.
type Lingering struct {
	// MountID is the mount's unique ID (statx STATX_MNT_ID_UNIQUE, never
	// reused while the host runs); 0 on kernels without one (before 6.8),
	// where the mount point is looked up in mountinfo instead.
	MountID uint64 `json:"mountID,omitempty"`
	// MountNS is the unique ID of the mount namespace it is in (6.12), so
	// a GC run from another namespace (`hardenctl gc` from a shell in the
	// host's, for an engine in its own) can ask that one; 0 if unknown.
	// NSInode is that namespace's inode: without MountNS, only a GC in the
	// same namespace decides, and others keep the range.
	MountNS uint64 `json:"mountNS,omitempty"`
	NSInode uint64 `json:"nsInode"`
	// Root is the record of the replacement: the mount point, and the
	// engine's own overlay for a create that finds this one still there.
	Root *engineRoot `json:"root"`
}

func (e Entry) uidRange() SubIDRange {
	return SubIDRange{Start: uint64(e.HostUID), Count: uint64(e.Size)}
}
func (e Entry) gidRange() SubIDRange {
	return SubIDRange{Start: uint64(e.HostGID), Count: uint64(e.Size)}
}

// Table is the on-disk range table, <RunDir>/userns/ranges.json.
type Table struct {
	Entries []Entry `json:"entries"`
}

// find returns the entry of container id under any --root. A container
// ID holds at most one entry: the per-container directory under
// <RunDir>/userns is named by the ID alone. A lingering entry belongs to
// no container any more.
func (t *Table) find(id string) (int, bool) {
	for i, e := range t.Entries {
		if e.ID == id && e.Lingering == nil {
			return i, true
		}
	}
	return -1, false
}

// Lookup returns the entry of container id (under whichever --root holds
// it), never a lingering one.
func (t *Table) Lookup(id string) (Entry, bool) {
	i, ok := t.find(id)
	if !ok {
		return Entry{}, false
	}
	return t.Entries[i], true
}

// LookupKey returns the entry of container id under the lower runtime's
// state root root: the key a range is released by.
func (t *Table) LookupKey(root, id string) (Entry, bool) {
	e, ok := t.Lookup(id)
	if !ok || !sameRoot(e.Root, root) {
		return Entry{}, false
	}
	return e, true
}

// Covering returns the owner entry of the range that contains every host
// ID of the uid and gid mappings, if one does.
func (t *Table) Covering(uids, gids []SubIDRange) (Entry, bool) {
	for _, e := range t.Entries {
		if e.SharedWith == "" && e.Lingering == nil && covers(e.uidRange(), uids) && covers(e.gidRange(), gids) {
			return e, true
		}
	}
	return Entry{}, false
}

// free reports whether no entry, lingering ones included, holds an ID of
// uid or gid.
func (t *Table) free(uid, gid SubIDRange) bool {
	for _, e := range t.Entries {
		if e.uidRange().overlaps(uid) || e.gidRange().overlaps(gid) {
			return false
		}
	}
	return true
}

// ReadTable reads the range table under runDir without taking the lock:
// the file is only ever replaced by rename, so a reader sees one complete
// version. For `hardenctl doctor` and forensics.
func ReadTable(runDir string) (*Table, error) {
	return readTable(filepath.Join(runDir, stateDirName, tableFile))
}

func readTable(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Table{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read range table: %w", err)
	}
	t := &Table{}
	if len(data) == 0 {
		// The table is never written empty, and a rename never shows a
		// half-written file: an empty one is what a kernel crash or power
		// loss leaves of an unsynced write, and that ended every container
		// the table listed.
		return t, nil
	}
	if err := json.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("range table %s: %w", path, err)
	}
	return t, nil
}

// writeTable replaces path atomically: every other hardened-runc sees the
// old table or the new one, never a torn one, and sees the new one before
// anything is mounted for the range it records (the rename happens under
// the table lock, before this returns). It is not synced: the table only
// describes live processes, and what loses unsynced writes (a kernel crash,
// a power loss) also ends every container it lists; a create after the
// reboot collects entries whose process is gone; an empty table (what a
// crash leaves of an unsynced write) is read as empty, and anything else
// unreadable is refused, never guessed (readTable). The ranges an upper's owners
// may be shifted into are kept durably in the upper itself (shiftXattr),
// not here. Syncing cost a file and a directory fsync on every create and
// every delete.
func writeTable(path string, t *Table) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteUnsynced(path, append(data, '\n'), 0o600, 0o700); err != nil {
		return fmt.Errorf("write range table: %w", err)
	}
	return nil
}

// tableLock is the exclusive flock on <dir>/ranges.lock. flock locks belong
// to the open file description, so goroutines of one process that each
// open the file exclude each other as separate processes do.
type tableLock struct{ f *os.File }

func lockTable(dir string) (*tableLock, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("range table dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("range table lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("range table lock: %w", err)
	}
	return &tableLock{f: f}, nil
}

func (l *tableLock) unlock() { l.f.Close() }

// slot returns the k-th candidate range of the pool: aligned to size, at or
// above MinHostID, wholly inside both the uid and the gid entry. ok is false
// past the pool's end.
func slot(p Pool, size, k uint64) (uid, gid SubIDRange, ok bool) {
	u0 := alignUp(max(p.UID.Start, MinHostID), size)
	g0 := alignUp(max(p.GID.Start, MinHostID), size)
	uid = SubIDRange{Start: u0 + k*size, Count: size}
	gid = SubIDRange{Start: g0 + k*size, Count: size}
	if uid.End() > p.UID.End() || gid.End() > p.GID.End() || uid.End() > 1<<32-1 || gid.End() > 1<<32-1 {
		return SubIDRange{}, SubIDRange{}, false
	}
	return uid, gid, true
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) / a * a }

// pick returns the lowest free slot of the pool. Slots are visited in
// order and never listed: the built-in pool has 16383 of 65536 IDs, and
// building that list cost 1.7 ms and 5 MB of garbage on every create.
func (t *Table) pick(p Pool, size uint64) (SubIDRange, SubIDRange, error) {
	var k uint64
	for ; ; k++ {
		u, g, ok := slot(p, size, k)
		if !ok {
			break
		}
		if t.free(u, g) {
			return u, g, nil
		}
	}
	return SubIDRange{}, SubIDRange{}, fmt.Errorf("%w: %d ranges of %d IDs in uids %d-%d / gids %d-%d, all in use; delete containers, or enlarge the subordinate-ID entry",
		ErrExhausted, k, size, p.UID.Start, p.UID.End()-1, p.GID.Start, p.GID.End()-1)
}

// LingeringAt returns the record of hardened-runc's overlay that a deleted
// container left at mountpoint, if the table has one.
func (t *Table) LingeringAt(mountpoint string) (*engineRoot, bool) {
	for _, e := range t.Entries {
		if e.Lingering != nil && e.Lingering.Root != nil && e.Lingering.Root.Mountpoint == mountpoint {
			return e.Lingering.Root, true
		}
	}
	return nil, false
}
