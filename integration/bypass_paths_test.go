//go:build integration

package integration

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestBypassPaths: host paths are judged as the objects they are, the
// runtime's own state is out of reach, and fds handed over are checked
// (issue 12 items 4, 5 and 8).
func TestBypassPaths(t *testing.T) {
	runBypasses(t, "paths", []bypass{
		{name: `root.path "/"`, mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Root.Path = "/"
		}, want: []string{"root.path", "host system directory /"}},
		{name: "root.path ../../.. climbing to /", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Root.Path = strings.Repeat("../", 20)
		}, want: []string{"root.path", "host system directory /"}},
		{name: "root.path a symlink to /etc", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Root.Path = symlinkIn(t, h, "/etc")
		}, want: []string{"root.path", "/etc"}},
		{name: "volume _data that is a bind mount of /etc (bypass #4)", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			data := bindMountIn(t, h, "/etc", "volumes/v/_data")
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: data, Options: []string{"rbind", "rw"}})
		}, want: []string{"mounts.deny_writable_sources", "/etc"}},
		{name: "bind source through a symlink to /etc", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: symlinkIn(t, h, "/etc"), Options: []string{"rbind"}})
		}, want: []string{"mounts.deny_writable_sources", "/etc"}},
		{name: "overlay with lowerdir=...:/etc (bypass #13)", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + h.Profiles + ":/etc"}})
		}, want: []string{"mounts.allow_types", "overlay"}},
		{name: "ext4 mount of a host disk", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/disk", Type: "ext4", Source: "/dev/vda", Options: []string{"ro"}})
		}, want: []string{"mounts.allow_types", "ext4"}},
		{name: "directory holding a root socket not named in engine_sockets (bypass #13)", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			dir := listenIn(t, h)
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: dir, Options: []string{"rbind", "ro"}})
		}, want: []string{"mounts.engine_sockets", "api.sock"}},
		{name: "the run directory, read-only", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: h.RunDir, Options: []string{"rbind", "ro"}})
		}, want: []string{"mounts.runtime_state"}},
		{name: "the lower runtime's --root", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: h.StateRoot, Options: []string{"rbind"}})
		}, want: []string{"mounts.runtime_state"}},
		{name: "the profiles through a bind mount of them", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: bindMountIn(t, h, h.Profiles, "elsewhere"), Options: []string{"rbind", "ro"}})
		}, want: []string{"mounts.runtime_state"}},
		{name: "the config file", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: h.configFor(l, "default"), Options: []string{"bind", "ro"}})
		}, want: []string{"mounts.runtime_state", "config"}},
		{name: "root.path in the run directory", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Root.Path = h.RunDir
		}, want: []string{"mounts.runtime_state"}},
		{name: "cwd /dev/fd/3", mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			s.Process.Cwd = "/dev/fd/3"
		}, want: []string{"process.cwd"}},
		{name: "--preserve-fds 1 with nothing open (bypass #10)", runArgs: []string{"--preserve-fds", "1"},
			want: []string{"process.preserve_fds", "fd 3"}},
	})
}

