package forensics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Drift is judged for the containers the lower runtime has running
// (lower.RunningContainers, tested there): launched under an older profile,
// under the current one (left out), or with no launch record at all.
func TestDrift(t *testing.T) {
	root := "/run/runc"
	running := []lower.Container{{ID: "old", Root: root, PID: 10}, {ID: "same", Root: root, PID: 11}, {ID: "unrecorded", Root: root, PID: 13}}

	st := policy.Store{}
	then, err := st.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	now := *then
	now.Hash = "sha256:new"
	now.Privileges.NoNewPrivileges = false
	s := New(t.TempDir(), Options{})
	for _, id := range []string{"old", "same"} {
		p := then
		if id == "same" {
			p = &now
		}
		r, err := Build(Input{Verb: "create", ContainerID: id, Profile: p, PPID: os.Getpid()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	drift, err := s.FindDrift(running, func(string) (*policy.Profile, error) { return &now, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(drift) != 2 || drift[0].ID != "old" || drift[1].ID != "unrecorded" || drift[1].Problem == "" {
		t.Fatalf("drift %+v", drift)
	}
	if got := strings.Join(drift[0].Differences, "\n"); got != "privileges.no_new_privileges: true -> false" {
		t.Fatalf("differences: %q", got)
	}
}

func TestForward(t *testing.T) {
	sock, read := listenSyslog(t)
	rec := testRecord(1)
	rec.ContainerID = `a"b]`
	rec.Seq, rec.Hash = 7, "sha256:ff"
	if err := Forward(rec, sock); err != nil {
		t.Fatal(err)
	}
	msg := read()
	if !strings.HasPrefix(msg, "<86>1 2026-11-22T12:00:00.000000001Z ") || !strings.Contains(msg, `[hardened-runc@32473 seq="7" hash="sha256:ff"`) || !strings.Contains(msg, `id="a\"b\]"`) {
		t.Fatalf("message %q", msg)
	}
	if err := Forward(rec, filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("forwarding to a missing socket must report an error")
	}
}
