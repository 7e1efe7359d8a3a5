package lower

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// DefaultRoot is runc's --root when none is given (as root). The literal
// lives in package policy, whose StatePaths must name it and which cannot
// import this package (lower builds modifier.Lower; modifier imports policy).
const DefaultRoot = policy.DefaultRuncRoot

// StateRoots are where the lower runtime keeps container state when called
// by plain runc and crun users, Docker and containerd (one directory per
// namespace); globs allowed.
func StateRoots() []string {
	return []string{DefaultRoot, crunRoot, "/run/docker/runtime-runc/moby", "/run/containerd/runc/*"}
}

// crunRoot is crun's --root as root when XDG_RUNTIME_DIR is not set.
const crunRoot = "/run/crun"

// RootOf is the state root of the lower runtime whose version (as
// modifier.Lower reports it: "1.1.5" for runc, "crun 1.8.1") is given, when
// the caller passes no --root: runc keeps its state in DefaultRoot, crun in
// $XDG_RUNTIME_DIR/crun (honoured even as root) or /run/crun. An unknown
// runtime is taken as runc. A container's ID range, mounts and the state
// paths no mount may reach are keyed by this root, so it must be the
// directory the runtime really writes.
func RootOf(version, xdgRuntimeDir string) string {
	if !strings.HasPrefix(version, "crun ") {
		return DefaultRoot
	}
	if xdgRuntimeDir != "" {
		return filepath.Join(xdgRuntimeDir, "crun")
	}
	return crunRoot
}

