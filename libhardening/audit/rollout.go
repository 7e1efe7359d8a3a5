package audit

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Notes the pipeline writes at create (confine's rootfs modifier, the
// seccomp modifier): the read-only root audited, and the seccomp controls'
// modes ("seccomp controls: attack_surface=enforce strict=audit").
const (
	auditedRootfsNote   = "audit rootfs.readonly:"
	seccompControlsNote = "seccomp controls: "
)

// seccompModes reads the seccomp controls' modes from a create record's
// notes; nil when the profile was not generated.
func seccompModes(notes []string) map[string]string {
	for _, n := range notes {
		rest, ok := strings.CutPrefix(n, seccompControlsNote)
		if !ok {
			continue
		}
		out := map[string]string{}
		for _, kv := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				out["seccomp."+k] = v
			}
		}
		return out
	}
	return nil
}

// systemDirs are directories a tmpfs must never cover: the image's own
// programs, libraries and configuration live there.
var systemDirs = []string{"/", "/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr", "/var", "/opt", "/home", "/root", "/srv"}

// Observation is one container's audit history, from its create and
// delete records.
type Observation struct {
	ContainerID string    `json:"container_id"`
	Image       string    `json:"image,omitempty"`
	Profile     string    `json:"profile,omitempty"`
	Created     time.Time `json:"created"`
	// Audited are the controls audited at create.
	Audited []string `json:"audited,omitempty"`
	// Collected is set once the delete record (with the evidence) is seen.
	Collected bool      `json:"collected"`
	Findings  []Finding `json:"findings,omitempty"`
	// Incomplete says why evidence is missing, from the delete record.
	Incomplete string `json:"incomplete,omitempty"`
}

// Observer gathers Observations from forensic records in store order.
type Observer struct {
	byID  map[string]*Observation
	order []*Observation
}

// NewObserver returns an empty Observer.
func NewObserver() *Observer { return &Observer{byID: map[string]*Observation{}} }

// Add reads one record: a create or run starts an observation, a delete
// completes the latest one of that container.
func (o *Observer) Add(r *forensics.Record) {
	switch r.Verb {
	case "create", "run":
		if r.Decision.Result == forensics.Denied || r.Decision.Result == forensics.Failed {
			return
		}
		ob := &Observation{ContainerID: r.ContainerID, Image: r.ImageName(), Profile: r.ProfileName(), Created: r.Time}
		for _, n := range r.Notes {
			if strings.HasPrefix(n, auditedRootfsNote) {
				ob.Audited = appendOnce(ob.Audited, RootfsReadonly)
			}
		}
		for control, mode := range seccompModes(r.Notes) {
			if mode == string(policy.ControlAudit) {
				ob.Audited = appendOnce(ob.Audited, control)
			}
		}
		slices.Sort(ob.Audited)
		o.byID[r.ContainerID] = ob
		o.order = append(o.order, ob)
	case "delete":
		// Engines delete twice (the shim's cleanup): the evidence is in
		// whichever record ran after the container was gone.
		ob := o.byID[r.ContainerID]
		if ob == nil {
			return
		}
		ob.Collected = true
		for _, n := range r.Notes {
			if f, ok := ParseNote(n); ok {
				ob.Findings = append(ob.Findings, f)
			} else if strings.HasPrefix(n, "audit evidence incomplete: ") {
				ob.Incomplete = strings.TrimPrefix(n, "audit evidence incomplete: ")
			}
		}
	}
}

// ImageReport is what the audit saw of one image, and whether a profile
// enforcing the audited controls is ready for it.
type ImageReport struct {
	Image    string `json:"image"`
	Launches int    `json:"launches"`
	// Observed are the launches with evidence collected for at least one
	// audited control.
	Observed int `json:"observed"`
	// Audited are the controls the observed launches audited.
	Audited []string `json:"audited"`
	// Findings are distinct by control and What, first seen first.
	Findings []Finding `json:"findings"`
	// LastAddedFindings is set when the latest observed launch saw
	// something earlier ones did not: the evidence is still moving.
	LastAddedFindings bool `json:"last_added_findings"`
	// LastIncomplete is why the latest observed launch's evidence is
	// incomplete (the kernel suppressed audit records), "" when it is not.
	LastIncomplete string `json:"last_incomplete,omitempty"`
	Ready          bool   `json:"ready"`
	// NotReady says why not, one reason a line.
	NotReady []string `json:"not_ready,omitempty"`
	// Warnings are what an admin should read before enforcing.
	Warnings []string `json:"warnings,omitempty"`

	// incomplete is, per observed launch in order, why its evidence is
	// incomplete ("" when it is not).
	incomplete []string
}

