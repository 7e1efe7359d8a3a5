package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out, version, name string
	}{
		{"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n", "1.1.5", "runc"},
		{"runc version 1.5.2\ncommit: v1.5.2-0-g1234\n", "1.5.2", "runc"},
		{"runc version 1.0.0-rc95\n", "1.0.0-rc95", "runc"},
		{"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n", "crun 1.8.1", "crun"},
		{"youki version 0.3.0\n", "youki version 0.3.0", ""},
		{"", "", ""},
	} {
		v, n := parseVersion([]byte(c.out))
		if v != c.version || n != c.name {
			t.Errorf("parseVersion(%q) = %q, %q; want %q, %q", c.out, v, n, c.version, c.name)
		}
	}
}

// A crun without `features` (Debian's 1.8.1) is claimed nothing; a runc
// with `features` is read from its JSON.
func TestProbeLowerCrun(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"crun": "#!/bin/sh\ncase $1 in --version) echo 'crun version 1.8.1'; echo 'commit: x';; *) echo 'unknown command features' >&2; exit 1;; esac\n",
		"runc": "#!/bin/sh\ncase $1 in --version) echo 'runc version 1.5.2';; features) echo '{\"linux\":{\"mountExtensions\":{\"idmap\":{\"enabled\":false}}}}';; esac\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	crun := probeLower(filepath.Join(dir, "crun"))
	if crun.Version != "crun 1.8.1" || crun.Features == nil || crun.Features.IDMap || crun.Features.SeccompNotify {
		t.Errorf("crun probe = %+v (features %+v), want version \"crun 1.8.1\", no idmap, no seccomp notify", crun, crun.Features)
	}
	runc := probeLower(filepath.Join(dir, "runc"))
	if runc.Version != "1.5.2" || runc.Features == nil || runc.Features.IDMap {
		t.Errorf("runc probe = %+v (features %+v), want 1.5.2 without idmap (its features say so)", runc, runc.Features)
	}
}
