package userns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPool(t *testing.T) {
	cases := []struct {
		name        string
		subuid      string
		subgid      string
		want        Pool
		wantErr     string
		wantBuiltin bool
	}{
		{
			name:   "entry in both files",
			subuid: "alice:100000:65536\nhardened-runc:1048576:6553600\n",
			subgid: "# comment\n\nhardened-runc:2097152:6553600\n",
			want:   Pool{UID: SubIDRange{"hardened-runc", 1048576, 6553600}, GID: SubIDRange{"hardened-runc", 2097152, 6553600}},
		},
		{
			name:        "missing entry: built-in pool",
			subuid:      "alice:100000:65536\ndockremap:165536:65536\ncontainers:2147483647:2147483648\n",
			subgid:      "alice:100000:65536\n",
			wantBuiltin: true,
		},
		{name: "missing files: built-in pool", wantBuiltin: true},
		{
			name:    "built-in pool overlaps another entry",
			subuid:  "sysbox:1000000000:268435456\n",
			wantErr: "overlaps sysbox",
		},
		{
			name:    "entry in one file only",
			subuid:  "hardened-runc:1048576:65536\n",
			wantErr: "only one of them",
		},
		{name: "malformed", subuid: "hardened-runc:x:1\n", subgid: "hardened-runc:1:1\n", wantErr: "start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			u, g := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
			if c.subuid != "" {
				os.WriteFile(u, []byte(c.subuid), 0o644)
			}
			if c.subgid != "" {
				os.WriteFile(g, []byte(c.subgid), 0o644)
			}
			p, err := LoadPool(u, g, "hardened-runc")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.wantBuiltin {
				if !p.Builtin || p.UID.Start != BuiltinPoolStart || p.UID.End() > 2147483647 {
					t.Errorf("pool = %+v, want the built-in one below 2^31-1", p)
				}
				return
			}
			if p != c.want {
				t.Errorf("pool = %+v, want %+v", p, c.want)
			}
		})
	}
	if _, err := LoadPool("/nonexistent/u", "/nonexistent/g", "x"); errors.Is(err, ErrNoSubID) {
		t.Errorf("missing files should give the built-in pool, got %v", err)
	}
}
