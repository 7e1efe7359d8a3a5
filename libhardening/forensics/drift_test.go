package forensics

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func TestDrift(t *testing.T) {
	proc, root := t.TempDir(), t.TempDir()
	writeState := func(id string, pid int, start uint64) {
		os.MkdirAll(filepath.Join(root, id), 0o700)
		os.WriteFile(filepath.Join(root, id, "state.json"), []byte(fmt.Sprintf(`{"id":%q,"init_process_pid":%d,"init_process_start":%d,"created":"2026-11-22T10:00:00Z"}`, id, pid, start)), 0o600)
		os.MkdirAll(filepath.Join(proc, fmt.Sprint(pid)), 0o755)
	}
	stat := "%d (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0"
	writeState("old", 10, 555)
	os.WriteFile(filepath.Join(proc, "10", "stat"), []byte(fmt.Sprintf(stat, 10, 555)), 0o644)
	writeState("same", 11, 556)
	os.WriteFile(filepath.Join(proc, "11", "stat"), []byte(fmt.Sprintf(stat, 11, 556)), 0o644)
	writeState("reused", 12, 557)
	os.WriteFile(filepath.Join(proc, "12", "stat"), []byte(fmt.Sprintf(stat, 12, 999)), 0o644)
	writeState("unrecorded", 13, 0)
	os.WriteFile(filepath.Join(proc, "13", "stat"), []byte(fmt.Sprintf(stat, 13, 1)), 0o644)

	running, err := RunningContainers(proc, []string{root})
	if err != nil || len(running) != 3 {
		t.Fatalf("running %+v %v", running, err)
	}

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
