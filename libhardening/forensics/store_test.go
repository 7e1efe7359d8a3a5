package forensics

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// testRecord is a small but complete record.
func testRecord(i int) *Record {
	cfg := []byte(fmt.Sprintf(`{"ociVersion":"1.0.2","process":{"args":["sh","-c","echo %d"],"env":["PATH=/bin","DB_PASSWORD=hunter2"]},"root":{"path":"rootfs"}}`, i))
	return &Record{
		Schema:      SchemaVersion,
		Time:        time.Date(2026, 11, 22, 12, 0, 0, i, time.UTC),
		Verb:        "create",
		Argv:        []string{"hardened-runc", "create", "--bundle", "/b", fmt.Sprintf("c%04d", i)},
		ContainerID: fmt.Sprintf("c%04d", i),
		Bundle:      "/b",
		Profile:     &ProfileRef{Name: "default", Hash: "sha256:abc"},
		Decision:    Decision{Result: Allowed},
		Original:    &Document{Kind: "config.json", SHA256: "sha256:x", Content: cfg},
		Changes:     []modifier.Change{{Modifier: "rootfs", Path: "root.readonly", Before: false, After: true, Rule: "rootfs.readonly", Reason: "read-only rootfs"}},
	}
}

func fill(t testing.TB, s *Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Append(testRecord(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func mustVerify(t *testing.T, s *Store) *VerifyResult {
	t.Helper()
	v, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func onlyFile(t *testing.T, s *Store) string {
	t.Helper()
	files, err := s.recordFiles()
	if err != nil || len(files) != 1 {
		t.Fatalf("record files: %v %v", files, err)
	}
	return filepath.Join(s.dir, files[0])
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAppendVerify(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "forensics"), Options{})
	fill(t, s, 5)
	v := mustVerify(t, s)
	if !v.OK() || v.Records != 5 || v.FirstSeq != 1 || v.LastSeq != 5 || len(v.Warnings) != 0 {
		t.Fatalf("verify: %+v", v)
	}
	fi, err := os.Stat(s.dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode: %v %v", fi.Mode(), err)
	}
}

// TestTamper changes each kind of field of the middle record and checks that
// Verify names that record, with and without the attacker re-hashing it.
func TestTamper(t *testing.T) {
	edits := []struct{ name, from, to string }{
		{"seq", `"seq":3,`, `"seq":4,`},
		{"prev", `"prev":"sha256:`, `"prev":"sha256:0`},
		{"time", `"time":"2026-11-22T12:00:00.000000002Z"`, `"time":"2026-11-22T12:00:01.000000002Z"`},
		{"verb", `"verb":"create"`, `"verb":"delete"`},
		{"argv", `"c0002"]`, `"c9999"]`},
		{"container_id", `"container_id":"c0002"`, `"container_id":"c0003"`},
		{"bundle", `"bundle":"/b"`, `"bundle":"/x"`},
		{"profile", `"hash":"sha256:abc"`, `"hash":"sha256:abd"`},
		{"decision", `"result":"allowed"`, `"result":"denied"`},
		{"original", `echo 2`, `echo 3`},
		{"changes", `"after":true`, `"after":false`},
		{"hash", `"}`, `0"}`},
	}
	for _, e := range edits {
		for _, rehash := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/rehash=%v", e.name, rehash), func(t *testing.T) {
				s := New(t.TempDir(), Options{})
				fill(t, s, 5)
				path := onlyFile(t, s)
				lines := readLines(t, path)
				old := lines[2]
				lines[2] = bytes.Replace(old, []byte(e.from), []byte(e.to), 1)
				if bytes.Equal(old, lines[2]) {
					t.Fatalf("edit %q did not apply to %s", e.from, old)
				}
				if rehash && e.name != "hash" {
					lines[2] = rehashLine(t, lines[2])
				}
				writeLines(t, path, lines)
				v := mustVerify(t, s)
				if v.OK() {
					t.Fatalf("tampering not detected: %+v", v)
				}
				if p := v.Problems[0]; p.Line != 3 && p.Line != 4 {
					t.Fatalf("first problem at line %d, want 3 or 4: %v", p.Line, p)
				}
			})
		}
	}
}

