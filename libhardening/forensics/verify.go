package forensics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Problem kinds reported by Verify.
const (
	// Altered: a record's bytes do not match its hash, or a record does
	// not carry the hash of the one before it.
	Altered = "altered"
	// Removed: records are missing from the chain (a gap in seq).
	Removed = "removed"
	// Reordered: a record appears after one with a higher or equal seq.
	Reordered = "reordered"
	// Truncated: the store ends before the last record it acknowledged.
	Truncated = "truncated"
	// Torn: the last line is incomplete: a write interrupted by a crash,
	// which the next Append repairs. Reported as a warning.
	Torn = "torn"
	// Malformed: a line is not a record at all.
	Malformed = "malformed"
)

// maxProblems bounds a report on a badly damaged store.
const maxProblems = 100

// Problem is one finding of Verify.
type Problem struct {
	Kind   string `json:"kind"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	if p.File == "" {
		return fmt.Sprintf("%s: %s", p.Kind, p.Detail)
	}
	loc := p.File
	if p.Line > 0 {
		loc += fmt.Sprintf(":%d", p.Line)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Kind, p.Detail)
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Dir      string   `json:"dir"`
	Files    []string `json:"files"`
	Records  uint64   `json:"records"`
	FirstSeq uint64   `json:"first_seq,omitempty"`
	LastSeq  uint64   `json:"last_seq,omitempty"`
	LastHash string   `json:"last_hash,omitempty"`
	// Anchor is where the chain starts when retention removed older files.
	Anchor *Anchor `json:"anchor,omitempty"`
	// Witnessed is how many witness lines were compared (verify --witness).
	Witnessed int `json:"witnessed,omitempty"`
	// Problems are evidence of tampering or loss; Warnings are not.
	Problems []Problem `json:"problems,omitempty"`
	Warnings []Problem `json:"warnings,omitempty"`
}

// OK reports whether the chain is intact.
func (v *VerifyResult) OK() bool { return len(v.Problems) == 0 }

// Verify walks the chain across every file, from the retention anchor (or
// seq 1) to the head, checking each record's hash, its link to the one
// before and the seq order. It reads a consistent snapshot: the files'
// sizes are taken under a shared lock, which is released before the walk so
// launches are not held up.
func (s *Store) Verify() (*VerifyResult, error) {
	var err error
	for range 3 {
		var res *VerifyResult
		res, err = s.verifyOnce()
		// Retention may remove a file between the snapshot and the walk;
		// its anchor is then in place, so walk again.
		if !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
	}
	return nil, err
}

func (s *Store) verifyOnce() (*VerifyResult, error) {
	res := &VerifyResult{Dir: s.dir}
	h, headOK, sizes, files, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	res.Files = files
	anchors, err := s.anchors()
	if err != nil {
		return nil, fmt.Errorf("read anchors: %w", err)
	}
	w := walker{res: res, anchors: anchors, first: true}
	for i, name := range files {
		w.file = name
		w.lineNo = 0
		w.fileFirst = true
		last := i == len(files)-1
		err := eachLine(filepath.Join(s.dir, name), sizes[i], func(line []byte, off int64, complete bool) error {
			w.lineNo++
			w.record(line, off, complete, last)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	w.flushGap()
	if headOK {
		w.checkHead(h)
	} else if len(files) > 0 {
		res.Warnings = append(res.Warnings, Problem{Kind: Malformed, File: lockName, Detail: "head unreadable; it is rebuilt by the next append"})
	}
	return res, nil
}

// snapshot returns the head and the record files with their sizes, taken
// under a shared lock so no append is half-way.
func (s *Store) snapshot() (head, bool, []int64, []string, error) {
	if _, err := os.Stat(s.dir); err != nil {
		return head{}, false, nil, nil, err
	}
	var h head
	headOK := false
	if lock, err := lockFile(filepath.Join(s.dir, lockName), unix.LOCK_SH); err == nil {
		defer lock.Close()
		h, err = readHead(lock)
		headOK = err == nil && h.File != ""
	}
	files, err := s.recordFiles()
	if err != nil {
		return head{}, false, nil, nil, err
	}
	sizes := make([]int64, len(files))
	for i, f := range files {
		fi, err := os.Stat(filepath.Join(s.dir, f))
		if err != nil {
			return head{}, false, nil, nil, err
		}
		sizes[i] = fi.Size()
	}
	return h, headOK, sizes, files, nil
}

// recentWindow is how many recent record hashes the walker keeps to check
// links across a reordering.
const recentWindow = 64

// walker carries the chain's state through the lines.
type walker struct {
	res       *VerifyResult
	anchors   []Anchor
	file      string
	lineNo    int
	first     bool // no record seen yet
	fileFirst bool // no record of this file seen yet
	maxSeq    uint64
	// recent maps the last seqs seen to their hashes.
	recent map[uint64]string
	// gap is a jump in seq not yet reported: if a later record fills it,
	// the records were reordered rather than removed.
	gap            *Problem
	gapFrom, gapTo uint64
}

func (w *walker) problem(kind string, off int64, seq uint64, format string, args ...any) {
	w.add(Problem{Kind: kind, File: w.file, Line: w.lineNo, Offset: off, Seq: seq, Detail: fmt.Sprintf(format, args...)})
}

func (w *walker) add(p Problem) { w.res.addProblem(p) }

// addProblem records p, up to maxProblems.
func (v *VerifyResult) addProblem(p Problem) {
	if len(v.Problems) < maxProblems {
		v.Problems = append(v.Problems, p)
	}
}

func (w *walker) flushGap() {
	if w.gap != nil {
		w.add(*w.gap)
		w.gap = nil
	}
}

func (w *walker) record(line []byte, off int64, complete, lastFile bool) {
	if !complete {
		w.flushGap()
		p := Problem{Kind: Torn, File: w.file, Line: w.lineNo, Offset: off, Detail: fmt.Sprintf("last line is incomplete (%d bytes): an interrupted write", len(line))}
		if lastFile {
			w.res.Warnings = append(w.res.Warnings, p)
		} else {
			p.Kind, p.Detail = Truncated, fmt.Sprintf("file ends inside a record (%d bytes) but newer files follow", len(line))
			w.add(p)
		}
		return
	}
	h, err := parseHeader(line)
	if err != nil {
		w.flushGap()
		w.problem(Malformed, off, 0, "line is not a record (%d bytes)", len(line))
		return
	}
	if w.first {
		w.start(h, off)
	}
	w.order(h, off)
	if w.fileFirst && firstSeqOf(w.file) != h.Seq {
		w.problem(Reordered, off, h.Seq, "file is named for seq %d but starts with seq %d", firstSeqOf(w.file), h.Seq)
	}
	w.fileFirst = false
	if h.Hash != h.Sum {
		w.problem(Altered, off, h.Seq, "record %d does not match its hash: its content was changed", h.Seq)
	}
	if prev, ok := w.recent[h.Seq-1]; ok && h.Prev != prev {
		w.problem(Altered, off, h.Seq, "record %d does not carry the hash of record %d: that record was changed or replaced", h.Seq, h.Seq-1)
	}
	w.recent[h.Seq] = h.Hash
	delete(w.recent, h.Seq-recentWindow)
	w.res.Records++
	w.res.LastSeq, w.res.LastHash = h.Seq, h.Hash
}

// order checks h.Seq against the records before it.
func (w *walker) order(h header, off int64) {
	switch {
	case w.gap != nil && h.Seq >= w.gapFrom && h.Seq <= w.gapTo:
		w.gap = nil
		w.problem(Reordered, off, h.Seq, "record %d appears after record %d", h.Seq, w.maxSeq)
	case h.Seq <= w.maxSeq:
		w.flushGap()
		w.problem(Reordered, off, h.Seq, "record %d appears again after record %d", h.Seq, w.maxSeq)
	case h.Seq > w.maxSeq+1:
		w.flushGap()
		w.gap = &Problem{Kind: Removed, File: w.file, Line: w.lineNo, Offset: off, Seq: h.Seq,
			Detail: fmt.Sprintf("records %d..%d are missing", w.maxSeq+1, h.Seq-1)}
		w.gapFrom, w.gapTo = w.maxSeq+1, h.Seq-1
	default:
		w.flushGap()
	}
	if h.Seq > w.maxSeq {
		w.maxSeq = h.Seq
	}
}

// start sets where the chain begins: seq 1 with no previous hash, or the
// anchor retention left for the file it removed before this one.
func (w *walker) start(h header, off int64) {
	w.first = false
	w.res.FirstSeq = h.Seq
	w.recent = map[uint64]string{}
	w.maxSeq = h.Seq - 1
	if h.Seq == 1 {
		w.recent[0] = ""
		return
	}
	for i := len(w.anchors) - 1; i >= 0; i-- {
		if a := w.anchors[i]; a.Seq+1 == h.Seq {
			w.res.Anchor = &a
			w.recent[a.Seq] = a.Hash
			return
		}
	}
	w.problem(Removed, off, h.Seq, "the store starts at record %d and no retention anchor covers records before it", h.Seq)
}

// checkHead compares the end of the chain with the head Append last wrote.
// The head is written after the record, so it may lag by one after a crash
// but is never ahead unless records were removed.
func (w *walker) checkHead(h head) {
	w.flushGap()
	switch {
	case h.Seq > w.maxSeq:
		w.file, w.lineNo = h.File, 0
		w.problem(Truncated, 0, h.Seq, "the store ends at record %d but record %d was written (%s)", w.maxSeq, h.Seq, h.Hash)
	case h.Seq > 0 && w.recent[h.Seq] != "" && w.recent[h.Seq] != h.Hash:
		w.file, w.lineNo = h.File, 0
		w.problem(Altered, 0, h.Seq, "record %d is not the one that was written (head has %s)", h.Seq, h.Hash)
	}
}
