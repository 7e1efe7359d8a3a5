package forensics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Store layout, under the forensics directory:
//
//	records-<first seq, 20 digits>.ndjson   one record per line; the newest is current
//	LOCK      flock(2) target; also holds the head (see head)
//	ANCHORS   one line per file removed by retention: its last seq and hash
//	profiles/ the profiles records refer to, by hash (for drift)
const (
	lockName     = "LOCK"
	anchorsName  = "ANCHORS"
	profilesDir  = "profiles"
	recordPrefix = "records-"
	recordSuffix = ".ndjson"
)

// Defaults for Options.
const (
	DefaultMaxFileSize = 64 << 20
	DefaultMaxTotal    = 2 << 30
	DefaultMaxAge      = 400 * 24 * time.Hour
)

// Options tune rotation and retention; zero values take the defaults.
// Retention never removes the current file, and records the last hash of
// every file it removes in ANCHORS, so the chain stays verifiable.
type Options struct {
	// MaxFileSize starts a new file when the current one would grow past it.
	MaxFileSize int64
	// MaxTotal removes the oldest files while the store is larger.
	MaxTotal int64
	// MaxAge removes files whose newest record is older; negative keeps
	// files forever.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RetentionOptions are the Options a config's retention asks for.
func RetentionOptions(r policy.Retention) Options {
	maxFile, maxTotal, maxAge := r.Sizes()
	return Options{MaxFileSize: maxFile, MaxTotal: maxTotal, MaxAge: maxAge}
}

func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is the append-only record store in one directory. It holds no open
// files: every Append locks, writes, syncs and closes, because each runtime
// invocation is a short-lived process.
type Store struct {
	dir  string
	opts Options
}

// New returns the store in dir. It does no I/O; Append creates dir (0700).
func New(dir string, opts Options) *Store {
	return &Store{dir: dir, opts: opts.withDefaults()}
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Receipt says where a record was stored.
type Receipt struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	File string `json:"file"`
	// Warnings are problems that did not stop the record (retention
	// could not remove a file, a repair was made).
	Warnings []string `json:"warnings,omitempty"`
	// Folded are the records of the spool appended before it.
	Folded []*Record `json:"-"`
}

// head is the chain's position: the last record's seq and hash, the file
// it is in and that file's size after it. It lives in the LOCK file and is
// a cache: it is written after the record is synced but not synced itself,
// and Append rebuilds it from the files' tails whenever it disagrees with
// them (after a crash, a kill -9 or tampering).
type head struct {
	File string `json:"file"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// Append adds rec to the chain and returns once it is on stable storage.
// It sets rec.Seq, rec.Prev and rec.Hash. What the fast path spooled is
// appended first, in the same write (Receipt.Folded). Its cost does not
// depend on the store's size: it reads the head and, only after a crash,
// the tail of the current file. A nil rec appends only the spool (Fold).
// Errors are *AppendError.
func (s *Store) Append(rec *Record) (Receipt, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return Receipt{}, &AppendError{Dir: s.dir, Op: "create directory", Err: err}
	}
	lock, err := lockFile(filepath.Join(s.dir, lockName), unix.LOCK_EX)
	if err != nil {
		return Receipt{}, &AppendError{Dir: s.dir, Op: "lock", Err: err}
	}
	defer lock.Close()
	folded, endFold, err := s.takeSpool()
	if err != nil {
		return Receipt{}, &AppendError{Dir: s.dir, Op: "read the spool", Err: err}
	}
	recs := folded
	if rec != nil {
		recs = append(recs[:len(recs):len(recs)], rec)
	}
	if len(recs) == 0 {
		_ = endFold(false)
		return Receipt{}, nil
	}
	h, repair, err := s.position(lock)
	if err != nil {
		_ = endFold(false)
		return Receipt{}, &AppendError{Dir: s.dir, Op: "recover", Err: err}
	}
	recs[0].Repair = repair
	var lines []byte
	seq, hash := h.Seq, h.Hash
	for _, r := range recs {
		line, sum, err := encodeLine(r, seq+1, hash)
		if err != nil {
			_ = endFold(false)
			return Receipt{}, &AppendError{Dir: s.dir, Op: "encode", Err: err}
		}
		lines = append(lines, line...)
		seq, hash = seq+1, sum
	}
	rotated := false
	if h.File == "" || (h.Size > 0 && h.Size+int64(len(lines)) > s.opts.MaxFileSize) {
		h.File, h.Size, rotated = recordFileName(h.Seq+1), 0, true
	}
	if err := s.writeLine(h, lines, rotated); err != nil {
		_ = endFold(false)
		return Receipt{}, err
	}
	next := head{File: h.File, Seq: seq, Hash: hash, Size: h.Size + int64(len(lines))}
	rc := Receipt{Seq: next.Seq, Hash: hash, File: next.File, Folded: folded}
	if err := writeHead(lock, next); err != nil {
		rc.Warnings = append(rc.Warnings, "head not updated: "+err.Error())
	}
	if err := endFold(true); err != nil {
		rc.Warnings = append(rc.Warnings, "spool not emptied (its records will be appended again, with the same spool id): "+err.Error())
	}
	if repair != nil {
		rc.Warnings = append(rc.Warnings, repairText(repair))
	}
	if rec != nil && rec.profile != nil && rec.Profile != nil && rec.Profile.Hash != "" {
		if err := s.keepProfile(rec.Profile.Hash, rec.profile); err != nil {
			rc.Warnings = append(rc.Warnings, "profile snapshot: "+err.Error())
		}
	}
	if rotated {
		rc.Warnings = append(rc.Warnings, s.retain(next.File)...)
	}
	return rc, nil
}

// writeLine appends line to h.File with one write(2) and syncs it. On any
// failure the file is cut back to h.Size so no partial line stays behind.
func (s *Store) writeLine(h head, line []byte, create bool) error {
	path := filepath.Join(s.dir, h.File)
	flags := os.O_WRONLY | os.O_APPEND
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return &AppendError{Dir: s.dir, Op: "open", Err: err}
	}
	defer f.Close()
	if create {
		// The new file's directory entry must survive a crash too.
		if err := atomicfile.SyncDir(s.dir); err != nil {
			return &AppendError{Dir: s.dir, Op: "sync directory", Err: err}
		}
	}
	if _, err := f.Write(line); err != nil {
		_ = f.Truncate(h.Size)
		return &AppendError{Dir: s.dir, Op: "write", Err: err}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		_ = f.Truncate(h.Size)
		return &AppendError{Dir: s.dir, Op: "sync", Err: err}
	}
	return nil
}

// position returns where the next record goes. The fast path trusts the
// head when the current file has exactly the size it recorded; anything
// else is a crash or an outside change, and the position is rebuilt from
// the files themselves.
func (s *Store) position(lock *os.File) (head, *Repair, error) {
	h, herr := readHead(lock)
	if herr == nil && h.File != "" {
		fi, err := os.Stat(filepath.Join(s.dir, h.File))
		if err == nil && fi.Size() == h.Size && s.isNewest(h) {
			return h, nil, nil
		}
	}
	return s.rebuild(h, herr == nil && h.File != "")
}

// isNewest reports whether no file newer than the head's exists. A newer
// file can only be the one the next rotation creates, named after the next
// seq, left behind by a crash between its creation and the head's update.
func (s *Store) isNewest(h head) bool {
	_, err := os.Lstat(filepath.Join(s.dir, recordFileName(h.Seq+1)))
	return errors.Is(err, os.ErrNotExist)
}

// rebuild finds the last intact record from the files, cutting a torn last
// line (an interrupted write) and noting records missing against the head.
func (s *Store) rebuild(h head, headOK bool) (head, *Repair, error) {
	files, err := s.recordFiles()
	if err != nil {
		return head{}, nil, err
	}
	var repair *Repair
	for i := len(files) - 1; i >= 0; i-- {
		cut, torn, err := cutTorn(filepath.Join(s.dir, files[i]))
		if err != nil {
			return head{}, nil, err
		}
		if torn != nil {
			torn.File = files[i]
			repair = torn
		}
		if cut == 0 && i > 0 {
			continue // an empty file left by a rotation; look further back
		}
		pos := head{File: files[len(files)-1], Size: 0}
		if i == len(files)-1 {
			pos.Size = cut
		}
		if cut > 0 {
			path := filepath.Join(s.dir, files[i])
			pos.Seq, pos.Hash, err = lastRecord(path, cut)
			if err != nil && !headOK {
				// The last line is not a record (something else wrote
				// it) and there is no head: continue after the last
				// line that is one. Verify reports the rest.
				pos.Seq, pos.Hash, err = lastParsable(path, cut)
			}
			if err != nil {
				if !headOK {
					return head{}, nil, fmt.Errorf("%s: %w: %v", files[i], ErrCorrupt, err)
				}
				pos.Seq, pos.Hash = h.Seq, h.Hash
			}
		} else if a, ok := s.lastAnchor(); ok {
			pos.Seq, pos.Hash = a.Seq, a.Hash
		}
		pos, repair = reconcile(pos, h, headOK, repair)
		return pos, repair, nil
	}
	// No record file at all: a new store, or every file was removed.
	pos := head{}
	if a, ok := s.lastAnchor(); ok {
		pos.Seq, pos.Hash = a.Seq, a.Hash
	}
	if headOK && h.Seq > pos.Seq {
		repair = &Repair{Missing: fmt.Sprintf("records %d..%d: no record file left", pos.Seq+1, h.Seq)}
		pos.Seq, pos.Hash = h.Seq, h.Hash
	}
	return pos, repair, nil
}

// reconcile continues the chain from the head when the files hold fewer
// records than it says: the gap then stays visible to Verify instead of
// being papered over.
func reconcile(pos, h head, headOK bool, repair *Repair) (head, *Repair) {
	if headOK && h.Seq > pos.Seq {
		if repair == nil {
			repair = &Repair{File: pos.File}
		}
		repair.Missing = fmt.Sprintf("records %d..%d are not in the store", pos.Seq+1, h.Seq)
		pos.Seq, pos.Hash = h.Seq, h.Hash
	}
	return pos, repair
}

// cutTorn truncates path after its last newline when the file does not end
// with one, and returns the new size and what was cut.
func cutTorn(path string) (int64, *Repair, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, nil, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return 0, nil, err
	}
	if last[0] == '\n' {
		return size, nil, nil
	}
	start, err := lineStart(f, size)
	if err != nil {
		return 0, nil, err
	}
	torn := make([]byte, size-start)
	if _, err := f.ReadAt(torn, start); err != nil {
		return 0, nil, err
	}
	if err := f.Truncate(start); err != nil {
		return 0, nil, err
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return 0, nil, err
	}
	sum := sha256.Sum256(torn)
	return start, &Repair{TornBytes: int64(len(torn)), TornSHA256: hashPrefix + hex.EncodeToString(sum[:])}, nil
}

// lineStart returns the offset just after the last newline before end (0 if
// none), reading backwards in chunks so a long record costs only its size.
func lineStart(f *os.File, end int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for pos := end; pos > 0; {
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
	}
	return 0, nil
}

// lastRecord returns seq and hash of the last line of path[:size], which
// must end with a newline.
func lastRecord(path string, size int64) (uint64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	start, err := lineStart(f, size-1)
	if err != nil {
		return 0, "", err
	}
	line := make([]byte, size-1-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return 0, "", err
	}
	return claimedHeader(line)
}

// lastParsable returns seq and hash of the last line of path[:size] that is
// a record. It reads the whole file: it only runs on a damaged store.
func lastParsable(path string, size int64) (uint64, string, error) {
	var seq uint64
	var hash string
	found := false
	err := eachLine(path, size, func(line []byte, _ int64, complete bool) error {
		if sq, h, err := claimedHeader(line); err == nil && complete {
			seq, hash, found = sq, h, true
		}
		return nil
	})
	if err == nil && !found {
		err = errMalformed
	}
	return seq, hash, err
}

// recordFiles lists the record files, oldest first. The zero-padded first
// seq in the name makes lexical order the chain's order.
func (s *Store) recordFiles() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, recordPrefix) && strings.HasSuffix(n, recordSuffix) && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func recordFileName(firstSeq uint64) string {
	return fmt.Sprintf("%s%020d%s", recordPrefix, firstSeq, recordSuffix)
}

// firstSeqOf parses the seq out of a record file name.
func firstSeqOf(name string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, recordPrefix), recordSuffix), 10, 64)
	return n
}

func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func readHead(lock *os.File) (head, error) {
	var h head
	buf := make([]byte, 512)
	n, err := lock.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return h, err
	}
	if n == 0 {
		return h, errors.New("empty head")
	}
	line, _, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok {
		return h, errors.New("torn head")
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, err
	}
	return h, nil
}

func writeHead(lock *os.File, h head) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := lock.WriteAt(b, 0); err != nil {
		return err
	}
	return lock.Truncate(int64(len(b)))
}

func repairText(r *Repair) string {
	var parts []string
	if r.TornBytes > 0 {
		parts = append(parts, fmt.Sprintf("cut a torn record of %d bytes (%s) from %s", r.TornBytes, r.TornSHA256, r.File))
	}
	if r.Missing != "" {
		parts = append(parts, r.Missing)
	}
	return "repaired store: " + strings.Join(parts, "; ")
}
