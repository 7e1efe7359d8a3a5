// Package learn is the seccomp agent of learning mode: it serves runc's
// seccomp notify socket, records what a workload calls and merges it into a
// learned profile. Only hardenctl runs the agent; the runtime only writes the
// learning profile (seccomp.LearnProfile), so this package, and the socket
// code it needs, stays out of hardened-runc's binary.
package learn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/seccomp"
)

// Agent is the seccomp agent of learning mode. runc connects to its
// socket once per process it starts under a NOTIFY profile (the container's
// init, and each `runc exec`), sending the process state as JSON with the
// notify fd attached (SCM_RIGHTS). The agent answers CONTINUE to every
// notification, records the syscall names from the process's execve on
// (runc's own calls before it are not the workload's), and when the last
// process of the filter is gone merges what it saw into
// <ProfilesDir>/seccomp/<name>.json.
type Agent struct {
	// ProfilesDir is where learned profiles are written (under seccomp/).
	ProfilesDir string
	// Out names the learned profile; empty means the listenerMetadata
	// runc passes (hardened-runc sets the profile name), then the
	// container ID.
	Out string
	// Options finish the learned profile (compat arches, baseline).
	Options seccomp.Options
	// Done, if set, is called after each process's recording was written.
	Done func(Recording)

	mu sync.Mutex // serialises profile merges
}

// Recording is what one process (and its descendants) called.
type Recording struct {
	ContainerID string   `json:"containerId"`
	Pid         int      `json:"pid"`
	Profile     string   `json:"profile"`
	Path        string   `json:"path"`
	Syscalls    []string `json:"syscalls"`
	// Notifications counts every notification answered, runc's included.
	Notifications int   `json:"notifications"`
	Err           error `json:"-"`
}

// Serve accepts runc's connections on l until ctx is done, handling each in
// its own goroutine, and waits for the handlers to finish.
func (a *Agent) Serve(ctx context.Context, l *net.UnixListener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("seccomp agent: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := a.Handle(ctx, conn)
			if a.Done != nil {
				a.Done(rec)
			}
		}()
	}
}

// Handle serves one runc connection to the end of its filter.
func (a *Agent) Handle(ctx context.Context, conn *net.UnixConn) Recording {
	defer conn.Close()
	state, fd, err := receiveState(conn)
	if err != nil {
		return Recording{Err: err}
	}
	defer unix.Close(fd)
	rec := Recording{ContainerID: state.State.ID, Pid: state.Pid, Profile: a.outName(state)}
	w := newWatcher(state.Pid)
	rec.Notifications, rec.Err = answer(ctx, fd, w.observe)
	rec.Syscalls = w.names()
	if rec.Err == nil {
		rec.Path, rec.Err = a.merge(rec.Profile, rec.Syscalls)
	}
	return rec
}

func (a *Agent) outName(st *specs.ContainerProcessState) string {
	switch {
	case a.Out != "":
		return a.Out
	case st.Metadata != "":
		return st.Metadata
	}
	return st.State.ID
}

// receiveState reads runc's message: the ContainerProcessState JSON and one
// SCM_RIGHTS fd, named "seccompFd" in state.Fds.
func receiveState(conn *net.UnixConn) (*specs.ContainerProcessState, int, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*8))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, -1, fmt.Errorf("seccomp agent: read state: %w", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		return nil, -1, err
	}
	st := &specs.ContainerProcessState{}
	if err := json.Unmarshal(buf[:n], st); err != nil {
		closeAll(fds)
		return nil, -1, fmt.Errorf("seccomp agent: decode state: %w", err)
	}
	i := slices.Index(st.Fds, specs.SeccompFdName)
	if i < 0 || i >= len(fds) {
		closeAll(fds)
		return nil, -1, fmt.Errorf("seccomp agent: no %s among %v", specs.SeccompFdName, st.Fds)
	}
	fd := fds[i]
	closeAll(slices.Delete(fds, i, i+1))
	return st, fd, nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("seccomp agent: control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		f, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// answer receives notifications on fd and lets each syscall continue until
// no process uses the filter any more (POLLHUP) or ctx is done.
func answer(ctx context.Context, fd int, observe func(tid uint32, name string)) (int, error) {
	sfd := libseccomp.ScmpFd(fd)
	count := 0
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 200)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return count, fmt.Errorf("seccomp agent: poll: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return count, nil // POLLHUP: every process of the filter exited
		}
		req, err := libseccomp.NotifReceive(sfd)
		if err != nil {
			continue // the caller died before we read it (ENOENT)
		}
		count++
		if name, err := req.Data.Syscall.GetNameByArch(req.Data.Arch); err == nil {
			observe(req.Pid, name)
		}
		resp := &libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue}
		_ = libseccomp.NotifRespond(sfd, resp) // ENOENT: the caller died meanwhile
	}
	return count, nil
}

// watcher separates runc's syscalls from the workload's: everything before
// the init's execve is runc's; after it, runc's other threads (dying in
// execve) are still ignored.
type watcher struct {
	initPid  uint32
	started  bool
	runcTids map[uint32]bool
	seen     map[string]bool
}

func newWatcher(pid int) *watcher {
	return &watcher{initPid: uint32(pid), runcTids: map[uint32]bool{}, seen: map[string]bool{}}
}

func (w *watcher) observe(tid uint32, name string) {
	if !w.started {
		if seccomp.Handover(name) && (w.initPid == 0 || tid == w.initPid) {
			w.started = true
			w.seen[name] = true
			return
		}
		w.runcTids[tid] = true
		return
	}
	if w.runcTids[tid] && tid != w.initPid {
		return
	}
	w.seen[name] = true
}

func (w *watcher) names() []string {
	out := make([]string, 0, len(w.seen))
	for n := range w.seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// merge adds names to the learned profile called name and writes it.
func (a *Agent) merge(name string, names []string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return seccomp.MergeLearned(a.ProfilesDir, name, names, a.Options)
}
