//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// forensicRecord is the part of a stored record these tests read.
type forensicRecord struct {
	Seq         uint64   `json:"seq"`
	Verb        string   `json:"verb"`
	Argv        []string `json:"argv"`
	ContainerID string   `json:"container_id"`
	// Spool is set on a record the C fast path spooled.
	Spool    string `json:"spool"`
	Decision struct {
		Result string `json:"result"`
		Rule   string `json:"rule"`
	} `json:"decision"`
	Profile *struct {
		Name string `json:"name"`
		Hash string `json:"hash"`
	} `json:"profile"`
	Original *struct {
		SHA256  string          `json:"sha256"`
		Content json.RawMessage `json:"content"`
	} `json:"original"`
	Hardened *struct {
		SHA256  string          `json:"sha256"`
		Content json.RawMessage `json:"content"`
	} `json:"hardened"`
	Repair *struct {
		TornBytes int64 `json:"torn_bytes"`
	} `json:"repair"`
}

type verifyOutput struct {
	Records  uint64            `json:"records"`
	LastSeq  uint64            `json:"last_seq"`
	Problems []json.RawMessage `json:"problems"`
	Warnings []json.RawMessage `json:"warnings"`
}

// forensicsVerify runs `hardenctl forensics verify` on h's store.
func forensicsVerify(t *testing.T, h *Harness, l Lower) (verifyOutput, Result) {
	t.Helper()
	r := h.hardenctl(t, l, "forensics", "verify", "--dir", h.Forensics, "--output", "json")
	var v verifyOutput
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatalf("forensics verify output: %v\n%s", err, r)
	}
	return v, r
}

