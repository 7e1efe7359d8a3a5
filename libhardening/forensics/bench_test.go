package forensics

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// benchRecord is the size of a real launch: runc's default spec as received,
// a hardened version of it and ten changes (about 7 KB on disk).
func benchRecord(tb testing.TB, i int) *Record {
	tb.Helper()
	orig, err := os.ReadFile("testdata/runc-spec.json")
	if err != nil {
		tb.Fatal(err)
	}
	hard := strings.Replace(string(orig), `"readonly": true`, `"readonly": true, "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]`, 1)
	hard = strings.Replace(hard, `"noNewPrivileges": true`, `"noNewPrivileges": true, "apparmorProfile": "hardened-runc-default"`, 1)
	var changes []modifier.Change
	for c := 0; c < 10; c++ {
		changes = append(changes, modifier.Change{Modifier: "capabilities", Path: "process.capabilities.bounding", Before: []string{"CAP_NET_RAW"}, After: []string{}, Rule: "capabilities.allow", Reason: "not in the allow list", Control: "CIS Docker 5.3"})
	}
	r := testRecord(i)
	r.ContainerID = fmt.Sprintf("c%06d", i)
	r.Original = &Document{Kind: "config.json", SHA256: "sha256:" + strings.Repeat("a", 64), Size: len(orig), Content: compactJSON(tb, orig)}
	r.Hardened = &Document{Kind: "config.json", SHA256: "sha256:" + strings.Repeat("b", 64), Size: len(hard), Content: compactJSON(tb, []byte(hard))}
	r.Changes = changes
	r.Host = ReadHostFacts("/proc", "/sys")
	r.Caller = &Caller{PID: 1234, Exe: "/usr/bin/containerd-shim-runc-v2", Cmdline: []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", r.ContainerID}, Manager: "containerd-shim"}
	return r
}

func compactJSON(tb testing.TB, b []byte) []byte {
	c, _, err := compact(b)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// prefill writes n records straight into a store (no per-record sync), as
// if Append had been called n times.
func prefill(tb testing.TB, dir string, n int) *Store {
	tb.Helper()
	s := New(dir, Options{})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	var h head
	var f *os.File
	var w *bufio.Writer
	closeFile := func() {
		if f != nil {
			w.Flush()
			f.Close()
		}
	}
	for i := 0; i < n; i++ {
		line, hash, err := encodeLine(benchRecord(tb, i), h.Seq+1, h.Hash)
		if err != nil {
			tb.Fatal(err)
		}
		if f == nil || h.Size+int64(len(line)) > s.opts.MaxFileSize {
			closeFile()
			h.File, h.Size = recordFileName(h.Seq+1), 0
			if f, err = os.Create(filepath.Join(dir, h.File)); err != nil {
				tb.Fatal(err)
			}
			w = bufio.NewWriterSize(f, 1<<20)
		}
		w.Write(line)
		h.Seq, h.Hash, h.Size = h.Seq+1, hash, h.Size+int64(len(line))
	}
	closeFile()
	if n > 0 {
		lock, err := os.Create(filepath.Join(dir, lockName))
		if err != nil {
			tb.Fatal(err)
		}
		writeHead(lock, h)
		lock.Close()
	}
	return s
}

func benchAppend(b *testing.B, stored int) {
	s := prefill(b, b.TempDir(), stored)
	rec := benchRecord(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend0(b *testing.B)    { benchAppend(b, 0) }
func BenchmarkAppend10k(b *testing.B)  { benchAppend(b, 10_000) }
func BenchmarkAppend100k(b *testing.B) { benchAppend(b, 100_000) }

func BenchmarkVerify100k(b *testing.B) {
	s := prefill(b, b.TempDir(), 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := s.Verify()
		if err != nil || !v.OK() || v.Records != 100_000 {
			b.Fatalf("%v %+v", err, v)
		}
	}
}

func BenchmarkListFilter100k(b *testing.B) {
	s := prefill(b, b.TempDir(), 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := s.Summaries(Filter{IDPrefix: "c0009"}, func(*Record) error { n++; return nil }); err != nil || n != 100 {
			b.Fatalf("%v: %d matches", err, n)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	orig, _ := os.ReadFile("testdata/runc-spec.json")
	p := testProfile("enforce")
	for i := 0; i < b.N; i++ {
		if _, err := Build(Input{Verb: "create", ContainerID: "x", DocumentKind: "config.json", Original: orig, Hardened: orig, Profile: p}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostFacts(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ReadHostFacts("/proc", "/sys")
	}
}

// TestBenchTable measures what BENCHMARKS.md reports and writes it as a
// markdown table to $BENCH_OUT (`make bench`). It is skipped otherwise: it
// writes about 700 MB.
func TestBenchTable(t *testing.T) {
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		t.Skip("set BENCH_OUT=FILE to measure the forensics store (writes ~700 MB under $TMPDIR)")
	}
	var rows []string
	row := func(what, value, target string) {
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |", what, value, target))
	}
	rec := benchRecord(t, 0)
	line, _, _ := encodeLine(rec, 1, "")
	row("record size on disk (runc default spec, original + hardened, 10 changes)", fmt.Sprintf("%d bytes", len(line)), "")
	// The three stores are appended to in turn, so a busy machine slows
	// all three alike and only the store's size differs between them.
	sizes := []int{0, 10_000, 100_000}
	stores := make([]*Store, len(sizes))
	for i, n := range sizes {
		stores[i] = prefill(t, filepath.Join(t.TempDir(), "s"), n)
	}
	unix.Sync() // the prefill's writeback must not be billed to Append
	costs := appendCosts(t, stores, rec, 200)
	for i, n := range sizes {
		row(fmt.Sprintf("append (flock + write + fdatasync), %d records stored", n), costs[i], "< 1 ms, flat")
	}
	med, p90 := syncFloor(t, len(line), 200)
	row("floor: write + fdatasync of one record on the same file system", fmt.Sprintf("median %s, p90 %s", med, p90), "")
	s := stores[2]
	start := time.Now()
	v, err := s.Verify()
	took := time.Since(start)
	if err != nil || !v.OK() {
		t.Fatalf("verify: %v %+v", err, v)
	}
	row("verify, 100k records", fmt.Sprintf("%s (%.0f records/s)", took.Round(time.Millisecond), float64(v.Records)/took.Seconds()), "< 2 s")
	for _, f := range []struct {
		name string
		flt  Filter
	}{{"--id c0009 (100 matches)", Filter{IDPrefix: "c0009"}}, {"--verb create (all match)", Filter{Verbs: []string{"create"}}}} {
		start = time.Now()
		n := 0
		if err := s.Summaries(f.flt, func(*Record) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		row(fmt.Sprintf("list %s, 100k records", f.name), fmt.Sprintf("%s (%d records)", time.Since(start).Round(time.Millisecond), n), "")
	}
	res := testing.Benchmark(BenchmarkBuild)
	row("build a record (hash, redact, caller, host facts)", fmt.Sprintf("%.1f µs", float64(res.NsPerOp())/1e3), "")
	res = testing.Benchmark(BenchmarkHostFacts)
	row("read host facts", fmt.Sprintf("%.1f µs", float64(res.NsPerOp())/1e3), "< 0.2 ms (else cache)")
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		row("load average at the end of the run (the numbers scale with it)", strings.Join(strings.Fields(string(load))[:3], " "), "")
	}
	table := "| forensics | measured | target |\n|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table)
}

// appendCosts times n rounds of one append to each store and returns the
// median and p90 for each.
func appendCosts(t *testing.T, stores []*Store, rec *Record, n int) []string {
	d := make([][]time.Duration, len(stores))
	for round := 0; round < n; round++ {
		for i, s := range stores {
			start := time.Now()
			if _, err := s.Append(rec); err != nil {
				t.Fatal(err)
			}
			d[i] = append(d[i], time.Since(start))
		}
	}
	out := make([]string, len(stores))
	for i := range d {
		med, p90 := percentiles(d[i])
		out[i] = fmt.Sprintf("median %s, p90 %s", med, p90)
	}
	return out
}

func percentiles(d []time.Duration) (time.Duration, time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2].Round(time.Microsecond), d[len(d)*9/10].Round(time.Microsecond)
}

// syncFloor times a bare append + fdatasync of size bytes: what any durable
// record costs on this disk, whatever the store does around it.
func syncFloor(t *testing.T, size, n int) (time.Duration, time.Duration) {
	f, err := os.Create(filepath.Join(t.TempDir(), "floor"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, size)
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		f.Write(buf)
		unix.Fdatasync(int(f.Fd()))
		d[i] = time.Since(start)
	}
	return percentiles(d)
}

// TestWriteSampleStore fills $FORENSICS_SAMPLE_DIR with a few records
// through Build and Append, for trying `hardenctl forensics` by hand.
func TestWriteSampleStore(t *testing.T) {
	dir := os.Getenv("FORENSICS_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set FORENSICS_SAMPLE_DIR to write a sample store")
	}
	orig, err := os.ReadFile("testdata/cri-config.json")
	if err != nil {
		t.Fatal(err)
	}
	hard := strings.Replace(string(orig), `"root": {"path": "rootfs"}`, `"root": {"path": "rootfs", "readonly": true}`, 1)
	s := New(dir, Options{})
	for i, verb := range []string{"create", "start", "exec", "kill", "delete"} {
		in := Input{Verb: verb, Argv: []string{"hardened-runc", verb, "web1"}, ContainerID: "web1", Profile: testProfile("enforce")}
		if verb == "create" {
			in.DocumentKind, in.Original, in.Hardened = "config.json", orig, []byte(hard)
			in.Changes = []modifier.Change{{Modifier: "rootfs", Path: "root.readonly", Before: false, After: true, Rule: "rootfs.readonly", Reason: "read-only rootfs"}}
		}
		in.Time = time.Date(2026, 11, 22, 12, 0, i, 0, time.UTC)
		r, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}
