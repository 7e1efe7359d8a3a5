package apparmor

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Ensure makes sure the kernel has the profile name with text, loading it
// through h unless it is there already. Concurrent callers (parallel
// `create`s, in one process or many) serialise on a lock file in dir, so a
// profile is compiled and loaded once. The profile file is kept in dir as
// the record of what was loaded. It reports whether it loaded the profile.
func Ensure(h Host, dir, name, text string) (bool, error) {
	if ok, err := h.Loaded(name); err != nil || ok {
		return false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	// Another create may have loaded it while we waited for the lock.
	if ok, err := h.Loaded(name); err != nil || ok {
		return false, err
	}
	// Written under the lock, and rewritten whenever the kernel lacks the
	// profile, so a torn file from a crash never gets loaded.
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return false, fmt.Errorf("write profile: %w", err)
	}
	if err := h.Load(file); err != nil {
		return false, fmt.Errorf("load profile %s: %w", name, err)
	}
	return true, nil
}

// lock takes an exclusive flock on path. flock locks belong to the open
// file, so goroutines of one process exclude each other as processes do.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
