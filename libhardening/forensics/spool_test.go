package forensics

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// spoolLine is a line as cmd/hardened-runc/main.c writes it.
const spoolLine = "hardened-runc spool 1 id=0123456789abcdef0123456789abcdef time=1796000000.000000042" +
	" lower=/usr/sbin/runc argv=--root,/run/x%20y,kill,c%2c1,KILL," +
	" caller=40 caller-exe=/usr/bin/containerd-shim-runc-v2 caller-cmdline=shim,-id,%25x,," +
	" chain=40:containerd-shim:/usr/bin/containerd-shim-runc-v2,30:dockerd:/usr/sbin/dockerd,20:sh%20%28x%3a%29:/bin/sh,"

func TestParseSpoolLine(t *testing.T) {
	e, err := parseSpoolLine(spoolLine)
	if err != nil {
		t.Fatal(err)
	}
	want := spoolEntry{
		id: "0123456789abcdef0123456789abcdef", verb: "kill", container: "c,1", lower: "/usr/sbin/runc",
		time: time.Unix(1796000000, 42),
		argv: []string{"--root", "/run/x y", "kill", "c,1", "KILL"},
		caller: &Caller{PID: 40, Exe: "/usr/bin/containerd-shim-runc-v2", Cmdline: []string{"shim", "-id", "%x", ""},
			Manager: "containerd-shim", Ancestors: []string{"30:dockerd", "20:sh (x:)"}, ManagerExes: []string{"30:/usr/sbin/dockerd"}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("parsed\n%+v\n%+v, want\n%+v\n%+v", e, e.caller, want, want.caller)
	}

	for _, bad := range []struct{ name, line string }{
		{"no header", strings.TrimPrefix(spoolLine, "hardened-runc ")},
		{"unknown version", strings.Replace(spoolLine, "spool 1", "spool 2", 1)},
		{"field twice", spoolLine + " id=00"},
		{"field without =", spoolLine + " junk"},
		{"bad escape", strings.Replace(spoolLine, "%20y", "%2", 1)},
		{"unterminated list", strings.Replace(spoolLine, "KILL,", "KILL", 1)},
		{"bad time", strings.Replace(spoolLine, "time=1796000000.", "time=x.", 1)},
		{"bad caller", strings.Replace(spoolLine, "caller=40", "caller=x", 1)},
		{"bad chain item", strings.Replace(spoolLine, "40:containerd-shim:", "40-containerd-shim-", 1)},
		{"no argv", strings.Replace(spoolLine, "argv=--root,/run/x%20y,kill,c%2c1,KILL,", "argv=", 1)},
		{"no id", strings.Replace(spoolLine, "id=0123456789abcdef0123456789abcdef", "id=", 1)},
	} {
		if _, err := parseSpoolLine(bad.line); err == nil {
			t.Errorf("%s: parsed", bad.name)
		}
	}
}

// TestFold: an append puts the spooled lines on the chain in front of its
// own record, in one write, and empties the spool; an unreadable or torn
// line is kept as a record that quotes it; the chain verifies.
func TestFold(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 2)
	spool := filepath.Join(s.dir, spoolName)
	second := strings.Replace(spoolLine, "id=0123", "id=4567", 1)
	body := spoolLine + "\n" + second + "\nnot a spool line\n" + "hardened-runc spool 1 id=torn"
	if err := os.WriteFile(spool, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Append(testRecord(2))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Seq != 7 || len(rc.Folded) != 4 {
		t.Fatalf("receipt seq %d with %d folded, want seq 7 after 4 folded", rc.Seq, len(rc.Folded))
	}
	if data, err := os.ReadFile(spool); err != nil || len(data) != 0 {
		t.Errorf("spool after the fold: %q, %v; want it empty", data, err)
	}
	if v := mustVerify(t, s); !v.OK() {
		t.Fatalf("verify: %v", v.Problems)
	}
	var got []*Record
	if err := s.Records(Filter{}, func(r *Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("%d records, want 7", len(got))
	}
	if r := got[2]; r.Spool != "0123456789abcdef0123456789abcdef" || r.Verb != "kill" || r.ContainerID != "c,1" ||
		r.Caller == nil || r.Caller.Manager != "containerd-shim" || !r.Time.Equal(time.Unix(1796000000, 42)) {
		t.Errorf("first spooled record: %+v", r)
	}
	if got[3].Spool == "" || got[3].Spool == got[2].Spool {
		t.Errorf("second spooled record's id %q", got[3].Spool)
	}
	for i, want := range []string{"not a spool line", "id=torn"} {
		r := got[4+i]
		if r.Verb != "unknown" || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], want) {
			t.Errorf("unreadable line %d recorded as %+v", i, r)
		}
	}
	if got[6].ContainerID != testRecord(2).ContainerID {
		t.Errorf("the append's own record is not last: %+v", got[6])
	}

	// Nothing spooled: Fold appends nothing.
	if rc, err := s.Fold(); err != nil || rc.Seq != 0 || len(rc.Folded) != 0 {
		t.Errorf("Fold of an empty spool: %+v, %v", rc, err)
	}
	if v := mustVerify(t, s); !v.OK() || v.Records != 7 {
		t.Errorf("verify after an empty fold: %d records, %v", v.Records, v.Problems)
	}
	// Spooled, nothing else: Fold appends it.
	if err := os.WriteFile(spool, []byte(spoolLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rc, err := s.Fold(); err != nil || rc.Seq != 8 || len(rc.Folded) != 1 {
		t.Errorf("Fold: %+v, %v; want seq 8 with one folded", rc, err)
	}
}