// symlinkIn makes a symlink to target in the harness directory.
func symlinkIn(t *testing.T, h *Harness, target string) string {
	t.Helper()
	l := filepath.Join(h.Dir, "link-"+sanitize(t.Name()))
	if err := os.Symlink(target, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// bindMountIn bind-mounts src on a new directory rel under the harness
// directory, as `volume-opt=o=bind,volume-opt=device=/etc` does for a
// Docker volume.
func bindMountIn(t *testing.T, h *Harness, src, rel string) string {
	t.Helper()
	dir := filepath.Join(h.Dir, "m-"+sanitize(t.Name()), rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(src, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s on %s: %v", src, dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// listenIn makes a directory with a unix socket that host root listens on,
// named like no engine socket.
func listenIn(t *testing.T, h *Harness) string {
	t.Helper()
	// A socket path must fit in 108 bytes.
	top, err := os.MkdirTemp(h.Dir, "s")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "a")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return filepath.Dir(dir)
}

// TestPathsLockedFlags (issue 16 bug 1): a read-only bind of a directory
// on a tmpfs mounted nosuid,nodev,noexec starts under the default profile
// (own user namespace) on both runc versions: runc 1.1 remounts the bind
// inside the user namespace, where the kernel refuses to drop those flags.
func TestPathsLockedFlags(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		mnt := filepath.Join(h.Dir, "shm-tmpfs")
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m,mode=0755"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
		sub := filepath.Join(mnt, "shm")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "f"), []byte("locked-ok\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := h.run(t, l, "default", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: sub, Options: []string{"rbind", "ro"}})
		}, "sh", "-c", "cat /proc/self/uid_map; cat /data/f; grep ' /data ' /proc/self/mountinfo")
		if r.Code != 0 || !strings.Contains(r.Stdout, "locked-ok") {
			t.Fatalf("ro bind of a nosuid,nodev,noexec tmpfs directory under the default profile: %s", r)
		}
		if f := strings.Fields(r.Stdout); len(f) < 3 || f[1] == "0" {
			t.Errorf("not in its own user namespace (the case this test is about): %q", r.Stdout)
		}
		if !strings.Contains(r.Stdout, "noexec") {
			t.Errorf("/data lost the source's noexec: %q", r.Stdout)
		}
	})
}

// TestPathsDockerVolumes: what Docker users ordinarily mount still works —
// a named volume, a host directory — and a volume bound from /etc by the
// local driver (bypass #4, real dockerd) is refused like `-v /etc:/x`.
func TestPathsDockerVolumes(t *testing.T) {
	d := docker(t)
	host, err := os.MkdirTemp("/srv", "hr-paths-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(host)
	// Host directories are not idmapped: the container's root is "other".
	if err := os.Chmod(host, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "in"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		rt := d.runtimeFor(l)
		vol := "hr-paths-" + l.Name
		defer d.Run(t, "volume", "rm", "-f", vol)
		r := d.Run(t, "run", "--rm", "--runtime", rt, "-v", vol+":/data", "-v", host+":/x", Image, "sh", "-c",
			"echo v > /data/v && cat /data/v && cat /x/in")
		if r.Code != 0 || strings.Join(strings.Fields(r.Stdout), " ") != "v from-host" {
			t.Fatalf("named volume and host directory: %s", r)
		}
		// A volume bound from a root-only host directory is that
		// directory, not a named volume: it is not idmapped, so the
		// container's root is not host root there.
		private := filepath.Join(host, "private-"+l.Name)
		if err := os.Mkdir(private, 0o700); err != nil {
			t.Fatal(err)
		}
		pv := "hr-paths-private-" + l.Name
		if c := d.Run(t, "volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind", "--opt", "device="+private, pv); c.Code != 0 {
			t.Fatalf("volume create: %s", c)
		}
		defer d.Run(t, "volume", "rm", "-f", pv)
		r = d.Run(t, "run", "--rm", "--runtime", rt, "-v", pv+":/x", Image, "sh", "-c", "touch /x/pwned; echo done")
		if _, err := os.Stat(filepath.Join(private, "pwned")); err == nil {
			t.Errorf("the container's root wrote into a root-only host directory through a bind volume (idmapped as a named volume): %s", r)
		}
		if r.Code != 0 || !strings.Contains(r.Stdout, "done") {
			t.Errorf("a volume bound from an ordinary host directory should still start: %s", r)
		}
		etc := "hr-paths-etc-" + l.Name
		if c := d.Run(t, "volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", etc); c.Code != 0 {
			t.Fatalf("volume create: %s", c)
		}
		defer d.Run(t, "volume", "rm", "-f", etc)
		r = d.Run(t, "run", "--rm", "--runtime", rt, "-v", etc+":/x", Image, "sh", "-c", "echo CONTAINER-RAN")
		if r.Code == 0 || strings.Contains(r.Stdout, "CONTAINER-RAN") {
			t.Fatalf("a volume bound from /etc ran: %s", r)
		}
		for _, w := range []string{"mounts.deny_writable_sources", "/etc"} {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("denial does not name %q: %s", w, r.Stderr)
			}
		}
	})
}
