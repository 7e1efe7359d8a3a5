package forensics

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// Anchor is the last record of a file removed by retention. Verify starts
// the chain from the newest anchor, so removing old files by policy is not
// mistaken for tampering, and removing them any other way still is.
type Anchor struct {
	Seq     uint64    `json:"seq"`
	Hash    string    `json:"hash"`
	File    string    `json:"file"`
	Removed time.Time `json:"removed"`
	Reason  string    `json:"reason"`
}

// retain removes the oldest files (never current) while the store is larger
// than MaxTotal or they are older than MaxAge. It runs after a rotation, under
// the lock, and returns what it could not do: retention must not fail a
// launch whose record is already stored.
func (s *Store) retain(current string) []string {
	files, err := s.recordFiles()
	if err != nil {
		return []string{"retention: " + err.Error()}
	}
	type entry struct {
		name string
		size int64
		mod  time.Time
	}
	var es []entry
	var total int64
	for _, n := range files {
		fi, err := os.Stat(filepath.Join(s.dir, n))
		if err != nil {
			continue
		}
		es = append(es, entry{n, fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	now := s.opts.Now()
	var warnings []string
	removed := false
	// Only a prefix of the files is removed, so the kept ones stay one
	// unbroken chain starting at the newest anchor.
prefix:
	for _, e := range es {
		if e.name == current {
			break
		}
		reason := ""
		switch {
		case total > s.opts.MaxTotal:
			reason = fmt.Sprintf("store larger than %d bytes", s.opts.MaxTotal)
		case s.opts.MaxAge > 0 && now.Sub(e.mod) > s.opts.MaxAge:
			reason = fmt.Sprintf("older than %s", s.opts.MaxAge)
		default:
			break prefix
		}
		if err := s.removeFile(e.name, e.size, reason, now); err != nil {
			warnings = append(warnings, "retention: "+err.Error())
			break prefix
		}
		total -= e.size
		removed = true
	}
	if removed {
		if err := atomicfile.SyncDir(s.dir); err != nil {
			warnings = append(warnings, "retention: "+err.Error())
		}
	}
	return warnings
}

// removeFile anchors name's last record, then removes it.
func (s *Store) removeFile(name string, size int64, reason string, now time.Time) error {
	path := filepath.Join(s.dir, name)
	a := Anchor{File: name, Removed: now.UTC(), Reason: reason}
	if size > 0 {
		var err error
		if a.Seq, a.Hash, err = lastRecord(path, size); err != nil {
			return fmt.Errorf("keep anchor of %s: %w", name, err)
		}
	} else {
		return os.Remove(path)
	}
	if err := s.appendAnchor(a); err != nil {
		return err
	}
	return os.Remove(path)
}

func (s *Store) appendAnchor(a Anchor) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, anchorsName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return unix.Fdatasync(int(f.Fd()))
}

// anchors returns every anchor, oldest first.
func (s *Store) anchors() ([]Anchor, error) {
	f, err := os.Open(filepath.Join(s.dir, anchorsName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Anchor
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a Anchor
		if json.Unmarshal(sc.Bytes(), &a) == nil {
			out = append(out, a)
		}
	}
	return out, sc.Err()
}

func (s *Store) lastAnchor() (Anchor, bool) {
	as, _ := s.anchors()
	if len(as) == 0 {
		return Anchor{}, false
	}
	return as[len(as)-1], true
}