// forensicsShow returns every record of one container, newest first.
func forensicsShow(t *testing.T, h *Harness, l Lower, id string) []forensicRecord {
	t.Helper()
	r := h.hardenctl(t, l, "forensics", "show", id, "--dir", h.Forensics, "--output", "json")
	if r.Code != 0 {
		t.Fatalf("forensics show %s: %s", id, r)
	}
	var recs []forensicRecord
	if err := json.Unmarshal([]byte(r.Stdout), &recs); err != nil {
		t.Fatalf("forensics show output: %v\n%s", err, r.Stdout)
	}
	return recs
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// launch runs argv in a new container in the foreground and returns the
// result with the config.json bytes as written before the launch.
func launch(t *testing.T, h *Harness, l Lower, profile string, argv ...string) (Result, []byte) {
	t.Helper()
	bundle, id := h.newBundle(l, nil, argv...)
	orig, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := h.hardenedRuncProfile(t, l, profile, "--root", h.StateRoot, "run", "--bundle", bundle, id)
	r.Bundle, r.ID = bundle, id
	h.hardenedRuncProfile(t, l, profile, "--root", h.StateRoot, "delete", "--force", id)
	return r, orig
}

// TestForensicsConcurrentLaunches: 50 launches at once, through both lower
// runtimes, leave 50 intact run records on one valid chain, and each record
// holds exactly the spec the container ran with.
func TestForensicsConcurrentLaunches(t *testing.T) {
	h := newHarness(t)
	const n = 50
	type launched struct {
		r    Result
		orig []byte
		l    Lower
		cfg  string
	}
	res := make([]launched, n)
	// Bundles and config files are made first, one at a time: only the
	// launches themselves run concurrently.
	for i := range res {
		l := lowers(t)[i%len(lowers(t))]
		bundle, id := h.newBundle(l, nil, "sh", "-c", "grep -E '^(NoNewPrivs|CapEff):' /proc/self/status")
		orig, err := os.ReadFile(filepath.Join(bundle, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		res[i] = launched{r: Result{Bundle: bundle, ID: id}, orig: orig, l: l, cfg: h.configFor(l, "default")}
	}
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		go func(x *launched) {
			defer wg.Done()
			r := runCmd(t, 2*time.Minute, []string{"HARDENED_RUNC_CONFIG=" + x.cfg}, nil, filepath.Join(env.bin, "hardened-runc"),
				"--root", h.StateRoot, "run", "--bundle", x.r.Bundle, x.r.ID)
			r.Bundle, r.ID = x.r.Bundle, x.r.ID
			x.r = r
		}(&res[i])
	}
	wg.Wait()
	for _, x := range res {
		h.hardenedRunc(t, x.l, "--root", h.StateRoot, "delete", "--force", x.r.ID)
	}
	l0 := lowers(t)[0]
	for i, x := range res {
		if x.r.Code != 0 {
			t.Fatalf("launch %d (%s): %s", i, x.l.Name, x.r)
		}
	}
	v, vr := forensicsVerify(t, h, l0)
	if vr.Code != 0 || len(v.Problems) != 0 || len(v.Warnings) != 0 {
		t.Fatalf("verify after concurrent launches: %s", vr)
	}
	lr := h.hardenctl(t, l0, "forensics", "list", "--dir", h.Forensics, "--verb", "run", "--output", "json")
	var runs []forensicRecord
	if err := json.Unmarshal([]byte(lr.Stdout), &runs); err != nil || len(runs) != n {
		t.Fatalf("want %d run records, got %d: %v\n%s", n, len(runs), err, lr)
	}
	for _, x := range res {
		recs := forensicsShow(t, h, l0, x.r.ID)
		if len(recs) < 2 || recs[0].Verb != "delete" || recs[len(recs)-1].Verb != "run" {
			t.Fatalf("%s: want run ... delete, newest first: %+v", x.r.ID, recs)
		}
		run := recs[len(recs)-1]
		hardened, err := os.ReadFile(filepath.Join(x.r.Bundle, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if run.Decision.Result != "allowed" || run.Original == nil || run.Original.SHA256 != sha256Hex(x.orig) ||
			run.Hardened == nil || run.Hardened.SHA256 != sha256Hex(hardened) {
			t.Fatalf("%s: record does not hold the specs as received and as run: %+v", x.r.ID, run)
		}
		// What the record says was launched is what ran inside.
		var s specs.Spec
		if err := json.Unmarshal(run.Hardened.Content, &s); err != nil {
			t.Fatal(err)
		}
		wantNNP := "0"
		if s.Process.NoNewPrivileges {
			wantNNP = "1"
		}
		if got := statusField(x.r.Stdout, "NoNewPrivs"); got != wantNNP {
			t.Errorf("%s: NoNewPrivs inside = %q, record says noNewPrivileges=%v", x.r.ID, got, s.Process.NoNewPrivileges)
		}
		if got := statusField(x.r.Stdout, "CapEff"); got != capHex(s.Process.Capabilities.Effective) {
			t.Errorf("%s: CapEff inside = %s, record says %v", x.r.ID, got, s.Process.Capabilities.Effective)
		}
	}
	d := h.hardenctl(t, l0, "forensics", "diff", res[0].r.ID, "--dir", h.Forensics)
	if d.Code != 0 || !strings.Contains(d.Stdout, "+++ hardened") || !strings.Contains(d.Stdout, `"readonly": true`) {
		t.Errorf("forensics diff: %s", d)
	}
}

// capHex is /proc/self/status's rendering of a capability set.
func capHex(names []string) string {
	numbers := map[string]uint{"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
		"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10,
		"CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16,
		"CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22,
		"CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
		"CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31}
	var m uint64
	for _, n := range names {
		if b, ok := numbers[n]; ok {
			m |= 1 << b
		}
	}
	return fmt.Sprintf("%016x", m)
}

// TestForensicsFullDisk: with the forensics directory on a full tmpfs, a
// fail-closed profile denies the launch with a clear message and the
// container never runs; a fail-open profile launches it.
func TestForensicsFullDisk(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		if err := os.MkdirAll(h.Forensics, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", h.Forensics, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
			t.Skipf("cannot mount a tmpfs for the full-disk case: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(h.Forensics, syscall.MNT_DETACH) })
		// Fill it: what is left is less than one record.
		_ = exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(h.Forensics, "filler"), "bs=1k").Run()

		h.writeProfile("closed", "extends = \"default\"\n[forensics]\non_failure = \"fail-closed\"\n")
		h.writeProfile("open", "extends = \"default\"\n[forensics]\non_failure = \"fail-open\"\n")
		const marker = "container-ran"
		r, _ := launch(t, h, l, "closed", "echo", marker)
		if r.Code == 0 || strings.Contains(r.Stdout, marker) {
			t.Fatalf("fail-closed launched without a record: %s", r)
		}
		for _, want := range []string{"no record, no launch", "no space left on device", "fail-open"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("fail-closed message lacks %q: %s", want, r.Stderr)
			}
		}
		r, _ = launch(t, h, l, "open", "echo", marker)
		if r.Code != 0 || !strings.Contains(r.Stdout, marker) {
			t.Fatalf("fail-open did not launch: %s", r)
		}
	})
}

// TestForensicsKillMidAppend: hardened-runc processes SIGKILLed at random
// points of their launch never damage the chain beyond one torn last line,
// and the next launch repairs that without losing a record.
func TestForensicsKillMidAppend(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		if r, _ := launch(t, h, l, "default", "true"); r.Code != 0 {
			t.Fatalf("first launch: %s", r)
		}
		var ids []string
		var wg sync.WaitGroup
		var mu sync.Mutex
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		cfg := h.configFor(l, "default")
		for i := 0; i < 20; i++ {
			bundle, id := h.newBundle(l, nil, "true")
			ids = append(ids, id)
			delay := time.Duration(rng.Intn(40)) * time.Millisecond
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(filepath.Join(env.bin, "hardened-runc"), "--root", h.StateRoot, "run", "--bundle", bundle, id)
				cmd.Env = append(os.Environ(), "HARDENED_RUNC_CONFIG="+cfg)
				mu.Lock()
				err := cmd.Start()
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
			}()
		}
		wg.Wait()
		t.Cleanup(func() {
			for _, id := range ids {
				h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
			}
		})
		v, vr := forensicsVerify(t, h, l)
		if len(v.Problems) != 0 {
			t.Fatalf("kill -9 storm damaged the chain: %s", vr)
		}
		before := v.LastSeq

		// The worst case, made certain: a writer killed inside its
		// write(2) leaves half a record behind.
		tearLastFile(t, h.Forensics)
		if v, vr := forensicsVerify(t, h, l); len(v.Problems) != 0 || len(v.Warnings) != 1 {
			t.Fatalf("torn tail: want one warning and no problem: %s", vr)
		}
		r, _ := launch(t, h, l, "default", "true")
		if r.Code != 0 {
			t.Fatalf("launch after a torn record: %s", r)
		}
		v, vr = forensicsVerify(t, h, l)
		if vr.Code != 0 || len(v.Problems) != 0 || len(v.Warnings) != 0 || v.LastSeq < before+2 {
			t.Fatalf("after repair (last seq before %d): %s", before, vr)
		}
		recs := forensicsShow(t, h, l, r.ID)
		if run := recs[len(recs)-1]; run.Repair == nil || run.Repair.TornBytes == 0 {
			t.Errorf("the repair is not on the chain: %+v", run)
		}
	})
}

