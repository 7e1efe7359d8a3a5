package audit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Cause is one control that broke, or would break, a container.
type Cause struct {
	// Control is the profile field ("rootfs.readonly", "seccomp.strict",
	// "capabilities.allow", ...) or the rule of a denial.
	Control string `json:"control"`
	// Mode: "denied" (the launch was refused), "enforce" (applied: what it
	// makes fail), "audit" (what it would have made fail), "dropped"
	// (an explicit request dropped by on_request = "drop").
	Mode   string `json:"mode"`
	Effect string `json:"effect"`
	// Evidence are the audit findings, or the container's own log lines
	// that show the control's error (EROFS, EPERM, EACCES).
	Evidence []string `json:"evidence,omitempty"`
	Fix      string   `json:"fix,omitempty"`
}

// Log line markers of the errors each control causes.
var (
	erofs  = []string{"Read-only file system", "EROFS", "cannot lock /etc/passwd", "cannot lock /etc/group"}
	eperm  = []string{"Operation not permitted", "EPERM"}
	eacces = []string{"Permission denied", "EACCES"}
)

// Why explains a container from its records (oldest first: the newest
// create or run is judged, with the delete records that follow it; engines
// often delete twice, and the evidence is in the first) and the last lines
// of its own log (nil when unknown).
func Why(recs []*forensics.Record, logLines []string) []Cause {
	var create *forensics.Record
	var dels []*forensics.Record
	for _, r := range recs {
		switch r.Verb {
		case "create", "run", "restore":
			create, dels = r, nil
		case "delete":
			if create != nil {
				dels = append(dels, r)
			}
		}
	}
	if create == nil {
		return nil
	}
	if create.Decision.Result == forensics.Denied {
		return []Cause{{Control: create.Decision.Rule, Mode: "denied", Effect: "the launch was refused: " + create.Decision.Reason,
			Fix: denialFix(create.Decision.Rule)}}
	}
	var out []Cause
	out = append(out, rootfsCauses(create, logLines)...)
	out = append(out, seccompCauses(create, logLines)...)
	out = append(out, capabilityCauses(create, logLines)...)
	return append(out, auditCauses(dels)...)
}

func rootfsCauses(r *forensics.Record, logLines []string) []Cause {
	var out []Cause
	var tmpfs, noexec []string
	readonly := false
	for _, c := range r.Changes {
		switch {
		case c.Path == "root.readonly" && c.Rule == "rootfs.readonly":
			readonly = true
		case c.Rule == "rootfs.tmpfs" && strings.HasPrefix(c.Path, "mounts["):
			dst := strings.TrimSuffix(strings.TrimPrefix(c.Path, "mounts["), "]")
			tmpfs = append(tmpfs, dst)
			if m, ok := mountOf(c.After); ok && slices.Contains(m.Options, "noexec") {
				noexec = append(noexec, dst)
			}
		}
	}
	if readonly {
		out = append(out, Cause{Control: RootfsReadonly, Mode: "enforce",
			Effect:   fmt.Sprintf("the root filesystem is read-only; writable: the tmpfs mounts %s and the container's volumes; any other write fails with EROFS (Read-only file system)", strings.Join(tmpfs, ", ")),
			Evidence: matching(logLines, erofs),
			Fix:      "audit the image (rootfs.readonly = \"audit\"), then `hardenctl image profile IMAGE` adds its directories to rootfs.tmpfs"})
	}
	if len(noexec) > 0 {
		out = append(out, Cause{Control: "rootfs.tmpfs_noexec", Mode: "enforce",
			Effect:   fmt.Sprintf("programs cannot be run from %s (noexec): execve fails with EACCES (Permission denied)", strings.Join(noexec, ", ")),
			Evidence: matching(logLines, eacces),
			Fix:      "set rootfs.tmpfs_noexec = \"off\" in the image's profile"})
	}
	return out
}

