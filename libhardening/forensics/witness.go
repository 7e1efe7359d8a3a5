package forensics

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// A witness holds, outside the store, one line per record: its seq, its
// hash and what it was. Whoever can rewrite the store (root on the host, or
// a container that reached the forensics directory) can make the chain
// consistent again after removing or rewriting records; the witness, kept
// elsewhere, still says which records were written, so verify can name the
// ones that are gone or changed. The same line is written to a file and to
// syslog, so `verify --witness` reads a witness file, a syslog file or
// journalctl output alike.

// WitnessMarker starts the message of every witness line.
const WitnessMarker = "hardened-runc-witness "

// witnessPriority is facility authpriv (10), severity notice (5).
const witnessPriority = 10*8 + 5

// WitnessEntry is one record as a witness holds it.
type WitnessEntry struct {
	// Host and Store name the store the record is in, so one syslog
	// collecting many hosts and stores serves as the witness of each.
	Host  string    `json:"host"`
	Store string    `json:"store"`
	Seq   uint64    `json:"seq"`
	Hash  string    `json:"hash"`
	Prev  string    `json:"prev"`
	Time  time.Time `json:"time"`
	Verb  string    `json:"verb"`
	ID    string    `json:"id,omitempty"`
}

// WriteWitness writes the witness line of each record, which Append has
// stored in the store in dir, where w says. A line that cannot be written
// is an error for the caller to report, never a reason to undo the record.
func WriteWitness(w policy.Witness, dir string, recs ...*Record) error {
	if w.File == "" && !w.Syslog {
		return nil
	}
	var errs []error
	for _, rec := range recs {
		e := NewWitnessEntry(rec, dir)
		if w.File != "" {
			errs = append(errs, AppendWitnessFile(w.File, e))
		}
		if w.Syslog {
			errs = append(errs, SendWitnessSyslog(w.SyslogSocket, e))
		}
	}
	return errors.Join(errs...)
}

// NewWitnessEntry describes rec, which Append has stored in the store in dir.
func NewWitnessEntry(rec *Record, dir string) WitnessEntry {
	return WitnessEntry{Host: hostname(), Store: absDir(dir), Seq: rec.Seq, Hash: rec.Hash, Prev: rec.Prev,
		Time: rec.Time, Verb: rec.Verb, ID: rec.ContainerID}
}

// Line is the entry as a witness line, without a newline.
func (e WitnessEntry) Line() string {
	b, _ := json.Marshal(e)
	return WitnessMarker + string(b)
}

func (e WitnessEntry) String() string {
	what := e.Verb
	if e.ID != "" {
		what += " " + e.ID
	}
	return fmt.Sprintf("record %d (%s at %s, %s)", e.Seq, what, e.Time.UTC().Format(time.RFC3339), e.Hash)
}

// AppendWitnessFile appends the entry's line to the witness file at path
// (created 0600). One write(2) with O_APPEND, so concurrent launches never
// interleave lines. It is not synced: a crash may lose the witness's last
// lines (verify then warns that records are unwitnessed), never add one.
func AppendWitnessFile(path string, e WitnessEntry) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("witness file: %w", err)
	}
	_, werr := f.Write([]byte(e.Line() + "\n"))
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("witness file %s: %w", path, werr)
	}
	return nil
}

// SendWitnessSyslog sends the entry's line to the syslog socket (journald or
// a syslog daemon, which may forward it off the host) in the traditional
// format glibc's syslog(3) uses, which every daemon parses, with the
// identifier "hardened-runc". It gives up after 50 ms.
func SendWitnessSyslog(socket string, e WitnessEntry) error {
	msg := fmt.Sprintf("<%d>%s hardened-runc[%d]: %s", witnessPriority, time.Now().Format(time.Stamp), os.Getpid(), e.Line())
	if err := sendSyslog(socket, msg); err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	return nil
}