// NormalizeRoot is a --root as state is keyed by: runc's default for "",
// absolute, with symlinks resolved where it exists (/var/run/runc and
// /run/runc are one root).
func NormalizeRoot(root string) string {
	if root == "" {
		root = DefaultRoot
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	return root
}

// Dir is the state directory of container id under --root root ("" means
// DefaultRoot), as the runtime names it: no normalisation, no file read.
func Dir(root, id string) string {
	if root == "" {
		root = DefaultRoot
	}
	return filepath.Join(root, id)
}

// The files a container's state lives in, inside its Dir.
const (
	runcStateFile = "state.json" // runc
	crunStateFile = "status"     // crun
)

// HasState reports whether the lower runtime still has state for the
// container in dir: after `delete` succeeded it has none. It only stats.
func HasState(dir string) bool {
	for _, f := range []string{runcStateFile, crunStateFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// State is what the lower runtime records about a container.
type State struct {
	ID      string // "" from crun: the directory names it
	Pid     int    // init process
	Start   uint64 // init's start time (clock ticks after boot), 0 if unknown
	Created time.Time
	Bundle  string
	// OwnPIDNamespace: the container has a PID namespace of its own (runc
	// records it; false when unknown, as from crun), so its processes end
	// with its init.
	OwnPIDNamespace bool
	// PoststopHooks is how many poststop hooks the runtime runs at delete
	// (runc records them; 0 when unknown: read with OwnPIDNamespace).
	PoststopHooks int
}

// ReadState reads a container's state in dir (<root>/<id>): runc's
// state.json (the bundle in a "bundle=" label), or where there is none,
// crun's status.
func ReadState(dir string) (State, error) {
	b, err := os.ReadFile(filepath.Join(dir, runcStateFile))
	if err == nil {
		var st struct {
			ID      string    `json:"id"`
			Pid     int       `json:"init_process_pid"`
			Start   uint64    `json:"init_process_start"`
			Created time.Time `json:"created"`
			Config  struct {
				Labels     []string `json:"labels"`
				Namespaces []struct {
					Type string `json:"type"`
					Path string `json:"path"`
				} `json:"namespaces"`
				Hooks struct {
					Poststop []json.RawMessage `json:"poststop"`
				} `json:"Hooks"`
			} `json:"config"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return State{}, fmt.Errorf("%s: %w", filepath.Join(dir, runcStateFile), err)
		}
		s := State{ID: st.ID, Pid: st.Pid, Start: st.Start, Created: st.Created, PoststopHooks: len(st.Config.Hooks.Poststop)}
		for _, ns := range st.Config.Namespaces {
			if ns.Type == "NEWPID" && ns.Path == "" {
				s.OwnPIDNamespace = true
			}
		}
		for _, l := range st.Config.Labels {
			if b, ok := strings.CutPrefix(l, "bundle="); ok {
				s.Bundle = b
				break
			}
		}
		return s, nil
	}
	b, err = os.ReadFile(filepath.Join(dir, crunStateFile))
	if err != nil {
		return State{}, fmt.Errorf("no lower runtime state in %s: %w", dir, err)
	}
	var st struct {
		Pid     int       `json:"pid"`
		Start   uint64    `json:"process-start-time"`
		Created time.Time `json:"created"`
		Bundle  string    `json:"bundle"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("%s: %w", filepath.Join(dir, crunStateFile), err)
	}
	return State{Pid: st.Pid, Start: st.Start, Created: st.Created, Bundle: st.Bundle}, nil
}

// Running reports whether the container's init process exists under
// procRoot ("/proc") and, when its start time is known, started then, so a
// reused pid is not mistaken for it.
func (s State) Running(procRoot string) bool {
	if s.Pid <= 0 {
		return false
	}
	if s.Start == 0 {
		_, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(s.Pid), "stat"))
		return err == nil
	}
	start, err := ProcessStart(procRoot, s.Pid)
	return err == nil && start == s.Start
}

// Exited reports whether the container's init process is known to have
// ended: its pid is gone, reused by a later process, or a zombie. A
// container whose init's start time is unknown has not provably exited
// while its pid exists.
func (s State) Exited(procRoot string) bool {
	if s.Pid <= 0 {
		return false
	}
	st, err := ReadProcStat(procRoot, s.Pid)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return true
	}
	if err != nil || s.Start == 0 {
		return false
	}
	return st.Start != s.Start || st.State == 'Z' || st.State == 'X'
}

// Process names a process so that a later one reusing its pid is not
// mistaken for it: its pid and start time. Records of who created or
// reserved something (an ID range, an MCS pair, audit state) keep one.
type Process struct {
	Pid   int
	Start uint64
}

// Self is this process (Start 0 if /proc cannot be read, which matches no
// recorded process).
func Self() Process {
	start, _ := ProcessStart("/proc", os.Getpid())
	return Process{Pid: os.Getpid(), Start: start}
}

// Running reports whether p still runs under procRoot ("/proc").
func (p Process) Running(procRoot string) bool {
	start, err := ProcessStart(procRoot, p.Pid)
	return err == nil && start == p.Start
}

// ProcessStart returns the start time (clock ticks after boot) of pid under
// procRoot ("/proc"): with the pid, it tells a live process from a later
// one that reuses the pid. runc records it for a container's init; the
// user-namespace allocator for the process that created a container.
func ProcessStart(procRoot string, pid int) (uint64, error) {
	st, err := ReadProcStat(procRoot, pid)
	return st.Start, err
}

// ProcStat is what hardened-runc reads of /proc/<pid>/stat.
type ProcStat struct {
	Comm  string
	State byte // R, S, Z, X...
	PPid  int
	Start uint64 // clock ticks after boot
}

// ErrShortStat: the stat line ends before the start time; Comm, State and
// PPid were read.
var ErrShortStat = errors.New("no start time")

// ReadProcStat reads /proc/<pid>/stat under procRoot ("/proc"). A line
// that ends before the start time is returned with ErrShortStat wrapped.
func ReadProcStat(procRoot string, pid int) (ProcStat, error) {
	path := filepath.Join(procRoot, strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(path)
	if err != nil {
		return ProcStat{}, err
	}
	// The command may hold spaces and parentheses: it runs from the first
	// '(' to the last ')', and fields are counted after it. Field 3
	// (state) is the first after it, 4 (ppid) the second, 22 (starttime)
	// the 20th.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return ProcStat{}, fmt.Errorf("%s: malformed", path)
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return ProcStat{}, fmt.Errorf("%s: malformed", path)
	}
	st := ProcStat{Comm: string(b[open+1 : end]), State: fields[0][0]}
	if st.PPid, err = strconv.Atoi(fields[1]); err != nil {
		return ProcStat{}, fmt.Errorf("%s: malformed", path)
	}
	if len(fields) < 20 {
		return st, fmt.Errorf("%s: %w", path, ErrShortStat)
	}
	if st.Start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("%s: malformed", path)
	}
	return st, nil
}

// Container is a container the lower runtime has state for whose init
// process is alive.
type Container struct {
	ID      string    `json:"id"`
	Root    string    `json:"root"`
	PID     int       `json:"pid"`
	Created time.Time `json:"created,omitempty"`
}

// RunningContainers lists live containers under the state roots (globs
// allowed). A container whose init pid is gone or was reused is skipped.
func RunningContainers(procRoot string, roots []string) ([]Container, error) {
	var out []Container
	for _, pattern := range roots {
		dirs, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("state root %q: %w", pattern, err)
		}
		for _, root := range dirs {
			out = append(out, runningIn(procRoot, root)...)
		}
	}
	return out, nil
}

func runningIn(procRoot, root string) []Container {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []Container
	for _, e := range entries {
		st, err := ReadState(filepath.Join(root, e.Name()))
		if err != nil || !st.Running(procRoot) {
			continue
		}
		if st.ID == "" {
			st.ID = e.Name()
		}
		out = append(out, Container{ID: st.ID, Root: root, PID: st.Pid, Created: st.Created})
	}
	return out
}
