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

// Started is a lower runtime the C fast path started before the Go runtime
// (package fastpath, Overlap verbs) with this process's command line, argv[0]
// replaced. This process is its parent: it records the call while the
// runtime runs, waits for it, and exits with its status.
type Started struct {
	Pid   int
	Lower string

	waited bool
	code   int
}

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
	p, lower, ok := strings.Cut(v, ":")
	pid, err := strconv.Atoi(p)
	if !ok || err != nil || pid <= 0 || !filepath.IsAbs(lower) {
		return nil, fmt.Errorf("%s=%q: not <pid>:<path>", fastpath.StartedEnv, v)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return nil, fmt.Errorf("%s: pid %d is not a child of this process: %w", fastpath.StartedEnv, pid, err)
	}
	return &Started{Pid: pid, Lower: lower}, nil
}