// ReadWitness returns the entries for the store in dir on this host found
// in r: any text with witness lines in it (a witness file, a syslog file,
// `journalctl -o cat`). Other lines are skipped.
func ReadWitness(r io.Reader, dir string) ([]WitnessEntry, error) {
	host, store := hostname(), absDir(dir)
	var out []WitnessEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		_, js, ok := strings.Cut(sc.Text(), WitnessMarker)
		if !ok {
			continue
		}
		var e WitnessEntry
		if json.Unmarshal([]byte(js), &e) != nil || e.Seq == 0 || e.Host != host || e.Store != store {
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read witness: %w", err)
	}
	return out, nil
}

// Problem kinds of a witness check.
const (
	// Rewritten: the store holds a record with the witnessed seq but
	// another hash: it was replaced after it was written.
	Rewritten = "rewritten"
	// Unwitnessed: records the witness has no line for (a warning: the
	// witness was configured later, or lost lines in a crash).
	Unwitnessed = "unwitnessed"
)

// CheckWitness compares the store with the witness's entries and adds what
// it finds to res: a witnessed record the store does not hold is Truncated
// (after the store's last record) or Removed (before it); one it holds with
// another hash is Rewritten; witnessed records that retention removed
// behind an anchor are a warning, as are records the witness lacks.
func (s *Store) CheckWitness(entries []WitnessEntry, res *VerifyResult) error {
	res.Witnessed = len(entries)
	if len(entries) == 0 {
		res.Warnings = append(res.Warnings, Problem{Kind: Unwitnessed, Detail: "the witness holds no line for this store"})
		return nil
	}
	want := map[uint64]WitnessEntry{}
	for _, e := range entries {
		want[e.Seq] = e
	}
	held := map[uint64]bool{}
	var maxWitnessed uint64
	for seq := range want {
		maxWitnessed = max(maxWitnessed, seq)
	}
	unwitnessed := 0
	err := s.eachHeader(func(file string, line int, h header) {
		held[h.Seq] = true
		e, ok := want[h.Seq]
		switch {
		case !ok:
			if h.Seq > maxWitnessed {
				unwitnessed++
			}
		case e.Hash != h.Hash:
			res.addProblem(Problem{Kind: Rewritten, File: file, Line: line, Seq: h.Seq,
				Detail: fmt.Sprintf("%s was witnessed, the store holds %s instead", e, h.Hash)})
		}
	})
	if err != nil {
		return err
	}
	var anchored uint64
	if res.Anchor != nil {
		anchored = res.Anchor.Seq
	}
	seqs := make([]uint64, 0, len(want))
	for seq := range want {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	retained := 0
	for _, seq := range seqs {
		e := want[seq]
		switch {
		case held[seq]:
		case seq <= anchored:
			retained++
		case seq > res.LastSeq:
			res.addProblem(Problem{Kind: Truncated, Seq: seq, Detail: fmt.Sprintf("%s was witnessed but is not in the store: the store ends at record %d", e, res.LastSeq)})
		default:
			res.addProblem(Problem{Kind: Removed, Seq: seq, Detail: fmt.Sprintf("%s was witnessed but is not in the store", e)})
		}
	}
	if retained > 0 {
		res.Warnings = append(res.Warnings, Problem{Kind: Removed, Seq: anchored,
			Detail: fmt.Sprintf("%d witnessed records up to %d were removed by retention (anchor %s)", retained, anchored, res.Anchor.File)})
	}
	if unwitnessed > 0 {
		res.Warnings = append(res.Warnings, Problem{Kind: Unwitnessed, Seq: maxWitnessed + 1,
			Detail: fmt.Sprintf("%d records after record %d have no witness line", unwitnessed, maxWitnessed)})
	}
	return nil
}

// eachHeader calls fn with the header of every record line of the store.
func (s *Store) eachHeader(fn func(file string, line int, h header)) error {
	files, err := s.recordFiles()
	if err != nil {
		return err
	}
	for _, name := range files {
		n := 0
		err := eachLine(filepath.Join(s.dir, name), -1, func(line []byte, _ int64, complete bool) error {
			n++
			if h, err := parseHeader(line); complete && err == nil {
				fn(name, n, h)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
