// Command probe runs inside a container and tries, one by one, the
// operations container escapes are made of. For each it prints one JSON line
// {"probe", "blocked", "detail"}. It is built static (CGO_ENABLED=0) and
// copied into a busybox image by the escape suite (integration/attack_test.go).
//
// Probes are bounded: the fork bomb stops at 6000 processes and the memory
// bomb at 4 GiB, so an unconfined launcher does not take the host down.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func int80(nr uintptr) uintptr

type result struct {
	Probe   string `json:"probe"`
	Blocked bool   `json:"blocked"`
	Detail  string `json:"detail"`
}

type probe struct {
	name string
	run  func() (blocked bool, detail string)
}

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "child-") {
		os.Exit(child(os.Args[1], os.Args[2:]))
	}
	// The probes really try to escape: never run them on a host by mistake.
	if os.Getenv("PROBE_IN_CONTAINER") != "1" {
		fmt.Fprintln(os.Stderr, "probe: refusing to run: set PROBE_IN_CONTAINER=1 inside a container (the escape suite does)")
		os.Exit(2)
	}
	for _, p := range probes() {
		blocked, detail := p.run()
		out, _ := json.Marshal(result{p.name, blocked, detail})
		fmt.Println(string(out))
	}
}

// errno turns a syscall result into (blocked, detail): any error blocks.
func errno(err error) (bool, string) {
	if err == nil {
		return false, "succeeded"
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return true, unix.ErrnoName(e)
	}
	return true, err.Error()
}

func probes() []probe {
	ps := []probe{
		{"write to the root filesystem", func() (bool, string) {
			return errno(os.WriteFile("/probe-write", []byte("x"), 0o644))
		}},
		{"remount / read-write", func() (bool, string) {
			return errno(unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND, ""))
		}},
		{"mount proc", mountProbe("proc", "proc")},
		{"mount sysfs", mountProbe("sysfs", "sysfs")},
		{"mount tmpfs", mountProbe("tmpfs", "tmpfs")},
		{"mknod a block device", func() (bool, string) {
			return errno(unix.Mknod("/dev/shm/probe-blk", unix.S_IFBLK|0o600, int(unix.Mkdev(8, 0))))
		}},
		{"mount a host block device", func() (bool, string) {
			dev := "/dev/probe-vda"
			if err := unix.Mknod(dev, unix.S_IFBLK|0o600, int(unix.Mkdev(253, 0))); err != nil {
				if err2 := unix.Mknod("/tmp/probe-vda", unix.S_IFBLK|0o600, int(unix.Mkdev(253, 0))); err2 != nil {
					b, d := errno(err2)
					return b, "mknod: " + d
				}
				dev = "/tmp/probe-vda"
			}
			os.MkdirAll("/tmp/probe-mnt", 0o755)
			return errno(unix.Mount(dev, "/tmp/probe-mnt", "ext4", unix.MS_RDONLY, ""))
		}},
	}
	for _, ns := range []struct {
		name string
		flag uintptr
	}{
		{"mount", unix.CLONE_NEWNS}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC},
		{"network", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}, {"cgroup", unix.CLONE_NEWCGROUP},
		{"user (nested)", unix.CLONE_NEWUSER}, {"time", unix.CLONE_NEWTIME},
	} {
		ns := ns
		ps = append(ps, probe{"new " + ns.name + " namespace", func() (bool, string) { return cloneNS(ns.flag) }})
	}
	ps = append(ps, []probe{
		{"unshare(CLONE_NEWNS)", func() (bool, string) {
			runtime.LockOSThread() // the thread is left in the new namespace and dies with the process
			return errno(unix.Unshare(unix.CLONE_NEWNS))
		}},
		{"setns into a namespace", func() (bool, string) {
			fd, err := unix.Open("/proc/self/ns/uts", unix.O_RDONLY, 0)
			if err != nil {
				return errno(err)
			}
			defer unix.Close(fd)
			runtime.LockOSThread()
			return errno(unix.Setns(fd, unix.CLONE_NEWUTS))
		}},
		{"cgroup v1 release_agent write (CVE-2022-0492)", releaseAgent},
		{"write /proc/sys/kernel/core_pattern", func() (bool, string) {
			return errno(writeExisting("/proc/sys/kernel/core_pattern", "|/probe"))
		}},
		{"write /proc/sysrq-trigger", func() (bool, string) {
			return errno(writeExisting("/proc/sysrq-trigger", "h"))
		}},
		{"read /proc/kcore", readProbe("/proc/kcore")},
		{"read /proc/keys", readProbe("/proc/keys")},
		{"keyctl", func() (bool, string) {
			_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 1, 0, 0)
			return errno(err)
		}},
		{"add_key", func() (bool, string) {
			_, err := unix.AddKey("user", "probe", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
			return errno(err)
		}},
		{"bpf", func() (bool, string) {
			attr := [16]uint32{1, 4, 4, 1} // BPF_MAP_TYPE_HASH, key 4, value 4, 1 entry
			_, _, e := unix.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
			return errnoRaw(e)
		}},
		{"perf_event_open", func() (bool, string) {
			attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK, Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{}))}
			fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, 0)
			if err == nil {
				unix.Close(fd)
			}
			return errno(err)
		}},
		{"userfaultfd", func() (bool, string) {
			fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC, 0, 0)
			if e == 0 {
				unix.Close(int(fd))
			}
			return errnoRaw(e)
		}},
		{"io_uring_setup", func() (bool, string) {
			params := make([]byte, 120)
			fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
			if e == 0 {
				unix.Close(int(fd))
			}
			return errnoRaw(e)
		}},
		{"ptrace another process", ptraceProbe},
		{"kexec_load", func() (bool, string) {
			_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0, 0, 0)
			return errnoRaw(e)
		}},
		{"init_module", func() (bool, string) {
			return errno(unix.InitModule([]byte{0}, ""))
		}},
		{"finit_module", func() (bool, string) {
			f, err := os.Open("/proc/self/exe")
			if err != nil {
				return errno(err)
			}
			defer f.Close()
			return errno(unix.FinitModule(int(f.Fd()), "", 0))
		}},
		{"open_by_handle_at (shocker)", shocker},
		{"raw socket", socketProbe(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)},
		{"packet socket", socketProbe(unix.AF_PACKET, unix.SOCK_RAW, 0x0300)},
		{"setuid binary escalates", setuidProbe},
		{"capset to regain capabilities", capsetProbe},
		{"reach docker.sock", func() (bool, string) {
			for _, p := range []string{"/var/run/docker.sock", "/run/docker.sock"} {
				c, err := net.DialTimeout("unix", p, time.Second)
				if err == nil {
					c.Close()
					return false, p + " reachable"
				}
			}
			return true, "no engine socket reachable"
		}},
		{"32-bit syscall (int 0x80)", int80Probe},
		{"fork bomb (6000 processes)", forkBomb},
		{"memory bomb (4 GiB)", memoryBomb},
	}...)
	return ps
}

