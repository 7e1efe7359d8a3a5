package userns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	lowerrt "github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// ErrInUse is returned when a container ID that still exists asks for a
// second range.
var ErrInUse = errors.New("container already has an ID range")

// Allocator hands out ranges from the table in Dir (<RunDir>/userns). Every
// operation holds the table's flock for its whole read-modify-write.
type Allocator struct {
	Dir string
	// Alive reports whether an entry's container, or the process creating
	// it, still exists. Nil means LiveEntry. Lingering entries are alive
	// while their overlay is mounted (Lingering.mounted), whatever Alive
	// says.
	Alive func(Entry) bool
	// Released is called under the lock for every entry whose container is
	// gone (GC, Release), to undo what the container left behind. It
	// returns the overlay it leaves mounted for the engine, if any: the
	// entry then stays, lingering, instead of being dropped. Optional.
	Released func(Entry) *Lingering
	// Forget is called for the same entries once the table that no longer
	// lists them as containers is on disk: it removes what recorded them
	// (the container's directory). A crash before that leaves the entry and
	// its records for the next GC, never a range listed nowhere while an
	// overlay still maps it. Optional.
	Forget func(Entry)
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Request describes the container a range is allocated for.
type Request struct {
	ID   string
	Root string // lower runtime --root; "" means runc's (lower.DefaultRoot)
	Pool Pool
	Size uint32
	// Pid is the process creating the container (0: this process).
	Pid int
}

func (a *Allocator) alive(e Entry) bool {
	if a.Alive != nil {
		return a.Alive(e)
	}
	return LiveEntry(e)
}

func (a *Allocator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// withTable runs fn on the locked table, after garbage-collecting it, and
// writes the table back if fn reports a change. The entries the collection
// and fn retired (retire) are forgotten after the write.
func (a *Allocator) withTable(fn func(t *Table, retired *[]Entry) (bool, error)) error {
	l, err := lockTable(a.Dir)
	if err != nil {
		return err
	}
	defer l.unlock()
	path := filepath.Join(a.Dir, tableFile)
	t, err := readTable(path)
	if err != nil {
		return err
	}
	var retired []Entry
	collected := a.collect(t, &retired)
	changed, err := fn(t, &retired)
	if err != nil && !collected {
		return err
	}
	if changed || collected {
		if werr := writeTable(path, t); werr != nil {
			return errors.Join(err, werr)
		}
	}
	for _, e := range retired {
		if a.Forget != nil {
			a.Forget(e)
		}
	}
	return err
}

// collect retires the entries of containers that are gone, drops lingering
// entries whose overlay the engine has unmounted, and reports whether t
// changed. Retired entries are appended to retired.
func (a *Allocator) collect(t *Table, retired *[]Entry) bool {
	changed := false
	for i := 0; i < len(t.Entries); i++ {
		e := t.Entries[i]
		switch {
		case e.Lingering != nil && e.Lingering.mounted():
		case e.Lingering != nil:
			// Its container was forgotten when it started lingering: the
			// directory under its ID may be a new container's by now.
			t.Entries = append(t.Entries[:i], t.Entries[i+1:]...)
			i--
			changed = true
		case a.alive(e):
		default:
			if a.retire(t, i, retired) {
				i--
			}
			changed = true
		}
	}
	return changed
}

// retire ends entry i of t, whose container is gone: Released undoes what
// it left; the entry is dropped, or kept lingering while an overlay of the
// container still maps its range. It reports whether the entry was
// dropped, and appends it to retired, to be forgotten once t is written.
func (a *Allocator) retire(t *Table, i int, retired *[]Entry) (dropped bool) {
	e := t.Entries[i]
	*retired = append(*retired, e)
	if l := a.released(e); l != nil {
		t.Entries[i].Lingering = l
		return false
	}
	t.Entries = append(t.Entries[:i], t.Entries[i+1:]...)
	return true
}

func sameRoot(a, b string) bool {
	return a == b || lowerrt.NormalizeRoot(a) == lowerrt.NormalizeRoot(b)
}

// inUse is the error for an ID that already holds an entry.
func inUse(e Entry) error {
	return fmt.Errorf("%w: %s (held under --root %s)", ErrInUse, e.ID, e.Root)
}

func (a *Allocator) newEntry(req Request) (Entry, error) {
	if err := ValidID(req.ID); err != nil {
		return Entry{}, err
	}
	root := lowerrt.NormalizeRoot(req.Root)
	pid := req.Pid
	if pid == 0 {
		pid = os.Getpid()
	}
	start, err := lowerrt.ProcessStart("/proc", pid)
	if err != nil {
		return Entry{}, fmt.Errorf("allocate range for %s: %w", req.ID, err)
	}
	return Entry{ID: req.ID, Root: root, Size: req.Size, Pid: pid, PidStart: start, Created: a.now().UTC(), Builtin: req.Pool.Builtin}, nil
}

// Allocate claims the lowest free range of req.Pool for req.ID and records
// it on disk before returning.
func (a *Allocator) Allocate(req Request) (Entry, error) {
	if req.Size == 0 {
		req.Size = DefaultSize
	}
	e, err := a.newEntry(req)
	if err != nil {
		return Entry{}, err
	}
	err = a.withTable(func(t *Table, _ *[]Entry) (bool, error) {
		if old, ok := t.Lookup(req.ID); ok {
			return false, inUse(old)
		}
		u, g, err := t.pick(req.Pool, uint64(req.Size))
		if err != nil {
			return false, err
		}
		e.HostUID, e.HostGID = uint32(u.Start), uint32(g.Start)
		t.Entries = append(t.Entries, e)
		return true, nil
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Join records that req.ID shares the range holding mapping m (the real
// mapping of the user namespace of a container whose namespaces it joins).
// The range stays allocated until every container sharing it is gone. ok
// is false when no range of the table holds every ID of m.
func (a *Allocator) Join(req Request, m Mapping) (e Entry, ok bool, err error) {
	e, err = a.newEntry(req)
	if err != nil {
		return Entry{}, false, err
	}
	err = a.withTable(func(t *Table, _ *[]Entry) (bool, error) {
		if old, dup := t.Lookup(req.ID); dup {
			return false, inUse(old)
		}
		owner, found := t.Covering(idRanges(m.uidMappings()), idRanges(m.gidMappings()))
		if !found {
			return false, nil
		}
		ok = true
		e.HostUID, e.HostGID, e.Size, e.Builtin = owner.HostUID, owner.HostGID, owner.Size, owner.Builtin
		e.SharedWith = owner.ID
		if owner.SharedWith != "" {
			e.SharedWith = owner.SharedWith
		}
		t.Entries = append(t.Entries, e)
		return true, nil
	})
	return e, ok, err
}

// Release retires the entry of container id under the state root root
// (Released undoes what it left, and the entry is dropped or kept
// lingering), when owned says the caller may: a range belongs to the
// container that holds it, in the root it was created in, so `--root
// /other delete ID` or a failed `create ID` elsewhere cannot free a live
// container's range. With no entry for id under any root, Released still
// runs (what a create left behind before its entry was written is removed;
// no range is held for it); an entry under another root is never touched.
// Releasing an unknown id is not an error: delete is idempotent. released
// says whether an entry was retired.
func (a *Allocator) Release(root, id string, owned func(Entry) bool) (e Entry, released bool, err error) {
	err = a.withTable(func(t *Table, retired *[]Entry) (bool, error) {
		i, ok := t.find(id)
		if !ok {
			orphan := Entry{ID: id, Root: lowerrt.NormalizeRoot(root)}
			a.released(orphan)
			*retired = append(*retired, orphan)
			return false, nil
		}
		e = t.Entries[i]
		if !sameRoot(e.Root, root) || (owned != nil && !owned(e)) {
			return false, nil
		}
		a.retire(t, i, retired)
		released = true
		return true, nil
	})
	return e, released, err
}

func (a *Allocator) released(e Entry) *Lingering {
	if a.Released != nil {
		return a.Released(e)
	}
	return nil
}

// OwnedBySelf reports an entry this process allocated (a failed create
// undoes only its own allocation, never a live container's of the same ID).
func OwnedBySelf(e Entry) bool {
	return e.creator() == lowerrt.Self()
}

// CreatorGone reports an entry whose creating process has exited: a
// `delete` racing a create that has not written state.json yet must not
// take its range.
func CreatorGone(e Entry) bool {
	return !e.creator().Running("/proc") || e.Pid == os.Getpid()
}

// creator is the process that allocated e.
func (e Entry) creator() lowerrt.Process { return lowerrt.Process{Pid: e.Pid, Start: e.PidStart} }

// Collect garbage-collects the table and returns the entries of the
// containers it found gone. extra runs under the same lock afterwards with
// the surviving table (GC uses it to remove directories no entry accounts
// for).
func (a *Allocator) Collect(extra func(t *Table) error) ([]Entry, error) {
	var gone []Entry
	forget := a.Forget
	a2 := *a
	a2.Forget = func(e Entry) {
		gone = append(gone, e)
		if forget != nil {
			forget(e)
		}
	}
	err := a2.withTable(func(t *Table, _ *[]Entry) (bool, error) {
		if extra != nil {
			return false, extra(t)
		}
		return false, nil
	})
	return gone, err
}

// LiveEntry is the default liveness check: the lower runtime still has
// state for the container under its --root (lower.HasState), or the
// process creating it is still running (before `runc create` writes its
// state).
func LiveEntry(e Entry) bool {
	return lowerrt.HasState(lowerrt.Dir(e.Root, e.ID)) || e.creator().Running("/proc")
}

// ValidID checks a container ID before it becomes part of a path, with
// runc's own rule (letters, digits, _ + - .), so "../x" cannot escape the
// run directory.
func ValidID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return fmt.Errorf("invalid container id %q", id)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '+', r == '-', r == '.':
		default:
			return fmt.Errorf("invalid container id %q", id)
		}
	}
	return nil
}
