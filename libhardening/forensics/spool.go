package forensics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/argv"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// The spool is where the C fast path (cmd/hardened-runc, package fastpath)
// leaves the short records of the verbs it runs without the Go runtime
// (start, kill, a delete with nothing to release):
// it appends one line of raw facts to <dir>/SPOOL, syncs it, and only then
// execs the lower runtime, so the record is durable before runc runs, as
// the Go side's is. Those facts become records of the chain (Record.Spool
// names the line) at the next Append, which every Go-path verb makes, or
// when hardenctl opens the store (Fold), before anything is read.
//
// A line is "hardened-runc spool 1" and space-separated key=value fields;
// a value is percent-encoded (every byte outside [A-Za-z0-9._~/+@-]), and
// a list is its items each followed by ",". Keys: id (random, hex), time
// (Unix seconds.nanoseconds), lower, argv (the runtime's arguments after
// argv[0]), caller (the parent's pid), caller-exe, caller-cmdline, chain
// (the caller and its ancestors, nearest first, as pid:comm:exe).
//
// Writers hold a shared flock(2) on the spool for their write and sync;
// the fold holds it exclusively while it reads the spool, appends its
// records and empties it. A fold that dies after the append and before
// emptying the spool leaves lines that the next fold appends again: their
// records carry the same Spool id.
const spoolName = "SPOOL"

const spoolHeader = "hardened-runc spool 1"

// takeSpool locks the spool, if there is one, and returns the records of its
// lines and the function that ends the fold: with true once the records are
// on stable storage (the spool is emptied), with false otherwise (it is
// kept). The caller holds the store's lock.
func (s *Store) takeSpool() ([]*Record, func(appended bool) error, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, spoolName), os.O_RDWR|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, func(bool) error { return nil }, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// An empty spool (no fast-path call since the last fold) costs no
	// lock; a line spooled just after this look waits for the next fold.
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		f.Close()
		return nil, func(bool) error { return nil }, nil
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	var recs []*Record
	for len(data) > 0 {
		line, rest, complete := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 && complete {
			continue
		}
		recs = append(recs, spoolRecord(string(line), complete))
	}
	end := func(appended bool) error {
		defer f.Close()
		if !appended || len(recs) == 0 {
			return nil
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		return unix.Fdatasync(int(f.Fd()))
	}
	return recs, end, nil
}

// Fold moves what the spool holds into the chain; the receipt's Folded are
// the records it appended. Readers call it first so that nothing the fast
// path recorded is missing from what they show.
func (s *Store) Fold() (Receipt, error) {
	return s.Append(nil)
}

// spoolRecord turns one spool line into a record. A line that cannot be
// read is recorded as it is, as a note, not dropped.
func spoolRecord(line string, complete bool) *Record {
	e, err := parseSpoolLine(line)
	if err == nil && !complete {
		err = errors.New("torn (no end of line)")
	}
	if err != nil {
		return &Record{Schema: SchemaVersion, Time: time.Now().UTC(), Verb: "unknown",
			Decision: Decision{Result: Off},
			Notes:    []string{fmt.Sprintf("spooled by the fast path, unreadable (%v): %q", err, line)}}
	}
	in := Input{Time: e.time, Verb: e.verb, Argv: e.argv, ContainerID: e.container,
		Lower: modifier.Lower{Path: e.lower}, Caller: e.caller, Decision: Decision{Result: Off}}
	r, err := Build(in)
	if err != nil { // a short record has no document: cannot happen
		return &Record{Schema: SchemaVersion, Time: e.time.UTC(), Verb: e.verb, Decision: Decision{Result: Off},
			Notes: []string{"spooled by the fast path: " + err.Error()}}
	}
	r.Spool = e.id
	return r
}

// spoolEntry is one spool line's facts.
type spoolEntry struct {
	id, verb, container, lower string
	time                       time.Time
	argv                       []string
	caller                     *Caller
}

func parseSpoolLine(line string) (spoolEntry, error) {
	var e spoolEntry
	rest, ok := strings.CutPrefix(line, spoolHeader+" ")
	if !ok {
		return e, errors.New("no spool header")
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(rest, " ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || fields[k] != "" {
			return e, fmt.Errorf("field %q", kv)
		}
		fields[k] = v
	}
	var err error
	str := func(k string) string {
		v, derr := unescapeSpool(fields[k])
		if derr != nil && err == nil {
			err = fmt.Errorf("%s: %w", k, derr)
		}
		return v
	}
	list := func(k string) []string {
		v, derr := splitSpoolList(fields[k])
		if derr != nil && err == nil {
			err = fmt.Errorf("%s: %w", k, derr)
		}
		return v
	}
	e.id, e.lower, e.argv = str("id"), str("lower"), list("argv")
	sec, nsec, _ := strings.Cut(fields["time"], ".")
	s, serr := strconv.ParseInt(sec, 10, 64)
	ns, nerr := strconv.ParseInt(nsec, 10, 64)
	if serr != nil || nerr != nil {
		return e, fmt.Errorf("time %q", fields["time"])
	}
	e.time = time.Unix(s, ns)
	pid, perr := strconv.Atoi(fields["caller"])
	if perr != nil {
		return e, fmt.Errorf("caller %q", fields["caller"])
	}
	var chain []procEntry
	items, _ := strings.CutSuffix(fields["chain"], ",")
	if fields["chain"] != "" && !strings.HasSuffix(fields["chain"], ",") {
		return e, errors.New("chain: unterminated list")
	}
	for _, item := range strings.Split(items, ",") {
		if item == "" && items == "" {
			break
		}
		parts := strings.SplitN(item, ":", 3)
		if len(parts) != 3 {
			return e, fmt.Errorf("chain item %q", item)
		}
		p, perr := strconv.Atoi(parts[0])
		comm, cerr := unescapeSpool(parts[1])
		exe, xerr := unescapeSpool(parts[2])
		if perr != nil || cerr != nil || xerr != nil {
			return e, fmt.Errorf("chain item %q", item)
		}
		chain = append(chain, procEntry{pid: p, comm: comm, exe: exe})
	}
	e.caller = callerOf(pid, str("caller-exe"), list("caller-cmdline"), chain)
	if err != nil {
		return e, err
	}
	if e.id == "" || len(e.argv) == 0 {
		return e, errors.New("no id or no argv")
	}
	inv, perr := argv.Parse(e.argv)
	if perr != nil {
		return e, fmt.Errorf("argv: %w", perr)
	}
	e.verb, e.container = inv.Verb(), inv.ContainerID()
	return e, nil
}

// splitSpoolList reads a list: every item is followed by ",". (The chain's
// items are split on ":" before they are unescaped, so it is read apart.)
func splitSpoolList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	if !strings.HasSuffix(v, ",") {
		return nil, errors.New("unterminated list")
	}
	items := strings.Split(strings.TrimSuffix(v, ","), ",")
	for i, it := range items {
		s, err := unescapeSpool(it)
		if err != nil {
			return nil, err
		}
		items[i] = s
	}
	return items, nil
}

// unescapeSpool undoes the C side's percent-encoding.
func unescapeSpool(v string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+2 >= len(v) {
			return "", fmt.Errorf("truncated escape in %q", v)
		}
		n, err := strconv.ParseUint(v[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", v)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// flock locks f, retrying when a signal interrupts the wait.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
