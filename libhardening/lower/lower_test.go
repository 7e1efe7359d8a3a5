package lower

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := fakeRuntimes(t, map[string]string{"runc": "exit 0\n", "self": "exit 0\n", "front": "exit 0\n"})
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "self"), filepath.Join(dir, "runc-link")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	self := filepath.Join(dir, "self")
	for _, c := range []struct {
		configured, want, err string
		isSelf                bool
	}{
		{"", filepath.Join(dir, "runc"), "", false},
		{"runc", filepath.Join(dir, "runc"), "", false},
		{filepath.Join(dir, "runc"), filepath.Join(dir, "runc"), "", false},
		{"nosuch", "", `"nosuch" not found in PATH`, false},
		{filepath.Join(dir, "nosuch"), "", "no such file", false},
		{filepath.Join(dir, "plain"), "", "not an executable file", false},
		{dir, "", "not an executable file", false},
		{"runc-link", "", "hardened-runc itself", true},
		{self, "", "hardened-runc itself", true},
		// hardened-runc's other binaries (the C program, the helper).
		{filepath.Join(dir, "front"), "", "hardened-runc itself", true},
	} {
		got, err := Resolve(c.configured, "/etc/x.toml", self, filepath.Join(dir, "front"), "")
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, error containing %q", c.configured, got, err, c.want, c.err)
		}
		if errors.Is(err, ErrIsSelf) != c.isSelf {
			t.Errorf("Resolve(%q): errors.Is(ErrIsSelf) = %v, want %v", c.configured, !c.isSelf, c.isSelf)
		}
		if err != nil && !c.isSelf && c.err != "no such file" && !strings.Contains(err.Error(), "/etc/x.toml") {
			t.Errorf("Resolve(%q): %v does not name the config to fix", c.configured, err)
		}
	}
	// Without self, the self check is off (doctor, hardenctl).
	if got, err := Resolve(self, "/etc/x.toml"); err != nil || got != self {
		t.Errorf("Resolve without self = %q, %v", got, err)
	}
}
