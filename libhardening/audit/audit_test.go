package audit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNoteRoundTrip(t *testing.T) {
	for _, f := range []Finding{
		{Control: RootfsReadonly, What: "/var/lib/nginx/body", Detail: "created directory"},
		{Control: SeccompStrict, What: "vmsplice", Detail: "comm haproxy, exe /usr/sbin/haproxy, 2 reported"},
		{Control: RootfsReadonly, What: "/odd (name)"},
	} {
		got, ok := ParseNote(f.Note())
		if !ok || got != f && !(f.Detail == "" && got.What+" ("+got.Detail+")" == f.What) {
			t.Errorf("%q parsed as %+v", f.Note(), got)
		}
	}
	for _, n := range []string{"seccomp: generated profile", "audit finding : x", "audit finding seccomp.strict: "} {
		if _, ok := ParseNote(n); ok {
			t.Errorf("%q parsed as a finding", n)
		}
	}
	if d := (Finding{Control: RootfsReadonly, What: "/var/lib/nginx/body"}).WritableDir(); d != "/var/lib/nginx" {
		t.Errorf("writable dir %q", d)
	}
}

func TestLayerWrites(t *testing.T) {
	dir := t.TempDir()
	lower, upper := filepath.Join(dir, "lower"), filepath.Join(dir, "upper")
	for _, d := range []string{"lower/var/lib/nginx", "lower/etc", "lower/data", "upper/var/lib/nginx/body/00", "upper/etc", "upper/data/x", "upper/run/secrets"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"lower/etc/passwd", "upper/etc/passwd", "upper/etc/new.conf", "upper/var/lib/nginx/body/00/f", "upper/data/x/y", "upper/probe-write"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantDeleted := os.Geteuid() == 0
	if wantDeleted {
		if err := unix.Mknod(filepath.Join(upper, "etc/motd"), unix.S_IFCHR|0o000, 0); err != nil {
			t.Fatal(err)
		}
	}
	l := &Layer{Upper: upper, Lowers: []string{lower}}
	got, err := l.Writes([]string{"/data", "/run/secrets/token"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{RootfsReadonly, "/etc/new.conf", "created"},
		{RootfsReadonly, "/etc/passwd", "modified"},
		{RootfsReadonly, "/probe-write", "created"},
		{RootfsReadonly, "/var/lib/nginx/body", "created directory"},
	}
	if wantDeleted {
		want = slices.Insert(want, 0, Finding{RootfsReadonly, "/etc/motd", "deleted"})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	got, _ = l.Writes(nil, 1)
	if len(got) != 2 || got[1].Detail == "" || got[1].What != "/" {
		t.Fatalf("capped: %v", got)
	}
}

func TestSeccompReports(t *testing.T) {
	created := time.Unix(1796051540, 0)
	lines := []string{
		`audit: type=1326 audit(1796051546.564:2): auid=4294967295 uid=1073741824 gid=1073741824 ses=4294967295 pid=19506 comm="postgres" exe="/usr/lib/postgresql/15/bin/postgres" sig=0 arch=c000003e syscall=277 compat=0 ip=0x47be8e code=0x7ffc0000`,
		`audit: type=1326 audit(1796051546.600:3): auid=4294967295 uid=1073741824 gid=1073741824 ses=4294967295 pid=19507 comm="postgres" exe="/usr/lib/postgresql/15/bin/postgres" sig=0 arch=c000003e syscall=277 compat=0 ip=0x47be8e code=0x7ffc0000`,
		// another container's range, before create, a denial, not seccomp:
		`audit: type=1326 audit(1796051546.564:4): uid=2000000000 pid=1 comm="x" exe="/x" syscall=277 code=0x7ffc0000`,
		`audit: type=1326 audit(1796051000.000:5): uid=1073741824 pid=1 comm="x" exe="/x" syscall=277 code=0x7ffc0000`,
		`audit: type=1326 audit(1796051546.564:6): uid=1073741824 pid=1 comm="x" exe="/x" syscall=277 code=0x50000`,
		`EXT4-fs (vda): mounted filesystem`,
	}
	st := &State{Created: created, HostUID: 1 << 30, UIDCount: 65536, Logged: []string{"sync_file_range"},
		Numbers: map[int]string{277: "sync_file_range"}, LoggedBy: map[string]string{"sync_file_range": SeccompAttackSurface}}
	got := reportsFrom(lines, st, created.Add(time.Minute))
	if len(got) != 1 || got[0].What != "sync_file_range" || got[0].Control != SeccompAttackSurface || got[0].Detail != "comm postgres, exe /usr/lib/postgresql/15/bin/postgres, 2 reported" {
		t.Fatalf("got %v", got)
	}
}

func TestSuppressed(t *testing.T) {
	boot := time.Unix(1796050000, 0)
	from, to := boot.Add(100*time.Second), boot.Add(200*time.Second)
	recs := []kmsgRecord{
		{usec: 50e6, text: "kauditd_printk_skb: 7 callbacks suppressed"},   // before create
		{usec: 150e6, text: "kauditd_printk_skb: 12 callbacks suppressed"}, // while it ran
		{usec: 205e6, text: "kauditd_printk_skb: 3 callbacks suppressed"},  // printed just after
		{usec: 150e6, text: "audit: type=1326 audit(1796050150.000:1): uid=1 syscall=1 code=0x7ffc0000"},
		{usec: 400e6, text: "kauditd_printk_skb: 5 callbacks suppressed"}, // long after
	}
	if n := suppressed(recs, from, to, boot); n != 15 {
		t.Fatalf("suppressed %d, want 15", n)
	}
}

func TestOverwritten(t *testing.T) {
	boot := time.Unix(1796050000, 0)
	created := boot.Add(100 * time.Second)
	for _, c := range []struct {
		name string
		recs []kmsgRecord
		want bool
	}{
		{"empty buffer", nil, false},
		{"nothing lost since boot", []kmsgRecord{{seq: 0, usec: 1}, {seq: 1, usec: 150e6}}, false},
		{"lost before the container started", []kmsgRecord{{seq: 9000, usec: 90e6}, {seq: 9001, usec: 150e6}}, false},
		{"lost while it ran", []kmsgRecord{{seq: 9000, usec: 120e6}, {seq: 9001, usec: 150e6}}, true},
	} {
		at, got := overwritten(c.recs, created, boot)
		if got != c.want {
			t.Errorf("%s: overwritten = %v (oldest %s), want %v", c.name, got, at, c.want)
		}
	}
}

func TestReadKmsg(t *testing.T) {
	if _, err := os.Stat(KmsgPath); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and /dev/kmsg")
	}
	recs, err := readKmsg(KmsgPath)
	if err != nil || len(recs) == 0 || recs[len(recs)-1].usec <= 0 || recs[len(recs)-1].seq == 0 {
		t.Fatalf("readKmsg: %d records, %v", len(recs), err)
	}
}

func TestWaitAuditQueue(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_AUDIT_CONTROL for AUDIT_GET")
	}
	if err := waitAuditQueue(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
