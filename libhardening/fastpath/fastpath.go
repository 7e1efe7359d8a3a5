// Package fastpath lets hardened-runc hand the verbs it never changes to the
// lower runtime without starting the Go runtime at all.
//
// A Go program costs several milliseconds to start before main runs (more
// on a VM), which is most of what a wrapper adds to `runc state`. So what
// engines run, hardened-runc, is a small C program (cmd/hardened-runc), and
// the Go side is hardened-runc-go beside it. The verbs marked Fast in
// Verbs() are passed through verbatim, so the only thing hardened-runc
// decides for them is which lower runtime to exec, and that depends on
// config.toml, PATH and the binaries on disk. After the Go side has made
// that decision it records it here, with the identity of every file the
// decision was read from. On the next call, the C program checks that
// every recorded identity still holds, and execs the recorded runtime
// directly. Anything it is not certain of (an unknown global flag,
// --debug, a changed config, a replaced runc or Go side, a record it does
// not own) makes it exec the Go side, which handles the call as before.
//
// Spooled verbs (start, kill, and a delete of a container that holds
// nothing) get their forensic record appended to a spool by the C program
// before it execs the lower runtime (forensics/spool.go).
//
// delete (Verbs: Overlap) is recorded and may release what the container
// held, so the C program does not exec the lower runtime for it: it forks
// it with the command line unchanged. With a delete helper and a release
// lock recorded (cmd/hardened-runc-delete: the same wrapper code built
// without cgo, which starts sooner), it also forks the helper, named the
// runtime in ReleaseEnv, and returns the runtime's status once both the
// runtime has exited and the helper has settled what the engine reads
// after delete; the helper finishes the release after that, holding the
// container's release lock (package inflight; wrapper's delete). Without
// them it execs the Go side, named the runtime in StartedEnv, which
// releases while the runtime runs, waits for it and exits with its status
// (wrapper.Started).
//
// The record is a text file in Dir, named by Key, one field per line:
//
//	hardened-runc fastpath 5
//	config=<config.toml path, as the process was given it>
//	config-id=<identity of config.toml, or "absent">
//	path=<$PATH the lower runtime was looked up in>
//	runtime=<the configured runtime: absolute path or a name looked up in PATH>
//	self-id=<identity of the hardened-runc program>
//	go-id=<identity of hardened-runc-go beside it>
//	lower=<absolute path of the lower runtime>
//	lower-id=<identity of the lower runtime>
//	forensics=<the config's forensics_dir, where spooled records go>
//	held=<paths, ":"-separated, "{id}" for the container ID: a delete
//	      spooled only when none exists (modifier.HoldPather); empty: never>
//	delete-helper-id=<identity of hardened-runc-delete beside it, or empty>
//	release-lock=<a container's release lock, "{id}" for its ID (package
//	      inflight); empty: deletes are not split>
//
// An identity is "dev ino size mtime_sec mtime_nsec ctime_sec ctime_nsec" of
// stat(2). A file whose ctime is under MinAge old is not recorded, because
// an in-place edit within the same clock tick would keep its identity.
package fastpath

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
)

// Dir holds the records. It is fixed, not taken from config.toml, because
// the C side runs before anything can read TOML; it is per boot, like the
// runtime state it points at.
const Dir = "/run/hardened-runc/fastpath"

// MinAge is how old a file's last change must be before its identity is
// trusted: file timestamps advance with the kernel's clock tick, so a
// same-size edit within a tick could otherwise go unnoticed.
const MinAge = time.Second

const header = "hardened-runc fastpath 5"

// StartedEnv names, in the delete helper's environment, the lower runtime
// hardened-runc started: "<pid>:<path>".
const StartedEnv = "HARDENED_RUNC_STARTED"

// ReleaseEnv names, in the delete helper's environment, the lower runtime
// hardened-runc started for a split delete: "<pid>:<path>". The helper is
// then its sibling, not its parent: it gets a pidfd of the runtime on
// ReleasePidFD, and SettledFD, the write end of a pipe hardened-runc reads
// until the helper closes it, once what the engine reads after delete is
// settled (or dies).
const (
	ReleaseEnv   = "HARDENED_RUNC_RELEASE"
	ReleasePidFD = 3
	SettledFD    = 4
)

// File names of hardened-runc (the C program), its Go side and the delete
// helper, all in one directory.
const (
	FrontName        = "hardened-runc"
	GoName           = "hardened-runc-go"
	DeleteHelperName = "hardened-runc-delete"
)

// Eligible reports whether verb is one the fast path may handle (Verbs:
// Fast, Spooled or Overlap), so one the Go side records the decision for.
// The others run policy.
func Eligible(verb string) bool {
	v := Lookup(verb)
	return v.Fast || v.Spooled || v.Overlap
}

// Key names the record for one config path and PATH. Callers with different
// environments (dockerd, a containerd shim, an admin's shell) each get their
// own record instead of overwriting each other's. FNV-1a 64, because the C
// side computes it too.
func Key(configPath, pathEnv string) string {
	h := fnv.New64a()
	h.Write([]byte(configPath))
	h.Write([]byte{'\n'})
	h.Write([]byte(pathEnv))
	return fmt.Sprintf("%016x", h.Sum64())
}

// Identity is a file's identity as the C side compares it, "absent" for a
// file that does not exist.
type Identity string