// Images returns a report per image, sorted by image, judged ready with at
// least minObserved observed launches.
func (o *Observer) Images(minObserved int) []*ImageReport {
	byImage := map[string]*ImageReport{}
	var names []string
	for _, ob := range o.order {
		img := ob.Image
		if img == "" {
			img = "(unknown image)"
		}
		rep := byImage[img]
		if rep == nil {
			rep = &ImageReport{Image: img}
			byImage[img] = rep
			names = append(names, img)
		}
		rep.Launches++
		if !ob.Collected || len(ob.Audited) == 0 {
			continue
		}
		rep.Observed++
		for _, c := range ob.Audited {
			rep.Audited = appendOnce(rep.Audited, c)
		}
		rep.LastAddedFindings = false
		for _, f := range ob.Findings {
			if !slices.ContainsFunc(rep.Findings, func(g Finding) bool { return g.Control == f.Control && g.What == f.What }) {
				rep.Findings = append(rep.Findings, f)
				rep.LastAddedFindings = rep.Observed > 1
			}
		}
		rep.LastIncomplete = ob.Incomplete
		rep.incomplete = append(rep.incomplete, ob.Incomplete)
		if ob.Incomplete != "" {
			rep.Warnings = appendOnce(rep.Warnings, "evidence incomplete: "+ob.Incomplete)
		}
	}
	sort.Strings(names)
	out := make([]*ImageReport, 0, len(names))
	for _, n := range names {
		rep := byImage[n]
		rep.judge(minObserved)
		out = append(out, rep)
	}
	return out
}

// judge decides readiness.
func (r *ImageReport) judge(minObserved int) {
	if r.Image == "(unknown image)" {
		r.NotReady = append(r.NotReady, "the image is not known (no CRI annotation, no Docker state): select these containers by another rule")
	}
	if r.Observed < minObserved {
		r.NotReady = append(r.NotReady, fmt.Sprintf("%d audited launch(es) observed to the end, want at least %d", r.Observed, minObserved))
	}
	if r.LastAddedFindings {
		r.NotReady = append(r.NotReady, "the latest launch wrote or called something earlier launches did not: keep auditing")
	}
	if n, first := r.recentIncomplete(minObserved); n > 0 {
		r.NotReady = append(r.NotReady, fmt.Sprintf("%d of the last %d audited launch(es) have incomplete evidence (%s); "+
			"where the kernel's audit records are rate-limited (no auditd), a launch that floods them is never complete", n, min(max(minObserved, 1), len(r.incomplete)), first))
	}
	for _, f := range r.Findings {
		if f.Control != RootfsReadonly {
			continue
		}
		switch d := f.WritableDir(); {
		case f.What == "/":
			r.NotReady = append(r.NotReady, "more written paths than one record holds ("+f.Detail+"): this image writes all over its root (a build step?); keep rootfs.readonly = \"audit\" for it")
		case slices.Contains(systemDirs, d):
			r.NotReady = append(r.NotReady, fmt.Sprintf("%s %s: a tmpfs on %s would hide the image's files; give the image a volume there, or keep rootfs.readonly = \"audit\"", f.What, f.Detail, d))
		case f.Detail == "modified" || f.Detail == "deleted":
			r.Warnings = appendOnce(r.Warnings, fmt.Sprintf("%s was %s in place: the tmpfs on %s starts empty, hiding the image's files there", f.What, f.Detail, d))
		}
	}
	r.Ready = len(r.NotReady) == 0
}

