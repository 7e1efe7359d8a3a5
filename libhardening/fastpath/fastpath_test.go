package fastpath

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRefresh(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "hardened-runc")
	goSide := filepath.Join(dir, GoName)
	lower := filepath.Join(dir, "runc")
	helper := filepath.Join(dir, DeleteHelperName)
	for _, p := range []string{self, goSide, lower, helper} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(2 * MinAge) // as if the files were written long ago
	ok := Entry{ConfigPath: "/etc/hardened-runc/config.toml", ConfigID: Absent, PathEnv: "/usr/bin",
		Runtime: "runc", Self: self, Go: goSide, Lower: lower, ForensicsDir: "/var/lib/hardened-runc/forensics",
		Held:         []string{"/run/hardened-runc/userns/{id}", "/run/hardened-runc/audit/{id}.json"},
		DeleteHelper: helper, ReleaseLock: "/run/hardened-runc/release/{id}.lock"}

	for _, tc := range []struct {
		name   string
		edit   func(*Entry)
		now    time.Time
		errIs  error
		errHas string
	}{
		{name: "recorded", now: later},
		{name: "relative config path", edit: func(e *Entry) { e.ConfigPath = "config.toml" }, now: later, errHas: "relative"},
		{name: "newline in PATH", edit: func(e *Entry) { e.PathEnv = "/bin\nlower=/tmp/x" }, now: later, errHas: "cannot be recorded"},
		{name: "held path with the separator", edit: func(e *Entry) { e.Held = []string{"/run/a:b/{id}"} }, now: later, errHas: "cannot be recorded"},
		{name: "held path without the ID", edit: func(e *Entry) { e.Held = []string{"/run/a"} }, now: later, errHas: "cannot be recorded"},
		{name: "relative held path", edit: func(e *Entry) { e.Held = []string{"run/{id}"} }, now: later, errHas: "cannot be recorded"},
		{name: "release lock without the ID", edit: func(e *Entry) { e.ReleaseLock = "/run/release.lock" }, now: later, errHas: "cannot be recorded"},
		{name: "no release lock", edit: func(e *Entry) { e.ReleaseLock = "" }, now: later},
		{name: "lower runtime missing", edit: func(e *Entry) { e.Lower = filepath.Join(dir, "gone") }, now: later, errHas: "missing"},
		{name: "Go side missing", edit: func(e *Entry) { e.Go = filepath.Join(dir, "gone", GoName) }, now: later, errHas: "missing"},
		{name: "Go side not beside hardened-runc", edit: func(e *Entry) { e.Go = lower }, now: later, errHas: "not " + GoName + " beside"},
		{name: "delete helper elsewhere", edit: func(e *Entry) { e.DeleteHelper = lower }, now: later, errHas: "not " + DeleteHelperName + " beside"},
		{name: "binaries just written", now: time.Now(), errIs: ErrTooFresh},
		{name: "config just edited", edit: func(e *Entry) { e.ConfigChanged = later }, now: later, errIs: ErrTooFresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			e := ok
			if tc.edit != nil {
				tc.edit(&e)
			}
			err := Refresh(out, e, tc.now)
			switch {
			case tc.errIs != nil && !errors.Is(err, tc.errIs):
				t.Fatalf("err = %v, want %v", err, tc.errIs)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("err = %v, want one containing %q", err, tc.errHas)
			case tc.errIs == nil && tc.errHas == "" && err != nil:
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(out)
			if wrote := len(entries) > 0; wrote != (err == nil) {
				t.Fatalf("wrote a record = %v with err = %v", wrote, err)
			}
		})
	}

	t.Run("format, and no rewrite when unchanged", func(t *testing.T) {
		out := t.TempDir()
		if err := Refresh(out, ok, later); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(out, Key(ok.ConfigPath, ok.PathEnv))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		want := []string{header, "config=", "config-id=absent", "path=/usr/bin", "runtime=runc", "self-id=", "go-id=", "lower=" + lower, "lower-id=", "forensics=/var/lib/hardened-runc/forensics", "held=/run/hardened-runc/userns/{id}:/run/hardened-runc/audit/{id}.json",
			"delete-helper-id=6", "release-lock=/run/hardened-runc/release/{id}.lock"}
		if len(lines) != len(want) {
			t.Fatalf("record has %d lines, want %d:\n%s", len(lines), len(want), data)
		}
		for i := range want {
			if !strings.HasPrefix(lines[i], want[i]) {
				t.Errorf("line %d = %q, want it to start with %q", i, lines[i], want[i])
			}
		}
		var before, after syscall.Stat_t
		syscall.Stat(path, &before)
		if err := Refresh(out, ok, later); err != nil {
			t.Fatal(err)
		}
		syscall.Stat(path, &after)
		if before.Ino != after.Ino {
			t.Error("an unchanged record was written again")
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("record mode %v, want 0600 (the C side refuses anything others can write)", fi.Mode().Perm())
		}
	})
}

func TestKey(t *testing.T) {
	a := Key("/etc/hardened-runc/config.toml", "/usr/bin:/bin")
	if len(a) != 16 {
		t.Fatalf("key %q is not 16 hex digits", a)
	}
	if a == Key("/etc/hardened-runc/config.toml", "/bin") || a == Key("/etc/hardened-runc/other.toml", "/usr/bin:/bin") {
		t.Error("different config paths or PATHs share a record")
	}
}

// TestRefreshWithoutHelper: no delete helper where hardened-runc looks for
// it records empty fields; the C side then leaves a started delete to
// hardened-runc's own Go side.
func TestRefreshWithoutHelper(t *testing.T) {
	dir := t.TempDir()
	self, goSide, lower := filepath.Join(dir, "hardened-runc"), filepath.Join(dir, GoName), filepath.Join(dir, "runc")
	for _, p := range []string{self, goSide, lower} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := Entry{ConfigPath: "/etc/hardened-runc/config.toml", ConfigID: Absent, PathEnv: "/usr/bin", Runtime: "runc",
		Self: self, Go: goSide, Lower: lower, DeleteHelper: filepath.Join(dir, DeleteHelperName)}
	if err := Refresh(dir, e, time.Now().Add(2*MinAge)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, Key(e.ConfigPath, e.PathEnv)))
	if !strings.HasSuffix(string(data), "\ndelete-helper-id=\nrelease-lock=\n") {
		t.Errorf("record without a helper:\n%s", data)
	}
}