// Absent is the identity of a missing file (a host without config.toml).
const Absent Identity = "absent"

// Identify stats path (following symlinks, as exec and open do).
func Identify(path string) (Identity, time.Time, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return Absent, time.Time{}, nil
		}
		return "", time.Time{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	id := fmt.Sprintf("%d %d %d %d %d %d %d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	return Identity(id), time.Unix(st.Ctim.Sec, st.Ctim.Nsec), nil
}

// Entry is one pass-through decision: with this config and this PATH, this
// hardened-runc execs this lower runtime.
type Entry struct {
	ConfigPath string
	// ConfigID must be taken before the config was read, so an edit made
	// while it was being read shows up as a changed identity.
	ConfigID Identity
	// ConfigChanged is the config's ctime, for the MinAge check.
	ConfigChanged time.Time
	PathEnv       string
	Runtime       string // as configured: an absolute path or a name
	Self          string // the hardened-runc program, which reads the record
	Go            string // the Go side that decided: normally /proc/self/exe
	Lower         string // the resolved absolute path
	// ForensicsDir is the config's forensics_dir: the spooled verbs'
	// records go to its spool.
	ForensicsDir string
	// Held are the paths (IDPlaceholder for the container ID) of which
	// one exists while a container holds something delete releases; nil
	// when that cannot be told by paths (delete is then never spooled).
	Held []string
	// DeleteHelper is the delete helper's path, beside Self; empty, or a
	// file that is not there, records none.
	DeleteHelper string
	// ReleaseLock is a container's release lock (IDPlaceholder for its
	// ID, package inflight), which a delete waits for before it looks at
	// Held; empty records none, and the C program then does not split a
	// delete.
	ReleaseLock string
}

// IDPlaceholder stands for the container ID in Entry.Held.
const IDPlaceholder = "{id}"

// ValidHeld reports whether p can be one of Entry.Held: absolute, with the
// ID placeholder once, and nothing the record's format cannot hold.
func ValidHeld(p string) bool {
	return filepath.IsAbs(p) && !strings.ContainsAny(p, ":\n\x00") && strings.Count(p, IDPlaceholder) == 1
}

// ErrTooFresh is returned when a file changed less than MinAge ago; the
// record is written by a later call.
var ErrTooFresh = errors.New("a file changed too recently to be recorded")

// Refresh writes e's record into dir unless the same record is already
// there. It is called by the Go side after it passed an eligible verb
// through, so a missing or stale record costs one slow call, not every call.
func Refresh(dir string, e Entry, now time.Time) error {
	if !filepath.IsAbs(e.ConfigPath) {
		// The C side would look the record up by a path that means
		// something else in another working directory.
		return fmt.Errorf("config path %q is relative", e.ConfigPath)
	}
	for _, s := range []string{e.ConfigPath, e.PathEnv, e.Runtime, e.Lower, e.ForensicsDir} {
		if strings.ContainsAny(s, "\n\x00") {
			return fmt.Errorf("%q cannot be recorded", s)
		}
	}
	for _, p := range e.Held {
		if !ValidHeld(p) {
			return fmt.Errorf("held path %q cannot be recorded", p)
		}
	}
	if e.ReleaseLock != "" && !ValidHeld(e.ReleaseLock) {
		return fmt.Errorf("release lock %q cannot be recorded", e.ReleaseLock)
	}
	changed := []time.Time{e.ConfigChanged}
	var ids [3]Identity
	for i, p := range []string{e.Self, e.Go, e.Lower} {
		id, t, err := Identify(p)
		if err != nil {
			return err
		}
		if id == Absent {
			return fmt.Errorf("%s is missing", p)
		}
		ids[i] = id
		changed = append(changed, t)
	}
	if filepath.Dir(e.Self) != filepath.Dir(e.Go) || filepath.Base(e.Go) != GoName {
		return fmt.Errorf("%s is not %s beside %s, where hardened-runc runs it", e.Go, GoName, e.Self)
	}
	helperID := Identity("")
	if e.DeleteHelper != "" {
		if e.DeleteHelper != filepath.Join(filepath.Dir(e.Self), DeleteHelperName) {
			return fmt.Errorf("%s is not %s beside %s, where hardened-runc runs it", e.DeleteHelper, DeleteHelperName, e.Self)
		}
		id, t, err := Identify(e.DeleteHelper)
		if err != nil {
			return err
		}
		if id != Absent {
			helperID = id
			changed = append(changed, t)
		}
	}
	for _, t := range changed {
		if now.Sub(t) < MinAge {
			return ErrTooFresh
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nconfig=%s\nconfig-id=%s\npath=%s\nruntime=%s\nself-id=%s\ngo-id=%s\nlower=%s\nlower-id=%s\nforensics=%s\nheld=%s\ndelete-helper-id=%s\nrelease-lock=%s\n",
		header, e.ConfigPath, e.ConfigID, e.PathEnv, e.Runtime, ids[0], ids[1], e.Lower, ids[2], e.ForensicsDir, strings.Join(e.Held, ":"), helperID, e.ReleaseLock)
	path := filepath.Join(dir, Key(e.ConfigPath, e.PathEnv))
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b.Bytes()) {
		return nil
	}
	return atomicfile.Write(path, b.Bytes(), 0o600, 0o700)
}