func seccompCauses(r *forensics.Record, logLines []string) []Cause {
	var out []Cause
	modes := seccompModes(r.Notes)
	for _, c := range []string{SeccompAttackSurface, SeccompStrict} {
		if modes[c] != string(policy.ControlEnforce) {
			continue
		}
		what := "kernel attack surface (namespaces, mounts, keyrings, bpf, io_uring, userfaultfd, ptrace, ...)"
		if c == SeccompStrict {
			what = "rarely used by servers (message queues, futex2, pkeys, readahead, sync_file_range, ...)"
		}
		out = append(out, Cause{Control: c, Mode: "enforce",
			Effect:   "syscalls Docker's default allows but this profile cuts as " + what + " fail with EPERM (Operation not permitted); docs/seccomp.md lists them",
			Evidence: matching(logLines, eperm),
			Fix:      fmt.Sprintf("run the image with %s = \"audit\" to learn which, then allow them in its profile (`hardenctl image profile IMAGE`)", c)})
	}
	for _, n := range r.Notes {
		if strings.HasPrefix(n, "seccomp: the engine asked for no filter") {
			out = append(out, Cause{Control: "seccomp.on_request", Mode: "dropped", Effect: n})
		}
	}
	return out
}

func capabilityCauses(r *forensics.Record, logLines []string) []Cause {
	var out []Cause
	for _, c := range r.Changes {
		if c.Rule == "capabilities.allow" && c.Path == "process.capabilities.bounding" {
			out = append(out, Cause{Control: "capabilities.allow", Mode: "enforce",
				Effect:   c.Reason + "; operations that need them fail with EPERM (Operation not permitted)",
				Evidence: matching(logLines, eperm),
				Fix:      "add the capability to capabilities.allow in the image's profile"})
		}
	}
	for _, n := range r.Notes {
		if strings.HasPrefix(n, "capabilities: the engine asked for") {
			out = append(out, Cause{Control: "capabilities.on_request", Mode: "dropped", Effect: n,
				Evidence: matching(logLines, eperm), Fix: "add them to capabilities.allow"})
		}
	}
	return out
}

func auditCauses(dels []*forensics.Record) []Cause {
	byControl := map[string][]string{}
	var order []string
	var notes []string
	for _, d := range dels {
		notes = append(notes, d.Notes...)
	}
	for _, n := range notes {
		f, ok := ParseNote(n)
		if !ok {
			continue
		}
		if byControl[f.Control] == nil {
			order = append(order, f.Control)
		}
		byControl[f.Control] = append(byControl[f.Control], f.What+" ("+f.Detail+")")
	}
	var out []Cause
	for _, c := range order {
		effect := "under enforcement these writes would have failed with EROFS (Read-only file system)"
		if isSeccomp(c) {
			effect = "under enforcement these syscalls would have failed with EPERM (Operation not permitted)"
		}
		out = append(out, Cause{Control: c, Mode: "audit", Effect: effect, Evidence: byControl[c],
			Fix: "`hardenctl image profile IMAGE` turns this evidence into the image's profile"})
	}
	return out
}

// denialFix says how to allow what a rule refused; the record keeps the
// rule and reason, the one-line message had the profile-specific fix.
func denialFix(rule string) string {
	switch rule {
	case "capabilities.allow":
		return "add the capability to capabilities.allow in the container's profile, or set capabilities.on_request = \"drop\" to run it without"
	case "seccomp.mode":
		return "set seccomp.mode = \"unconfined\" in the container's profile, or seccomp.on_request = \"drop\" to run it filtered"
	}
	return fmt.Sprintf("`hardenctl explain --bundle BUNDLE` shows the denial with its fix; docs/policy.md documents %s", rule)
}

// mountOf reads a recorded mount (a Change's After, decoded from JSON).
func mountOf(v any) (specs.Mount, bool) {
	var m specs.Mount
	data, err := json.Marshal(v)
	if err != nil || json.Unmarshal(data, &m) != nil {
		return m, false
	}
	return m, m.Destination != ""
}

// matching returns the log lines that contain one of markers.
func matching(lines, markers []string) []string {
	var out []string
	for _, l := range lines {
		for _, m := range markers {
			if strings.Contains(l, m) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// OriginalSpec decodes the spec a record received, for the engine state
// it points at (Docker's container directory); nil when there is none.
func OriginalSpec(r *forensics.Record) *specs.Spec {
	if r == nil || r.Original == nil || len(r.Original.Content) == 0 {
		return nil
	}
	var s specs.Spec
	if json.Unmarshal(r.Original.Content, &s) != nil {
		return nil
	}
	return &s
}
