package forensics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Filter selects records. Empty fields match everything.
type Filter struct {
	// IDPrefix matches container ids that start with it.
	IDPrefix string
	Since    time.Time
	Until    time.Time
	Verbs    []string
	// Decision is one of Results.
	Decision Result
	Profile  string
	// Image matches image names that contain it.
	Image string
	// Pod is "namespace/name", or "name" in any namespace.
	Pod string
}

// Match reports whether r passes f.
func (f Filter) Match(r *Record) bool {
	switch {
	case f.IDPrefix != "" && !strings.HasPrefix(r.ContainerID, f.IDPrefix),
		!f.Since.IsZero() && r.Time.Before(f.Since),
		!f.Until.IsZero() && r.Time.After(f.Until),
		len(f.Verbs) > 0 && !contains(f.Verbs, r.Verb),
		f.Decision != "" && r.Decision.Result != f.Decision,
		f.Profile != "" && r.ProfileName() != f.Profile,
		f.Image != "" && !strings.Contains(r.ImageName(), f.Image):
		return false
	case f.Pod != "":
		pod := r.Pod()
		return pod == f.Pod || (!strings.Contains(f.Pod, "/") && strings.HasSuffix(pod, "/"+f.Pod))
	}
	return true
}

// maybe is a cheap test on the raw line: false means the record cannot
// match, so most lines of a filtered listing are never decoded. A true is
// confirmed by Match after decoding.
func (f Filter) maybe(line []byte) bool {
	if !f.Since.IsZero() || !f.Until.IsZero() {
		if t, ok := lineTime(line); ok && ((!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && t.After(f.Until))) {
			return false
		}
	}
	for _, probe := range f.probes() {
		if !bytes.Contains(line, probe) {
			return false
		}
	}
	return true
}

// probes are byte strings any matching line must contain.
func (f Filter) probes() [][]byte {
	var ps [][]byte
	add := func(prefix, v string, closed bool) {
		if v == "" {
			return
		}
		enc, _ := json.Marshal(v)
		if !closed {
			enc = enc[:len(enc)-1]
		}
		ps = append(ps, append([]byte(prefix), enc...))
	}
	add(`"container_id":`, f.IDPrefix, false)
	add(`"result":`, string(f.Decision), true)
	add(`"profile":{"name":`, f.Profile, true)
	if len(f.Verbs) == 1 {
		add(`"verb":`, f.Verbs[0], true)
	}
	if f.Image != "" {
		enc, _ := json.Marshal(f.Image)
		ps = append(ps, enc[1:len(enc)-1])
	}
	if f.Pod != "" {
		_, name, _ := strings.Cut(f.Pod, "/")
		if name == "" {
			name = f.Pod
		}
		add(`"pod_name":`, name, true)
	}
	return ps
}

// ErrStop ends Records early without an error.
var ErrStop = errors.New("stop")

// Records calls fn for every record that passes f, oldest first. Lines that
// are not records (torn, malformed) are skipped: Verify reports them.
func (s *Store) Records(f Filter, fn func(*Record) error) error {
	return s.records(f, false, fn)
}

// Summaries is Records without the documents and host facts: listings
// need neither, and not decoding them makes a listing several times faster.
func (s *Store) Summaries(f Filter, fn func(*Record) error) error {
	return s.records(f, true, fn)
}

// documentsMember starts the part of a line a summary leaves out. It is
// found by a plain search: inside JSON strings quotes are escaped, so the
// first `,"original":` of a line is the record's own member.
var documentsMember = []byte(`,"original":`)

// summaryPart returns the line up to the documents, closed as an object.
func summaryPart(line []byte) []byte {
	i := bytes.Index(line, documentsMember)
	if i < 0 {
		return line
	}
	return append(line[:i:i], '}')
}

func (s *Store) records(f Filter, summary bool, fn func(*Record) error) error {
	files, err := s.recordFiles()
	if err != nil {
		return err
	}
	for _, name := range files {
		err := eachLine(filepath.Join(s.dir, name), -1, func(line []byte, _ int64, complete bool) error {
			if !complete || !f.maybe(line) {
				return nil
			}
			if summary {
				line = summaryPart(line)
			}
			var r Record
			if json.Unmarshal(line, &r) != nil || !f.Match(&r) {
				return nil
			}
			return fn(&r)
		})
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
	return nil
}

// Export writes the raw lines of the records that pass f, oldest first, as
// NDJSON: exactly the stored bytes, so a SIEM can check the hashes itself.
func (s *Store) Export(f Filter, w io.Writer) (int, error) {
	files, err := s.recordFiles()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range files {
		err := eachLine(filepath.Join(s.dir, name), -1, func(line []byte, _ int64, complete bool) error {
			if !complete || !f.maybe(line) {
				return nil
			}
			if !f.matchesLine(line) {
				return nil
			}
			if _, err := w.Write(append(line, '\n')); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("export %s: %w", name, err)
		}
	}
	return n, nil
}

// matchesLine decodes line only when a filter needs more than the probes.
func (f Filter) matchesLine(line []byte) bool {
	if f.probesSuffice() {
		return true
	}
	var r Record
	return json.Unmarshal(summaryPart(line), &r) == nil && f.Match(&r)
}

// Container returns every record of one container id (exact id, or a
// unique prefix), newest first.
func (s *Store) Container(id string) ([]*Record, error) {
	var out []*Record
	ids := map[string]bool{}
	err := s.Records(Filter{IDPrefix: id}, func(r *Record) error {
		out = append(out, r)
		ids[r.ContainerID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) > 1 {
		exact := out[:0]
		for _, r := range out {
			if r.ContainerID == id {
				exact = append(exact, r)
			}
		}
		if len(exact) == 0 {
			return nil, fmt.Errorf("container id prefix %q is ambiguous (%d containers)", id, len(ids))
		}
		out = exact
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// probesSuffice reports whether maybe alone decides: only exact-valued
// filters whose probe cannot match elsewhere in the line.
func (f Filter) probesSuffice() bool {
	return f.IDPrefix == "" && f.Image == "" && f.Pod == "" && f.Profile == "" &&
		f.Since.IsZero() && f.Until.IsZero() && len(f.Verbs) <= 1 && f.Decision == ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
