package forensics

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// maxAncestors bounds the walk up the process tree; shims re-parent to init
// within a few levels, so the managers we look for are near.
const maxAncestors = 8

// managers are process names (comm, at most 15 bytes) of container managers
// that call the runtime, directly or through their shim.
var managers = []string{"dockerd", "containerd-shim", "containerd", "conmon", "crio", "kubelet", "podman", "buildkitd"}

// ReadCaller describes process pid (the runtime's parent) from procRoot:
// its executable, its command line, and the first container manager among
// it and its ancestors. Unreadable entries are left empty: a vanished parent
// must not fail the record.
func ReadCaller(procRoot string, pid int) *Caller {
	if pid <= 0 {
		return nil
	}
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	exe, _ := os.Readlink(filepath.Join(dir, "exe"))
	var cmdline []string
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		cmdline = splitNul(b)
	}
	var chain []procEntry
	for p, i := pid, 0; p > 1 && i < maxAncestors; i++ {
		st, err := lower.ReadProcStat(procRoot, p)
		if err != nil && !errors.Is(err, lower.ErrShortStat) {
			break
		}
		e := procEntry{pid: p, comm: st.Comm}
		if p != pid && isManager(st.Comm) {
			e.exe, _ = os.Readlink(filepath.Join(procRoot, strconv.Itoa(p), "exe"))
		}
		chain = append(chain, e)
		p = st.PPid
	}
	return callerOf(pid, exe, cmdline, chain)
}

// procEntry is one process of the caller's chain: the caller first, then
// its ancestors, nearest first. exe may be empty (unreadable, or not read
// because it is not needed).
type procEntry struct {
	pid  int
	comm string
	exe  string
}

// callerOf builds the Caller from the facts read about it, live (ReadCaller)
// or by the C fast path (the spool).
func callerOf(pid int, exe string, cmdline []string, chain []procEntry) *Caller {
	if pid <= 0 {
		return nil
	}
	c := &Caller{PID: pid, Exe: exe, Cmdline: cmdline}
	for _, e := range chain {
		if e.pid != pid {
			c.Ancestors = append(c.Ancestors, strconv.Itoa(e.pid)+":"+e.comm)
			if isManager(e.comm) && e.exe != "" {
				c.ManagerExes = append(c.ManagerExes, strconv.Itoa(e.pid)+":"+e.exe)
			}
		}
		if c.Manager == "" && isManager(e.comm) {
			c.Manager = e.comm
		}
	}
	return c
}

// ancestorExe returns the executable of the nearest manager ancestor whose
// executable's file name is base, or "".
func (c *Caller) ancestorExe(base string) string {
	for _, pe := range c.ManagerExes {
		_, exe, _ := strings.Cut(pe, ":")
		exe = strings.TrimSuffix(exe, " (deleted)")
		if filepath.Base(exe) == base {
			return exe
		}
	}
	return ""
}

func isManager(comm string) bool {
	for _, m := range managers {
		if strings.HasPrefix(comm, m) {
			return true
		}
	}
	return false
}

func splitNul(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}
