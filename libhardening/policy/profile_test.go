package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedProfilesLoad(t *testing.T) {
	st := Store{}
	for _, name := range []string{"default", "baseline", "restricted"} {
		p, err := st.Load(name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if p.Mode != ModeEnforce || p.Hash == "" || p.Cgroups.PidsLimit <= 0 {
			t.Errorf("%s: mode=%q hash=%q pids=%d", name, p.Mode, p.Hash, p.Cgroups.PidsLimit)
		}
	}
	r, _ := st.Load("restricted")
	if len(r.Capabilities.Allow) != 1 || r.Capabilities.Allow[0] != "NET_BIND_SERVICE" {
		t.Errorf("restricted caps = %v", r.Capabilities.Allow)
	}
	if r.Rootfs.Readonly != ControlEnforce || !r.Privileges.NoNewPrivileges {
		t.Errorf("restricted lost its read-only root or default's privileges")
	}
}

func TestProfileErrorsNameFileLineField(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body, want string
	}{
		{"typo", "mode = \"enforce\"\n[capabilities]\nallw = [\"CHOWN\"]\n", "typo.toml:3"},
		{"badmode", "mode = \"enforced\"\n", "field mode"},
		{"badtype", "[cgroups]\npids_limit = \"lots\"\n", "badtype.toml:2"},
		{"syntax", "mode = \n", "syntax.toml:1"},
		{"loop", "extends = \"loop\"\n", "cycle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, c.name+".toml"), []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Store{Dir: dir}.Load(c.name)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
		})
	}
}

func TestLoadConfigMissingIsDefault(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "none.toml"))
	if err != nil || c.DefaultProfile != "default" || c.Path != "" {
		t.Fatalf("%+v %v", c, err)
	}
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("runtime = \"/usr/bin/runc\"\nlog_levl = \"x\"\n"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "c.toml:2") {
		t.Fatalf("want positioned error, got %v", err)
	}
}

// TestControlModeLegacyBoolean: profiles written when rootfs.readonly was a
// boolean keep loading with the meaning they had; a mode string is read
// as is and validated.
func TestControlModeLegacyBoolean(t *testing.T) {
	for _, tc := range []struct {
		body string
		want ControlMode
		err  string
	}{
		{body: "[rootfs]\nreadonly = true\n", want: ControlEnforce},
		{body: "[rootfs]\nreadonly = false\n", want: ControlOff},
		{body: "[rootfs]\nreadonly = \"audit\" # learn first\n", want: ControlAudit},
		{body: "[rootfs]\nreadonly = \"sometimes\"\n", err: `field rootfs.readonly: "sometimes" is not one of enforce, audit, off`},
		{body: "[rootfs]\nreadonly = 3\n", err: "p.toml: 3 is not a mode (enforce, audit, off)"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "p.toml"), []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Store{Dir: dir}.Load("p")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || p.Rootfs.Readonly != tc.want {
			t.Errorf("%q: %v, readonly %q, want %q", tc.body, err, p.Rootfs.Readonly, tc.want)
		}
	}
}
