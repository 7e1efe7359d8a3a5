package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestLoadProcessHardenAndCopy(t *testing.T) {
	data := readTestdata(t, "docker-exec-process.json")
	src := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProcess(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Original(), data) {
		t.Fatal("Original differs")
	}
	p.Process.NoNewPrivileges = true
	p.Process.Capabilities.Bounding = []string{"CAP_KILL"}
	p.Process.Capabilities.Effective = []string{"CAP_KILL"}
	p.Process.Capabilities.Permitted = []string{"CAP_KILL"}

	dir := t.TempDir()
	cp, err := p.WriteCopy(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(cp) != dir || cp == src {
		t.Fatalf("copy at %s, want a new file in %s", cp, dir)
	}
	var st unix.Stat_t
	if err := unix.Stat(cp, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o600 {
		t.Errorf("copy mode %o, want 0600", st.Mode&0o7777)
	}
	out, _ := os.ReadFile(cp)
	assertSemantics(t, out, p.Process, &specs.Process{})
	if v, ok := lookup(tree(t, out), "x-execFuture", "pidfd"); !ok || v != true {
		t.Error("unknown field of the process lost")
	}
	if got, _ := os.ReadFile(src); !bytes.Equal(got, data) {
		t.Fatal("caller's process file modified")
	}
	second, err := p.WriteCopy(dir)
	if err != nil || second == cp {
		t.Fatalf("second copy %s, %v: want a distinct new file", second, err)
	}
}

func TestLoadProcessRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string) string
		kind  error
		msg   string
	}{
		{"malformed", func(dir string) string {
			p := filepath.Join(dir, "p.json")
			os.WriteFile(p, []byte(`{"args":["sh"],"cwd":"/",}`), 0o644)
			return p
		}, ErrMalformed, "line 1, column 26"},
		{"wrong type", func(dir string) string {
			p := filepath.Join(dir, "p.json")
			os.WriteFile(p, []byte(`{"args":"sh"}`), 0o644)
			return p
		}, ErrMalformed, "field args"},
		{"empty", func(dir string) string {
			p := filepath.Join(dir, "p.json")
			os.WriteFile(p, nil, 0o644)
			return p
		}, ErrEmpty, "empty"},
		{"missing", func(dir string) string { return filepath.Join(dir, "nope.json") }, ErrNotFound, "does not exist"},
		{"symlink", func(dir string) string {
			p := filepath.Join(dir, "p.json")
			os.WriteFile(filepath.Join(dir, "real"), []byte(`{}`), 0o644)
			os.Symlink(filepath.Join(dir, "real"), p)
			return p
		}, ErrNotRegular, "symbolic link"},
		{"FIFO", func(dir string) string {
			p := filepath.Join(dir, "p.json")
			unix.Mkfifo(p, 0o644)
			return p
		}, ErrNotRegular, "FIFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t.TempDir())
			_, err := LoadProcess(path)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v; want %v mentioning %q and the path", err, tc.kind, tc.msg)
			}
		})
	}
}

func TestLoadResources(t *testing.T) {
	data := readTestdata(t, "docker-update-resources.json")
	r, err := LoadResources(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := r.Bytes(); !bytes.Equal(out, data) {
		t.Fatal("unclamped resources not returned byte for byte")
	}
	limit := int64(512 << 20)
	r.Resources.Memory.Limit = &limit
	r.Resources.Pids = nil
	out, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	assertSemantics(t, out, r.Resources, &specs.LinuxResources{})
	if _, ok := lookup(tree(t, out), "x-resourcesFuture", "memory.high"); !ok {
		t.Error("unknown resources field lost")
	}
	if _, ok := lookup(tree(t, out), "pids"); ok {
		t.Error("removed pids limit came back")
	}
	p, err := r.WriteCopy(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, out) {
		t.Fatal("copy differs from Bytes")
	}
}

func TestLoadResourcesRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind error
		msg  string
	}{
		{"malformed", `{"memory":{"limit":}}`, ErrMalformed, "line 1, column 20"},
		{"wrong type", `{"memory":{"limit":"1g"}}`, ErrMalformed, "field memory.limit"},
		{"empty stdin", ``, ErrEmpty, "empty"},
		{"array", `[{"memory":{}}]`, ErrMalformed, "not a JSON object"},
		{"too large", `{"x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`, ErrTooLarge, "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadResources(strings.NewReader(tc.in))
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want %v mentioning %q", err, tc.kind, tc.msg)
			}
		})
	}
}