// tearLastFile appends half of a record to the newest record file.
func tearLastFile(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "records-*.ndjson"))
	if len(files) == 0 {
		t.Fatal("no record file")
	}
	last := files[len(files)-1]
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	half := lines[len(lines)-1][:len(lines[len(lines)-1])/2]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(half); err != nil {
		t.Fatal(err)
	}
}

// TestForensicsDrift: a container launched under a profile that has changed
// since is reported with the setting that changed.
func TestForensicsDrift(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		h.writeProfile("drifting", "extends = \"default\"\n[forensics]\nredact = [\"*PASSWORD*\"]\n")
		bundle, id := h.newBundle(l, nil, "sleep", "300")
		hr := func(args ...string) Result {
			return h.hardenedRuncProfile(t, l, "drifting", append([]string{"--root", h.StateRoot}, args...)...)
		}
		if r := hr("create", "--bundle", bundle, id); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		t.Cleanup(func() { hr("delete", "--force", id) })
		if r := hr("start", id); r.Code != 0 {
			t.Fatalf("start: %s", r)
		}
		drift := func() []map[string]any {
			r := h.hardenctl(t, l, "forensics", "drift", "--dir", h.Forensics, "--root", h.StateRoot, "--output", "json")
			var out []map[string]any
			if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &out) != nil {
				t.Fatalf("forensics drift: %s", r)
			}
			return out
		}
		if d := drift(); len(d) != 0 {
			t.Fatalf("no drift expected yet: %v", d)
		}
		h.writeProfile("drifting", "extends = \"default\"\n[forensics]\nredact = [\"*PASSWORD*\", \"*TOKEN*\"]\n")
		d := drift()
		if len(d) != 1 || d[0]["id"] != id || !strings.Contains(fmt.Sprint(d[0]["differences"]), `forensics.redact: ["*PASSWORD*"] -> ["*PASSWORD*","*TOKEN*"]`) {
			t.Fatalf("drift: %v", d)
		}
	})
}

