package confine

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPreserveFDs(t *testing.T) {
	p := loadProfile(t, "default")
	pipe := fdInfo{open: true, mode: unix.S_IFIFO, target: "pipe:[1]"}
	file := func(path string) fdInfo { return fdInfo{open: true, mode: unix.S_IFREG, target: path} }
	for _, tc := range []struct {
		name  string
		value string
		fds   []fdInfo // fd 3, 4, ...
		want  string   // "" allowed, else in the reason
	}{
		{"absent", "", nil, ""},
		{"zero", "0", nil, ""},
		{"two pipes (moby)", "2", []fdInfo{pipe, pipe}, ""},
		{"socket, terminal, data file, eventfd", "4", []fdInfo{
			{open: true, mode: unix.S_IFSOCK, target: "socket:[9]"},
			{open: true, mode: unix.S_IFCHR, target: "/dev/pts/3"},
			file("/var/lib/app/data.log"),
			{open: true, mode: unix.S_IFREG, target: "anon_inode:[eventfd]"},
		}, ""},
		{"nothing open (bypass #10)", "1", []fdInfo{{}}, "fd 3 is not open"},
		{"one of hardened-runc's own", "1", []fdInfo{{open: true, cloexec: true, mode: unix.S_IFREG, target: "/x"}}, "not passed by the caller"},
		{"a directory", "2", []fdInfo{pipe, {open: true, mode: unix.S_IFDIR, target: "/sys/fs/cgroup"}}, "fd 4 is the directory /sys/fs/cgroup"},
		{"a file in /etc", "1", []fdInfo{file("/etc/shadow")}, "/etc/shadow, a file on a host system path"},
		{"a file in /proc", "1", []fdInfo{file("/proc/1/environ")}, "host system path"},
		{"the forensic store", "1", []fdInfo{file("/run/hardened-runc/table")}, "runtime's own state"},
		{"a block device", "1", []fdInfo{{open: true, mode: unix.S_IFBLK, target: "/dev/vda"}}, "block device"},
		{"/dev/mem", "1", []fdInfo{{open: true, mode: unix.S_IFCHR, target: "/dev/mem"}}, "device /dev/mem"},
		{"a network namespace", "1", []fdInfo{{open: true, mode: unix.S_IFREG, target: "net:[4026531840]"}}, "namespace"},
		{"io_uring", "1", []fdInfo{{open: true, mode: unix.S_IFREG, target: "anon_inode:[io_uring]"}}, "kernel object"},
		{"uninspectable", "1", []fdInfo{{open: true, err: os.ErrPermission}}, "cannot be inspected"},
		{"not a number", "x", nil, "not a count"},
		{"negative", "-1", nil, "not a count"},
		{"huge", "100000", nil, "not a count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inspect := func(fd int) fdInfo {
				if fd-3 < len(tc.fds) {
					return tc.fds[fd-3]
				}
				return fdInfo{}
			}
			err := checkPreserveFDs(newCtx(p), p, tc.value, inspect)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			d := mustDeny(t, err, "process.preserve_fds")
			if !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("reason %q does not say %q", d.Reason, tc.want)
			}
		})
	}
}

// TestInspectFD reads real fds: a pipe passed on, a directory, and one of
// the process's own close-on-exec fds.
func TestInspectFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	dir, err := os.Open("/etc")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	const base = 500
	for i, f := range []*os.File{r, dir} {
		if err := unix.Dup3(int(f.Fd()), base+i, 0); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(base + i)
	}
	if got := inspectFD(base); !got.open || got.cloexec || got.mode&unix.S_IFMT != unix.S_IFIFO {
		t.Fatalf("pipe: %+v", got)
	}
	if got := inspectFD(base + 1); got.mode&unix.S_IFMT != unix.S_IFDIR || got.target != "/etc" {
		t.Fatalf("dir: %+v", got)
	}
	if got := inspectFD(int(dir.Fd())); !got.cloexec {
		t.Fatalf("Go's own fd is close-on-exec: %+v", got)
	}
	if got := inspectFD(base + 2); got.open {
		t.Fatalf("closed fd reported open: %+v", got)
	}
}
