package userns

import (
	"errors"
	"os"
	"path/filepath"
)

// GC releases what containers that no longer exist left behind: range table
// entries whose container has no state in its lower runtime's --root (and
// whose creating process is gone), their mounts, and container directories
// under <runDir>/userns that no entry accounts for (a create that failed
// after mounting). `hardenctl gc` and every allocation call it. alive may
// be nil (LiveEntry).
func GC(runDir string, alive func(Entry) bool) ([]Entry, error) {
	dir := filepath.Join(runDir, stateDirName)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	d := &dirRetirer{dir: dir}
	dropped, err := d.allocator(alive).Collect(func(t *Table) error {
		return removeOrphanDirs(dir, t)
	})
	return dropped, errors.Join(d.err(), err)
}

// removeOrphanDirs removes container directories without a table entry. It
// runs under the table lock, so no create can be between writing its entry
// and making its directory.
func removeOrphanDirs(dir string, t *Table) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ents {
		if !d.IsDir() || ValidID(d.Name()) != nil {
			continue
		}
		if _, ok := t.Lookup(d.Name()); ok {
			continue
		}
		// A directory whose overlay is left for the engine goes once the
		// table has it lingering (a crash between the two); until then its
		// record is what finds the overlay.
		p := filepath.Join(dir, d.Name())
		l, err := retireContainerDir(p)
		if err == nil && l != nil {
			if _, lingers := t.LingeringAt(l.Root.Mountpoint); lingers {
				err = removeContainerDir(p)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