// rehashLine recomputes a line's own hash, as an attacker with write access
// would; only the next record's link then shows the change.
func rehashLine(t *testing.T, line []byte) []byte {
	body := bytes.TrimSuffix(line, []byte("\n"))
	body = body[:len(body)-suffixLen]
	var r Record
	// Re-encode through the same path Append uses.
	if err := jsonUnmarshal(append(append([]byte{}, body...), '}'), &r); err != nil {
		t.Fatal(err)
	}
	out, _, err := encodeLine(&r, r.Seq, r.Prev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeleteSwapTruncate(t *testing.T) {
	tests := []struct {
		name string
		edit func([][]byte) [][]byte
		kind string
	}{
		{"delete middle", func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) }, Removed},
		{"delete first", func(l [][]byte) [][]byte { return l[1:] }, Removed},
		{"delete last", func(l [][]byte) [][]byte { return l[:4] }, Truncated},
		{"swap", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, Reordered},
		{"duplicate", func(l [][]byte) [][]byte { return append(l[:3:3], l[2:]...) }, Reordered},
		{"truncate mid-record", func(l [][]byte) [][]byte { l[4] = l[4][:len(l[4])/2]; return l }, Truncated},
		{"truncate to empty", func(l [][]byte) [][]byte { return nil }, Truncated},
		{"garbage line", func(l [][]byte) [][]byte { l[2] = []byte("hello\n"); return l }, Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t.TempDir(), Options{})
			fill(t, s, 5)
			path := onlyFile(t, s)
			writeLines(t, path, tt.edit(readLines(t, path)))
			v := mustVerify(t, s)
			if v.OK() {
				t.Fatalf("not detected: %+v", v)
			}
			if v.Problems[0].Kind != tt.kind {
				t.Fatalf("first problem %v, want kind %s", v.Problems, tt.kind)
			}
		})
	}
}

func TestTornLineRepaired(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 3)
	path := onlyFile(t, s)
	// A crash in the middle of the fourth write: half a line, head not
	// updated.
	line, _, err := encodeLine(testRecord(3), 4, "sha256:whatever")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line[:len(line)/2])
	f.Close()

	v := mustVerify(t, s)
	if !v.OK() || len(v.Warnings) != 1 || v.Warnings[0].Kind != Torn {
		t.Fatalf("torn tail: want one warning and no problem: %+v", v)
	}
	rc, err := s.Append(testRecord(4))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Seq != 4 || len(rc.Warnings) == 0 {
		t.Fatalf("receipt %+v", rc)
	}
	v = mustVerify(t, s)
	if !v.OK() || v.Records != 4 || len(v.Warnings) != 0 {
		t.Fatalf("after repair: %+v", v)
	}
	lines := readLines(t, path)
	if !bytes.Contains(lines[3], []byte(`"torn_bytes":`)) {
		t.Fatalf("repair not on the chain: %s", lines[3])
	}
}

// TestHeadLagging: the record reached the disk but the head did not (crash
// between the two); the next append must continue after that record.
func TestHeadLagging(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 2)
	lock, err := os.OpenFile(filepath.Join(s.dir, lockName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := readHead(lock)
	fill(t, s, 1)
	writeHead(lock, saved)
	lock.Close()
	rc, err := s.Append(testRecord(9))
	if err != nil || rc.Seq != 4 {
		t.Fatalf("append after lagging head: %+v %v", rc, err)
	}
	if v := mustVerify(t, s); !v.OK() || v.Records != 4 {
		t.Fatalf("verify: %+v", v)
	}
}

// TestRemovedRecordsStayVisible: records cut from the end are not
// papered over by the next append.
func TestRemovedRecordsStayVisible(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 5)
	path := onlyFile(t, s)
	writeLines(t, path, readLines(t, path)[:3])
	rc, err := s.Append(testRecord(5))
	if err != nil || rc.Seq != 6 {
		t.Fatalf("append: %+v %v", rc, err)
	}
	v := mustVerify(t, s)
	if v.OK() || v.Problems[0].Kind != Removed {
		t.Fatalf("gap not reported: %+v", v)
	}
}

func TestRotationRetention(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	s := New(t.TempDir(), Options{MaxFileSize: 4 << 10, MaxTotal: 16 << 10, Now: func() time.Time { return now }})
	fill(t, s, 200)
	files, _ := s.recordFiles()
	if len(files) < 3 {
		t.Fatalf("no rotation: %v", files)
	}
	v := mustVerify(t, s)
	if !v.OK() || v.LastSeq != 200 || v.Anchor == nil {
		t.Fatalf("verify after retention: %+v", v)
	}
	var total int64
	for _, f := range files {
		fi, _ := os.Stat(filepath.Join(s.dir, f))
		total += fi.Size()
	}
	if total > 16<<10+4<<10 {
		t.Fatalf("retention kept %d bytes", total)
	}
	// Removing the oldest file outside retention is caught.
	os.Remove(filepath.Join(s.dir, files[0]))
	if v := mustVerify(t, s); v.OK() {
		t.Fatalf("removed file not detected: %+v", v)
	}
}