// TestForensicsWitness is bypass #11, first half: whoever can write the
// store (a container that reached it, root on the host) removes the newest
// records and rewrites the head, and the chain alone looks intact. The
// witness lines written to a file and to syslog still name the records
// that are gone, and verify fails.
func TestForensicsWitness(t *testing.T) {
	h := newHarness(t)
	l := lowers(t)[0]
	witness := filepath.Join(h.Dir, "witness")
	syslogged := filepath.Join(h.Dir, "syslog")
	sock := filepath.Join(h.Dir, "log.sock")
	stop := captureSyslog(t, sock, syslogged)
	h.setConfig(fmt.Sprintf("[forensics_witness]\nfile = %q\nsyslog = true\nsyslog_socket = %q\n", witness, sock))

	var ids []string
	for range 3 {
		r, _ := launch(t, h, l, "default", "true")
		if r.Code != 0 {
			t.Fatalf("launch: %s", r)
		}
		ids = append(ids, r.ID)
	}
	stop()
	if v, r := forensicsVerify(t, h, l); r.Code != 0 || len(v.Problems) != 0 || !strings.Contains(h.hardenctl(t, l, "forensics", "verify").Stdout, "witness: 6 lines") {
		t.Fatalf("intact store with its witness: %s", r)
	}

	// The attack: the last container's run and delete records go, and the
	// head is rewritten to the record before them.
	removeNewest(t, h.Forensics, 2)
	plain := filepath.Join(h.Dir, "no-witness.toml")
	if err := os.WriteFile(plain, []byte(fmt.Sprintf("forensics_dir = %q\n", h.Forensics)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, time.Minute, []string{"HARDENED_RUNC_CONFIG=" + plain}, nil, filepath.Join(env.bin, "hardenctl"), "forensics", "verify")
	if r.Code != 0 || !strings.Contains(r.Stdout, "chain intact") {
		t.Fatalf("without a witness the attack should go unseen (that is the bypass), got: %s", r)
	}
	for _, src := range []string{"", witness, syslogged} {
		args := []string{"forensics", "verify"}
		if src != "" {
			args = append(args, "--witness", src)
		}
		r := h.hardenctl(t, l, args...)
		if r.Code != 1 {
			t.Errorf("verify %v: exit %d, want 1: %s", args, r.Code, r)
			continue
		}
		for _, want := range []string{"PROBLEM truncated: record 5 (run " + ids[2], "PROBLEM truncated: record 6 (delete " + ids[2], "the store ends at record 4"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("verify %v does not say %q:\n%s", args, want, r.Stdout)
			}
		}
	}
}

// captureSyslog listens on a unix datagram socket as journald or a syslog
// daemon would and appends every message to out, until stop is called.
func captureSyslog(t *testing.T, sock, out string) (stop func()) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			f.Write(append(buf[:n:n], '\n'))
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			// Let the last datagrams in, then close.
			conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			<-done
			conn.Close()
			f.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// removeNewest cuts the last n records from the store's newest file and
// rewrites the head (LOCK) to the record before them, as an attacker with
// write access to the store would, so the chain is consistent again.
func removeNewest(t *testing.T, dir string, n int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "records-*.ndjson"))
	if len(files) == 0 {
		t.Fatal("no record files")
	}
	last := files[len(files)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1] // the empty string after the final newline
	if len(lines) <= n {
		t.Fatalf("only %d records in %s", len(lines), last)
	}
	keep := strings.Join(lines[:len(lines)-n], "")
	var rec struct {
		Seq  uint64 `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-n-1]), &rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(last, []byte(keep), 0o600); err != nil {
		t.Fatal(err)
	}
	head, _ := json.Marshal(map[string]any{"file": filepath.Base(last), "seq": rec.Seq, "hash": rec.Hash, "size": len(keep)})
	if err := os.WriteFile(filepath.Join(dir, "LOCK"), append(head, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}