func errnoRaw(e syscall.Errno) (bool, string) {
	if e == 0 {
		return false, "succeeded"
	}
	return true, unix.ErrnoName(e)
}

func mountProbe(fstype, source string) func() (bool, string) {
	return func() (bool, string) {
		dir := "/tmp/probe-" + fstype
		if err := os.MkdirAll(dir, 0o755); err != nil {
			dir = "/dev/shm/probe-" + fstype
			os.MkdirAll(dir, 0o755)
		}
		err := unix.Mount(source, dir, fstype, 0, "")
		if err == nil {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
		return errno(err)
	}
}

func readProbe(path string) func() (bool, string) {
	return func() (bool, string) {
		f, err := os.Open(path)
		if err != nil {
			return errno(err)
		}
		defer f.Close()
		buf := make([]byte, 64)
		n, err := f.Read(buf)
		if err != nil && n == 0 {
			if err.Error() == "EOF" {
				return true, "empty (masked)"
			}
			return errno(err)
		}
		return false, fmt.Sprintf("read %d bytes", n)
	}
}

// writeExisting writes to an existing file without creating it.
func writeExisting(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(data)
	return err
}

// cloneNS starts a child with the namespace flag: clone(2) with namespace
// flags is what seccomp filters, and a nested user namespace cannot be made
// with unshare from a multi-threaded Go process.
func cloneNS(flag uintptr) (bool, string) {
	cmd := exec.Command("/proc/self/exe", "child-true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flag}
	if flag == unix.CLONE_NEWUSER {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	return errno(cmd.Run())
}

func releaseAgent() (bool, string) {
	dir := "/tmp/probe-cgroup"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = "/dev/shm/probe-cgroup"
		os.MkdirAll(dir, 0o755)
	}
	// The container's own cgroup mount first, then a fresh v1 mount.
	for _, c := range []string{"memory", "rdma", "pids"} {
		if err := writeExisting("/sys/fs/cgroup/"+c+"/release_agent", "/probe"); err == nil {
			return false, "wrote /sys/fs/cgroup/" + c + "/release_agent"
		}
	}
	var last error
	for _, c := range []string{"rdma", "memory", "pids"} {
		if err := unix.Mount("cgroup", dir, "cgroup", 0, c); err != nil {
			last = err
			continue
		}
		defer unix.Unmount(dir, unix.MNT_DETACH)
		if err := writeExisting(dir+"/release_agent", "/probe"); err != nil {
			b, d := errno(err)
			return b, "mounted " + c + ", write: " + d
		}
		return false, "mounted cgroup " + c + " and wrote release_agent"
	}
	b, d := errno(last)
	return b, "mount cgroup: " + d
}

func ptraceProbe() (bool, string) {
	cmd := exec.Command("/proc/self/exe", "child-sleep")
	if err := cmd.Start(); err != nil {
		return errno(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(50 * time.Millisecond)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := unix.PtraceAttach(cmd.Process.Pid)
	if err == nil {
		var ws unix.WaitStatus
		unix.Wait4(cmd.Process.Pid, &ws, 0, nil)
		unix.PtraceDetach(cmd.Process.Pid)
	}
	return errno(err)
}

func shocker() (bool, string) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, "/", 0)
	if err != nil {
		b, d := errno(err)
		return b, "name_to_handle_at: " + d
	}
	mountFd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return errno(err)
	}
	defer unix.Close(mountFd)
	fd, err := unix.OpenByHandleAt(mountFd, h, unix.O_RDONLY)
	if err == nil {
		unix.Close(fd)
	}
	return errno(err)
}

func socketProbe(domain, typ, proto int) func() (bool, string) {
	return func() (bool, string) {
		fd, err := unix.Socket(domain, typ, proto)
		if err == nil {
			unix.Close(fd)
		}
		return errno(err)
	}
}

// setuidProbe makes a setuid-root copy of this binary where the container
// can write and execute, and runs it as an unprivileged user: if the child
// reports euid 0, a setuid binary escalates.
func setuidProbe() (bool, string) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		return errno(err)
	}
	var path string
	for _, dir := range []string{"/tmp", "/var/tmp", "/run", "/dev/shm", "/"} {
		p := dir + "/probe-suid"
		if os.WriteFile(p, self, 0o755) == nil {
			path = p
			break
		}
	}
	if path == "" {
		return true, "no writable directory for the binary"
	}
	defer os.Remove(path)
	if err := os.Chown(path, 0, 0); err != nil {
		b, d := errno(err)
		return b, "chown: " + d
	}
	if err := unix.Chmod(path, 0o4755); err != nil {
		b, d := errno(err)
		return b, "chmod u+s: " + d
	}
	cmd := exec.Command(path, "child-euid")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	out, err := cmd.Output()
	if err != nil {
		b, d := errno(err)
		return b, "run as uid 1000: " + d
	}
	euid := strings.TrimSpace(string(out))
	if euid == "0" {
		return false, "uid 1000 ran a setuid binary with euid 0"
	}
	return true, "euid stayed " + euid + " (setuid ignored)"
}

