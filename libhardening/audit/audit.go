// Package audit collects the evidence of the strict controls a profile runs
// in audit mode (rootfs.readonly, seccomp.strict): what the container did
// that enforcement would have broken. At create, when a control of the
// container is audited, the Modifier leaves a small state file in the run
// directory (the container's writable layer, its mounts, its host ID range,
// the syscalls logged instead of denied); at delete, Take takes that state
// and its Findings read the writable layer and the kernel's seccomp reports,
// which the runtime writes into the container's delete record as notes. hardenctl
// reads them back with ParseNote, per container (`why`) and per image.
package audit

import (
	"fmt"
	"path"
	"strings"
)

// Controls whose evidence this package collects.
const (
	RootfsReadonly       = "rootfs.readonly"
	SeccompStrict        = "seccomp.strict"
	SeccompAttackSurface = "seccomp.attack_surface"
)

// seccompLogged marks a State whose filter logs syscalls: the kernel's
// reports are collected at delete.
const seccompLogged = "seccomp"

func isSeccomp(control string) bool {
	return control == SeccompStrict || control == SeccompAttackSurface
}

// notePrefix starts every finding in a forensic record's notes.
const notePrefix = "audit finding "

// Finding is one thing a container did that the control would have made
// fail under enforcement.
type Finding struct {
	// Control is the profile field: RootfsReadonly, SeccompStrict or
	// SeccompAttackSurface.
	Control string `json:"control"`
	// What is the path written (rootfs.readonly) or the syscall
	// (seccomp.strict).
	What string `json:"what"`
	// Detail says how: "created", "modified", "deleted", or for a syscall
	// the process ("postgres, /usr/lib/postgresql/15/bin/postgres, 3 times").
	Detail string `json:"detail,omitempty"`
}

// Note writes f as a forensic note: `audit finding <control>: <what> (<detail>)`.
func (f Finding) Note() string {
	s := notePrefix + f.Control + ": " + f.What
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	return s
}

// ParseNote reads a note written by Finding.Note.
func ParseNote(n string) (Finding, bool) {
	rest, ok := strings.CutPrefix(n, notePrefix)
	if !ok {
		return Finding{}, false
	}
	control, what, ok := strings.Cut(rest, ": ")
	if !ok || control == "" {
		return Finding{}, false
	}
	f := Finding{Control: control, What: what}
	if i := strings.LastIndex(what, " ("); i >= 0 && strings.HasSuffix(what, ")") {
		f.What, f.Detail = what[:i], what[i+2:len(what)-1]
	}
	return f, f.What != ""
}

// WritableDir is the directory an enforced profile must make writable for
// a rootfs.readonly finding: the path's parent, which exists in the image
// (Findings does not descend into directories the container created). "/"
// means the container writes to the root directory itself and needs a
// writable root.
func (f Finding) WritableDir() string {
	if f.Control != RootfsReadonly {
		return ""
	}
	return path.Dir(f.What)
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s %s", f.Control, f.What, f.Detail) }
