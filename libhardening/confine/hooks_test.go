package confine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// fakeHooks resolves paths on a made-up host: /usr/sbin/dockerd and the
// running dockerd's /proc/4242/exe are one file, /usr/bin/nvidia-ctk is
// another, /tmp/evil/dockerd is a symlink to /bin/sh, /proc/777/exe is
// a dockerd replaced on disk while it ran.
func fakeHooks(prof *policy.Profile) *HooksModifier {
	files := map[string]fileID{
		"/usr/sbin/dockerd":   {1, 100},
		"/proc/4242/exe":      {1, 100},
		"/usr/bin/nvidia-ctk": {1, 200},
		"/bin/sh":             {1, 300},
		"/tmp/evil/dockerd":   {1, 300},
		"/proc/777/exe":       {1, 99},
	}
	links := map[string]string{"/proc/4242/exe": "/usr/sbin/dockerd", "/proc/777/exe": "/usr/sbin/dockerd (deleted)"}
	return &HooksModifier{
		p: prof,
		stat: func(p string) (fileID, error) {
			if id, ok := files[p]; ok {
				return id, nil
			}
			return fileID{}, fs.ErrNotExist
		},
		readlink: func(p string) (string, error) {
			if l, ok := links[p]; ok {
				return l, nil
			}
			return "", errors.New("not a link")
		},
	}
}

func TestHooks(t *testing.T) {
	p := loadProfile(t, "default")
	setkey := []string{"libnetwork-setkey", "-exec-root=/var/run/docker", "3f1c", "c9b8"}
	for _, tc := range []struct {
		name string
		h    specs.Hooks
		rule string // "" when allowed
	}{
		{"docker's hook by path", specs.Hooks{Prestart: []specs.Hook{{Path: "/usr/sbin/dockerd", Args: setkey}}}, ""},
		{"docker's hook as /proc/PID/exe", specs.Hooks{Prestart: []specs.Hook{{Path: "/proc/4242/exe", Args: setkey}}}, ""},
		{"docker's hook, dockerd upgraded while running", specs.Hooks{Prestart: []specs.Hook{{Path: "/proc/777/exe", Args: setkey}}}, ""},
		{"docker's hook as createRuntime", specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/proc/4242/exe", Args: setkey}}}, ""},
		{"nvidia-ctk", specs.Hooks{CreateContainer: []specs.Hook{{Path: "/usr/bin/nvidia-ctk", Args: []string{"nvidia-ctk", "hook", "update-ldcache"}}}}, ""},
		{"a shell", specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "id > /tmp/pwned"}}}}, "hooks.allow"},
		{"a shell as poststop", specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh"}}}, "hooks.allow"},
		{"a shell named dockerd", specs.Hooks{Prestart: []specs.Hook{{Path: "/tmp/evil/dockerd", Args: setkey}}}, "hooks.allow"},
		{"dockerd as another helper", specs.Hooks{Prestart: []specs.Hook{{Path: "/proc/4242/exe", Args: []string{"docker-untar", "/"}}}}, "hooks.docker"},
		{"dockerd without argv", specs.Hooks{Prestart: []specs.Hook{{Path: "/usr/sbin/dockerd"}}}, "hooks.docker"},
		{"allowed binary with LD_PRELOAD", specs.Hooks{CreateContainer: []specs.Hook{{Path: "/usr/bin/nvidia-ctk", Env: []string{"LD_PRELOAD=/tmp/x.so"}}}}, "hooks.allow"},
		{"/proc/PID/exe as poststop (the pid may be reused by then)", specs.Hooks{Poststop: []specs.Hook{{Path: "/proc/4242/exe", Args: setkey}}}, "hooks.allow"},
		{"/proc/PID/exe as poststart", specs.Hooks{Poststart: []specs.Hook{{Path: "/proc/4242/exe", Args: setkey}}}, "hooks.allow"},
		{"missing executable", specs.Hooks{StartContainer: []specs.Hook{{Path: "/nonexistent"}}}, "hooks.allow"},
		{"relative path", specs.Hooks{Prestart: []specs.Hook{{Path: "usr/sbin/dockerd", Args: setkey}}}, "hooks.allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadSpec(t, "runc-1.5-spec.json")
			s.Hooks = &tc.h
			ctx := newCtx(p)
			err := modifier.List{fakeHooks(p)}.Modify(ctx, s, &modifier.Report{})
			if tc.rule == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(ctx.Notes) == 0 {
					t.Error("an allowed hook is not noted for the record")
				}
				return
			}
			d := mustDeny(t, err, tc.rule)
			if strings.Contains(d.Error(), "\n") {
				t.Errorf("denial not on one line: %q", d.Error())
			}
		})
	}
}

// The real resolver: a symlink is followed to its target, and a copy of an
// allowed binary is a different file.
func TestHooksResolveRealFiles(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hook")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "copy")
	if err := os.WriteFile(cp, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := loadProfile(t, "default")
	allowing := *p
	allowing.Hooks.Allow = []string{bin}
	for path, want := range map[string]bool{bin: true, link: true, cp: false, dir: false} {
		s := loadSpec(t, "runc-1.5-spec.json")
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: path}}}
		_, err := runOne(t, Hooks(&allowing), &allowing, s)
		if (err == nil) != want {
			t.Errorf("%s: allowed %v, want %v (%v)", path, err == nil, want, err)
		}
	}
	// This test binary runs as /proc/self/exe: the magic link resolves to
	// the test binary itself, not to what its name says.
	self, _ := os.Executable()
	allowing.Hooks.Allow = []string{self}
	s := loadSpec(t, "runc-1.5-spec.json")
	s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: filepath.Join("/proc", strconv.Itoa(os.Getpid()), "exe")}}}
	if _, err := runOne(t, Hooks(&allowing), &allowing, s); err != nil {
		t.Errorf("/proc/PID/exe of an allowed binary: %v", err)
	}
}
