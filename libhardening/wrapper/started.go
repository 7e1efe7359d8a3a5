package wrapper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
)

// Running is a lower runtime the C program started, before the Go runtime,
// with this process's command line, argv[0] replaced (package fastpath,
// Overlap verbs): a Started one, whose parent this process is, or a
// Release, whose sibling it is. The invocation never runs the lower
// runtime itself then; whatever path it takes ends in Finish.
type Running interface {
	// LowerPath is the runtime's path, as the C program resolved it.
	LowerPath() string
	// Finish waits for the runtime and returns this process's status.
	Finish(stderr io.Writer) int
}

// Started is a lower runtime this process is the parent of: it records
// the call while the runtime runs, waits for it, and exits with its status.
type Started struct {
	Pid   int
	Lower string

	waited bool
	code   int
}

// LowerPath implements Running.
func (s *Started) LowerPath() string { return s.Lower }

// Finish implements Running: Wait.
func (s *Started) Finish(stderr io.Writer) int { return s.Wait(stderr) }

// Wait waits for the started runtime, forwarding the signals an engine
// sends to stop a call, and returns its exit status: its own code, or
// 128+n when signal n ended it, as a shell reports it. It waits once; later
// calls return the same status. What goes wrong waiting is said on stderr.
func (s *Started) Wait(stderr io.Writer) int {
	if s.waited {
		return s.code
	}
	s.waited = true
	s.code = s.wait(stderr)
	return s.code
}

func (s *Started) wait(stderr io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = syscall.Kill(s.Pid, sig.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(s.Pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "hardened-runc: wait for %s (pid %d): %v\n", s.Lower, s.Pid, err)
			return 1
		}
		break
	}
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}

// StartedFrom reads the lower runtime the C fast path started and handed
// over to the delete helper (fastpath.StartedEnv, "<pid>:<path>"). The
// process must be its child: a value set by hand names a process this one
// cannot wait for, and is refused.
func StartedFrom(v string) (*Started, error) {
	pid, lower, err := handedOver(fastpath.StartedEnv, v)
	if err != nil {
		return nil, err
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return nil, fmt.Errorf("%s: pid %d is not a child of this process: %w", fastpath.StartedEnv, pid, err)
	}
	return &Started{Pid: pid, Lower: lower}, nil
}

// Release is a lower runtime the C program forked beside this process for
// a split delete (fastpath.ReleaseEnv). The C program waits for the
// runtime itself and returns its status to the engine once this process
// has settled what the engine reads after delete (Settle), so the rest of
// the release runs after the call has returned, beside the engine's own
// work rather than beside the runtime's delete.
type Release struct {
	Pid   int
	Lower string

	pidfd   int      // the runtime, to wait for its exit
	settled *os.File // closed by Settle: the C program then returns
	// keepStdio leaves this process's stdio as it is at Settle (tests).
	keepStdio bool
}

// LowerPath implements Running.
func (r *Release) LowerPath() string { return r.Lower }

// Finish implements Running: settles and waits for the runtime. The
// status is the C program's to return; this process's is 0.
func (r *Release) Finish(io.Writer) int {
	r.Settle()
	r.Wait()
	return 0
}

// Settle lets the C program return the runtime's status to the engine:
// what this process does from here, the engine does not wait for. The
// engine's stdio is let go first (an engine reads the call's output until
// every writer has closed it), for /dev/null; what goes wrong from here is
// logged to --log. It may be called more than once.
func (r *Release) Settle() {
	if r.settled == nil {
		return
	}
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		for fd := 0; fd <= 2 && !r.keepStdio; fd++ {
			_ = unix.Dup2(int(null.Fd()), fd)
		}
		null.Close()
	}
	r.settled.Close()
	r.settled = nil
}

// Wait waits for the runtime to exit (its status is the C program's).
func (r *Release) Wait() {
	fds := []unix.PollFd{{Fd: int32(r.pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// ReleaseFrom reads the split delete the C program handed over
// (fastpath.ReleaseEnv, "<pid>:<path>", with a pidfd of that runtime on
// fastpath.ReleasePidFD and the settled pipe on fastpath.SettledFD).
// Anything else on those descriptors is refused: a value set by hand names
// nothing this process can wait for.
func ReleaseFrom(v string) (*Release, error) {
	pid, lower, err := handedOver(fastpath.ReleaseEnv, v)
	if err != nil {
		return nil, err
	}
	// A pidfd of a process already reaped says -1 (hardened-runc reaps
	// the runtime as soon as it exits).
	if got, ok := fdinfoPid(fastpath.ReleasePidFD); !ok || (got != pid && got != -1) {
		return nil, fmt.Errorf("%s: descriptor %d is not a pidfd of pid %d", fastpath.ReleaseEnv, fastpath.ReleasePidFD, pid)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fastpath.SettledFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, fmt.Errorf("%s: descriptor %d is not the settled pipe", fastpath.ReleaseEnv, fastpath.SettledFD)
	}
	unix.CloseOnExec(fastpath.ReleasePidFD)
	unix.CloseOnExec(fastpath.SettledFD)
	return &Release{Pid: pid, Lower: lower, pidfd: fastpath.ReleasePidFD,
		settled: os.NewFile(uintptr(fastpath.SettledFD), "settled")}, nil
}

// handedOver reads env's value v, "<pid>:<path>": the runtime the C
// program started (StartedEnv, ReleaseEnv).
func handedOver(env, v string) (pid int, lower string, err error) {
	p, lower, ok := strings.Cut(v, ":")
	pid, err = strconv.Atoi(p)
	if !ok || err != nil || pid <= 0 || !filepath.IsAbs(lower) {
		return 0, "", fmt.Errorf("%s=%q: not <pid>:<path>", env, v)
	}
	return pid, lower, nil
}

// fdinfoPid is the pid a pidfd refers to ("Pid:" in its fdinfo; -1 once
// reaped), and whether fd is a pidfd at all.
func fdinfoPid(fd int) (int, bool) {
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			return pid, err == nil
		}
	}
	return 0, false
}
