package forensics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// witnessedStore appends n records, writing each one's witness line to a
// file as the runtime does, and returns the store and the witness path.
func witnessedStore(t *testing.T, n int) (*Store, string) {
	t.Helper()
	s := New(filepath.Join(t.TempDir(), "forensics"), Options{})
	witness := filepath.Join(t.TempDir(), "witness")
	for i := 1; i <= n; i++ {
		r := testRecord(i)
		if _, err := s.Append(r); err != nil {
			t.Fatal(err)
		}
		if err := AppendWitnessFile(witness, NewWitnessEntry(r, s.Dir())); err != nil {
			t.Fatal(err)
		}
	}
	return s, witness
}

// cutTail removes the last k records from the store's file and rewrites
// the head to match, as a container that reached the store did (bypass
// #11): the chain is consistent again and Verify alone finds nothing.
func cutTail(t *testing.T, s *Store, k int) {
	t.Helper()
	files, err := s.recordFiles()
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v %v", files, err)
	}
	path := filepath.Join(s.Dir(), files[0])
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	keep := bytes.Join(lines[:len(lines)-1-k], nil)
	if err := os.WriteFile(path, keep, 0o600); err != nil {
		t.Fatal(err)
	}
	last, err := parseHeader(bytes.TrimSuffix(lines[len(lines)-2-k], []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := lockFile(filepath.Join(s.Dir(), lockName), unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := writeHead(lock, head{File: files[0], Seq: last.Seq, Hash: last.Hash, Size: int64(len(keep))}); err != nil {
		t.Fatal(err)
	}
}

func verifyWith(t *testing.T, s *Store, witness string) *VerifyResult {
	t.Helper()
	res, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(witness)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := ReadWitness(f, s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWitness(entries, res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWitnessFindsTruncatedTail(t *testing.T) {
	s, witness := witnessedStore(t, 5)
	if res := verifyWith(t, s, witness); !res.OK() || res.Witnessed != 5 {
		t.Fatalf("intact store: %+v", res)
	}
	cutTail(t, s, 2)
	if res, _ := s.Verify(); !res.OK() {
		t.Fatalf("the attack should leave a consistent chain, verify found %v", res.Problems)
	}
	res := verifyWith(t, s, witness)
	if res.OK() || len(res.Problems) != 2 {
		t.Fatalf("want two truncated records, got %v", res.Problems)
	}
	for i, p := range res.Problems {
		want := []string{"record 4 (create c0004", "record 5 (create c0005"}[i]
		if p.Kind != Truncated || !strings.Contains(p.Detail, want) || !strings.Contains(p.Detail, "store ends at record 3") {
			t.Errorf("problem %d: %s, want truncated %s", i, p, want)
		}
	}
}

func TestWitnessFindsRewrittenHead(t *testing.T) {
	s, witness := witnessedStore(t, 3)
	// Remove the last record and append a forged one in its place: the
	// chain links, but the record is not the one that was written.
	cutTail(t, s, 1)
	forged := testRecord(99)
	if _, err := s.Append(forged); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.Verify(); !res.OK() {
		t.Fatalf("forged head should chain, verify found %v", res.Problems)
	}
	res := verifyWith(t, s, witness)
	if len(res.Problems) != 1 || res.Problems[0].Kind != Rewritten || res.Problems[0].Seq != 3 ||
		!strings.Contains(res.Problems[0].Detail, "create c0003") {
		t.Fatalf("want record 3 rewritten, got %v", res.Problems)
	}
}

func TestWitnessLagIsAWarning(t *testing.T) {
	s, witness := witnessedStore(t, 2)
	if _, err := s.Append(testRecord(3)); err != nil { // its witness line was lost
		t.Fatal(err)
	}
	res := verifyWith(t, s, witness)
	if !res.OK() || len(res.Warnings) != 1 || res.Warnings[0].Kind != Unwitnessed {
		t.Fatalf("problems %v warnings %v", res.Problems, res.Warnings)
	}
}

func TestReadWitnessSkipsOtherStoresAndText(t *testing.T) {
	s, _ := witnessedStore(t, 1)
	mine := WitnessEntry{Host: hostname(), Store: s.Dir(), Seq: 7, Hash: "sha256:a", Verb: "create"}
	other := mine
	other.Store = "/elsewhere"
	text := "Nov 30 12:00:00 host sshd[1]: hello\n" +
		"Nov 30 12:00:01 host hardened-runc[42]: " + mine.Line() + "\n" +
		other.Line() + "\n" + WitnessMarker + "{not json\n"
	got, err := ReadWitness(strings.NewReader(text), s.Dir())
	if err != nil || len(got) != 1 || got[0].Seq != 7 {
		t.Fatalf("got %+v %v", got, err)
	}
}

// TestWitnessSyslog: the line sent to syslog is the one verify reads back.
func TestWitnessSyslog(t *testing.T) {
	sock, read := listenSyslog(t)
	e := WitnessEntry{Host: hostname(), Store: "/var/lib/hardened-runc/forensics", Seq: 3, Hash: "sha256:b", Time: time.Now().UTC(), Verb: "create", ID: "web"}
	if err := SendWitnessSyslog(sock, e); err != nil {
		t.Fatal(err)
	}
	msg := read()
	if !strings.HasPrefix(msg, "<85>") || !strings.Contains(msg, " hardened-runc[") {
		t.Fatalf("not a syslog line: %q", msg)
	}
	got, err := ReadWitness(strings.NewReader(msg), e.Store)
	if err != nil || len(got) != 1 || got[0].Hash != e.Hash || got[0].ID != "web" {
		t.Fatalf("read back %+v %v from %q", got, err, msg)
	}
	if err := SendWitnessSyslog(filepath.Join(t.TempDir(), "none"), e); err == nil {
		t.Fatal("no socket: want an error")
	}
}