func TestRetentionByAge(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	s := New(t.TempDir(), Options{MaxFileSize: 4 << 10, MaxAge: time.Hour, Now: func() time.Time { return now }})
	fill(t, s, 20)
	files, _ := s.recordFiles()
	old := now.Add(-2 * time.Hour)
	for _, f := range files {
		os.Chtimes(filepath.Join(s.dir, f), old, old)
	}
	fill(t, s, 20)
	after, _ := s.recordFiles()
	if after[0] == files[0] {
		t.Fatalf("old files kept: %v", after)
	}
	if v := mustVerify(t, s); !v.OK() || v.Anchor == nil || v.Anchor.Reason == "" {
		t.Fatalf("verify: %+v", v)
	}
}

func TestConcurrentAppends(t *testing.T) {
	s := New(t.TempDir(), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Each goroutine has its own Store, as each runtime process does.
			if _, err := New(s.dir, Options{}).Append(testRecord(i)); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v := mustVerify(t, s)
	if !v.OK() || v.Records != 50 {
		t.Fatalf("verify: %+v", v)
	}
	ids := map[string]bool{}
	err := s.Records(Filter{}, func(r *Record) error { ids[r.ContainerID] = true; return nil })
	if err != nil || len(ids) != 50 {
		t.Fatalf("records: %d distinct ids, %v", len(ids), err)
	}
}

const envHelper = "FORENSICS_TEST_APPEND_DIR"

// TestConcurrentProcesses re-executes the test binary: five processes
// append ten records each, as concurrent runtime invocations do.
func TestConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv(envHelper); dir != "" {
		t.Skip("helper mode")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outs := make([]string, 5)
	errs := make([]error, 5)
	for p := 0; p < 5; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			cmd := execCommand(exe, "-test.run=^TestAppendHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), envHelper+"="+dir, fmt.Sprintf("FORENSICS_TEST_BASE=%d", p*10))
			out, err := cmd.CombinedOutput()
			outs[p], errs[p] = string(out), err
		}(p)
	}
	wg.Wait()
	for p := range errs {
		if errs[p] != nil {
			t.Fatalf("process %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	v := mustVerify(t, New(dir, Options{}))
	if !v.OK() || v.Records != 50 {
		t.Fatalf("verify: %+v", v)
	}
}

func TestAppendHelper(t *testing.T) {
	dir := os.Getenv(envHelper)
	if dir == "" {
		t.Skip("only run by TestConcurrentProcesses")
	}
	var base int
	fmt.Sscan(os.Getenv("FORENSICS_TEST_BASE"), &base)
	s := New(dir, Options{})
	for i := base; i < base+10; i++ {
		if _, err := s.Append(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFullDisk mounts a tiny tmpfs as the store and fills it.
func TestFullDisk(t *testing.T) {
	dir := smallTmpfs(t, "64k")
	s := New(dir, Options{})
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		_, err = s.Append(testRecord(i))
	}
	var ae *AppendError
	if !errors.As(err, &ae) || !NoSpace(err) {
		t.Fatalf("full disk: got %v, want *AppendError with ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("message: %v", err)
	}
	v := mustVerify(t, s)
	if !v.OK() || len(v.Warnings) != 0 {
		t.Fatalf("failed append left the store damaged: %+v", v)
	}
	d := FailureDenial(nil, dir, err)
	if !strings.Contains(d.Error(), "no record, no launch") || !strings.Contains(d.Error(), "free space") {
		t.Fatalf("denial: %v", d)
	}
}

// TestGarbageTailWithoutHead: something appended a non-record line and the
// head is gone; Append continues after the last record instead of failing
// every launch, and Verify still reports the garbage.
func TestGarbageTailWithoutHead(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 3)
	path := onlyFile(t, s)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("not a record\n")
	f.Close()
	os.Remove(filepath.Join(s.dir, lockName))
	rc, err := s.Append(testRecord(3))
	if err != nil || rc.Seq != 4 {
		t.Fatalf("append: %+v %v", rc, err)
	}
	v := mustVerify(t, s)
	if v.OK() || v.Problems[0].Kind != Malformed || v.LastSeq != 4 {
		t.Fatalf("verify: %+v", v)
	}
}
