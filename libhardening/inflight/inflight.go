// Package inflight marks a container's release in flight, so that whatever
// depends on it can wait for it.
//
// A delete returns to the engine once the lower runtime has deleted the
// container and what the engine reads afterwards (the layer's owners) is
// settled; the rest of the release (other host state, the audit evidence,
// the forensic record) is finished by the delete helper after the call
// has returned, beside the engine's own work instead of beside runc's
// delete (wrapper's delete). While it runs the helper holds the
// container's lock here, exclusively. A later call on the same container
// ID waits for it: the C program before it decides whether a delete holds
// anything (fastpath's release-lock), a create before it sets anything up,
// and hardenctl before it reads records (WaitAll).
//
// A lock is a file, <run dir>/release/<id>.lock, that exists only while a
// release holds it: the holder removes it before unlocking, and a holder
// that finds, once locked, that the path no longer names its file (a
// previous holder removed it meanwhile) opens it again. A waiter takes it
// shared and lets go at once. A holder that dies unlocks by dying; its
// file stays, unlocked, and is reused.
package inflight

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DirName is the directory of the locks under the run directory.
const DirName = "release"

const suffix = ".lock"

// Path is the lock of container id's release (with a placeholder for id:
// the fastpath record's release-lock, which the C program fills in).
func Path(runDir, id string) string {
	return filepath.Join(runDir, DirName, id+suffix)
}

// Held is a release in flight, held by this process.
type Held struct {
	path string
	f    *os.File
}

// Patience is how long a call waits for a release in flight before it
// goes on without it: a release takes milliseconds, and a stuck one must
// not block every later delete of the container (it would only be
// repaired, as after a crash, by the next delete, create or GC).
const Patience = 10 * time.Second

// Hold takes id's lock exclusively, waiting up to timeout (negative: as
// long as it takes) for a release in flight.
func Hold(runDir, id string, timeout time.Duration) (*Held, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	path := Path(runDir, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("release lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("release lock: %w", err)
		}
		if err := lockWithin(f, unix.LOCK_EX, timeout, deadline); err != nil {
			f.Close()
			return nil, fmt.Errorf("release lock %s: %w", path, err)
		}
		if samePath(f, path) {
			return &Held{path: path, f: f}, nil
		}
		// Removed, and maybe made again, by the holder we waited for.
		f.Close()
	}
}

// Release ends the release: the lock's file is removed, then unlocked.
// It may be called more than once.
func (h *Held) Release() {
	if h == nil || h.f == nil {
		return
	}
	_ = os.Remove(h.path)
	h.f.Close()
	h.f = nil
}

// Wait waits, up to timeout (negative: as long as it takes), for a
// release of id in flight, if there is one.
func Wait(runDir, id string, timeout time.Duration) error {
	if err := validID(id); err != nil {
		return nil // no lock is ever taken for it
	}
	return waitFile(Path(runDir, id), timeout)
}

// WaitAll waits, until timeout, for every release in flight under runDir,
// and returns the IDs of those still running then.
func WaitAll(runDir string, timeout time.Duration) ([]string, error) {
	dir := filepath.Join(runDir, DirName)
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("releases in flight: %w", err)
	}
	deadline := time.Now().Add(timeout)
	var pending []string
	for _, n := range names {
		id, ok := strings.CutSuffix(n.Name(), suffix)
		if !ok {
			continue
		}
		if err := waitFile(filepath.Join(dir, n.Name()), time.Until(deadline)); errors.Is(err, errTimeout) {
			pending = append(pending, id)
		}
	}
	return pending, nil
}

var errTimeout = errors.New("timed out")

// waitFile takes path's lock shared and lets go, waiting at most timeout
// (negative: as long as it takes). A path that does not exist has no
// release in flight.
func waitFile(path string, timeout time.Duration) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	defer f.Close()
	return lockWithin(f, unix.LOCK_SH, timeout, time.Now().Add(timeout))
}

// lockWithin takes f's lock (how), waiting until deadline, or as long as
// it takes when timeout is negative.
func lockWithin(f *os.File, how int, timeout time.Duration, deadline time.Time) error {
	if timeout < 0 {
		for {
			err := unix.Flock(int(f.Fd()), how)
			if !errors.Is(err, unix.EINTR) {
				return err
			}
		}
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// samePath reports whether path still names f's file.
func samePath(f *os.File, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(int(f.Fd()), &a) == nil && unix.Lstat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// validID refuses an ID that would name a file outside the directory; the
// lower runtime refuses those IDs too.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("release lock: container ID %q names no file", id)
	}
	return nil
}