// recentIncomplete counts the launches with incomplete evidence among the
// last minObserved observed ones (at least the latest), and returns the
// first one's reason. Not only the latest: a container restarted in its
// workload (postgres' load) has a quiet latest launch after the one that
// did the work, and the quiet one being complete says nothing about the
// other.
func (r *ImageReport) recentIncomplete(minObserved int) (n int, first string) {
	recent := r.incomplete[max(0, len(r.incomplete)-max(minObserved, 1)):]
	for _, why := range recent {
		if why == "" {
			continue
		}
		if n == 0 {
			first = why
		}
		n++
	}
	return n, first
}

// WritableDirs are the directories the generated profile makes tmpfs:
// the parents of what the image wrote, minus those beneath another or
// beneath the base's own tmpfs, and minus system directories.
func (r *ImageReport) WritableDirs(base []string) []string {
	var dirs []string
	for _, f := range r.Findings {
		if d := f.WritableDir(); d != "" && f.What != "/" && !slices.Contains(systemDirs, d) {
			dirs = appendOnce(dirs, d)
		}
	}
	sort.Strings(dirs)
	var out []string
	for _, d := range dirs {
		if beneathAny(d, base) || beneathAny(d, out) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// Syscalls are the logged syscalls the generated profile allows.
func (r *ImageReport) Syscalls() []string {
	var out []string
	for _, f := range r.Findings {
		if isSeccomp(f.Control) {
			out = appendOnce(out, f.What)
		}
	}
	sort.Strings(out)
	return out
}

// Profile writes a profile for the image that extends base and enforces
// what was audited: a read-only root with the written directories as
// tmpfs, and the strict seccomp cuts less the syscalls the image called.
func (r *ImageReport) Profile(base *policy.Profile, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by `hardenctl image profile %s` on %s from %d audited launch(es)\n", r.Image, time.Now().UTC().Format("2006-01-02"), r.Observed)
	fmt.Fprintf(&b, "# of %q. Install it as <profiles_dir>/%s.toml and select it in config.toml:\n", r.Image, name)
	fmt.Fprintf(&b, "#   [[select]]\n#   profile = %q\n#   image = %q\n", name, r.Image)
	if r.Ready {
		b.WriteString("# Ready for enforcement.\n")
	} else {
		b.WriteString("# NOT ready for enforcement yet:\n")
		for _, n := range r.NotReady {
			b.WriteString("#   - " + n + "\n")
		}
	}
	for _, w := range r.Warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	fmt.Fprintf(&b, "extends = %q\n", base.Name)
	fmt.Fprintf(&b, "description = %q\n", "per-image profile for "+r.Image+", from audit evidence")
	if slices.Contains(r.Audited, RootfsReadonly) {
		tmpfs := append(slices.Clone(base.Rootfs.Tmpfs), r.WritableDirs(base.Rootfs.Tmpfs)...)
		b.WriteString("\n[rootfs]\nreadonly = \"enforce\"\n")
		b.WriteString("# the base's scratch directories, then what the image wrote to\n")
		fmt.Fprintf(&b, "tmpfs = [%s]\n", quoteList(tmpfs))
	}
	if slices.ContainsFunc(r.Audited, isSeccomp) {
		b.WriteString("\n[seccomp]\n")
		for _, c := range []string{SeccompAttackSurface, SeccompStrict} {
			if slices.Contains(r.Audited, c) {
				fmt.Fprintf(&b, "%s = \"enforce\"\n", strings.TrimPrefix(c, "seccomp."))
			}
		}
		allow := append(slices.Clone(base.Seccomp.Allow), r.Syscalls()...)
		if len(r.Syscalls()) > 0 {
			b.WriteString("# cut beyond Docker's default, but called by this image\n")
		}
		fmt.Fprintf(&b, "allow = [%s]\n", quoteList(allow))
	}
	return b.String()
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func beneathAny(d string, dirs []string) bool {
	for _, p := range dirs {
		p = path.Clean(p)
		if d == p || strings.HasPrefix(d, p+"/") {
			return true
		}
	}
	return false
}

func appendOnce(l []string, s string) []string {
	if slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}