func capsetProbe() (bool, string) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return errno(err)
	}
	const sysAdmin = 21
	if data[0].Effective&(1<<sysAdmin) != 0 {
		return false, "CAP_SYS_ADMIN already effective"
	}
	data[0].Effective |= 1 << sysAdmin
	data[0].Permitted |= 1 << sysAdmin
	return errno(unix.Capset(&hdr, &data[0]))
}

// int80Probe makes the 32-bit call in a child, since a filter may kill it:
// runc's filter kills only the calling thread for an architecture it does
// not list (SECCOMP_RET_KILL_THREAD), which leaves a Go child hung with its
// main thread gone, so the child gets a deadline.
func int80Probe() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/proc/self/exe", "child-int80").CombinedOutput()
	if ctx.Err() != nil {
		return true, "the calling thread was killed by the seccomp filter (the child never returned)"
	}
	if err != nil {
		switch {
		case strings.Contains(string(out), "SIGSYS"):
			return true, "killed by the seccomp filter (SIGSYS)"
		case strings.Contains(string(out), "SIGSEGV"):
			return true, "int 0x80 faults: this kernel runs without 32-bit emulation"
		}
		return true, "the 32-bit call did not complete: " + err.Error()
	}
	r := strings.TrimSpace(string(out))
	if n, err := strconv.ParseInt(r, 10, 64); err == nil && n > 0 {
		return false, "i386 getpid returned " + r
	}
	return true, "returned " + r
}

// forkBomb starts processes until the kernel refuses one. It uses raw
// fork+exec so that no file descriptor is held per child (os.StartProcess
// keeps a pidfd, and RLIMIT_NOFILE would stop it first). Only EAGAIN is a
// process limit (pids cgroup or RLIMIT_NPROC).
func forkBomb() (bool, string) {
	const bound = 6000
	var pids []int
	defer func() {
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		for _, pid := range pids {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
	}()
	for i := 0; i < bound; i++ {
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{})
		if err != nil {
			b, d := errno(err)
			if errors.Is(err, syscall.EAGAIN) {
				return b, fmt.Sprintf("process limit after %d processes: %s", i, d)
			}
			return b, fmt.Sprintf("stopped after %d processes: %s", i, d)
		}
		pids = append(pids, pid)
	}
	return false, fmt.Sprintf("%d processes started (no limit hit)", bound)
}

// memoryBomb allocates in a child until it is killed or has 4 GiB.
func memoryBomb() (bool, string) {
	cmd := exec.Command("/proc/self/exe", "child-memory")
	out, err := cmd.Output()
	got := strings.TrimSpace(string(out))
	if err != nil {
		return true, fmt.Sprintf("killed after %s MiB (%v)", lastLine(got), err)
	}
	return false, "allocated " + lastLine(got) + " MiB (no limit hit)"
}

func lastLine(s string) string {
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func child(what string, _ []string) int {
	switch what {
	case "child-true":
		return 0
	case "child-sleep":
		time.Sleep(30 * time.Second)
	case "child-euid":
		fmt.Println(os.Geteuid())
	case "child-int80":
		fmt.Println(int64(int80(20))) // i386 getpid
	case "child-memory":
		var keep [][]byte
		for mb := 64; mb <= 4096; mb += 64 {
			b := make([]byte, 64<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
			fmt.Println(mb)
		}
		_ = keep
	}
	return 0
}
