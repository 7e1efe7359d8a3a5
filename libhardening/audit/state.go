package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// State is what Findings needs at delete, written at create.
type State struct {
	ContainerID string    `json:"container_id"`
	Created     time.Time `json:"created"`
	// Controls are what to collect: RootfsReadonly, seccompLogged.
	Controls []string `json:"controls"`
	// Layer is the container's writable layer, when the root is an
	// overlay; nil otherwise.
	Layer *Layer `json:"layer,omitempty"`
	// Mounts are the container destinations of every mount of the spec:
	// writes beneath them never reach the writable layer, and runc creates
	// the mount points themselves.
	Mounts []string `json:"mounts,omitempty"`
	// HostUID and UIDCount are the container's host user-ID range (its
	// user namespace); the kernel reports host IDs, so they attribute a
	// report to this container. UIDCount 0: no user namespace.
	HostUID  uint32 `json:"host_uid"`
	UIDCount uint32 `json:"uid_count"`
	// Logged are the syscalls the filter logs instead of denying; Numbers
	// gives their names by number on this host's architecture (the kernel
	// reports numbers), and LoggedBy the control that logs each. Resolved
	// at create (Syscalls), so that delete reads a state without a seccomp
	// library.
	Logged   []string          `json:"logged,omitempty"`
	Numbers  map[int]string    `json:"numbers,omitempty"`
	LoggedBy map[string]string `json:"logged_by,omitempty"`
	// Root is the lower runtime's --root the container was created under,
	// and Pid and PidStart the process that created it (its start time):
	// a delete under another root, or the failed create of a duplicate ID,
	// must not take a live container's state. Empty in states written
	// before they were kept.
	Root     string `json:"root,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	PidStart uint64 `json:"pid_start,omitempty"`
}

// Modifier writes the State of a container whose profile audits a strict
// control. It runs last in the pipeline: it reads the final spec (mounts,
// user namespace, seccomp filter).
type Modifier struct {
	// rootfs is the profile's rootfs section (whether it audits
	// rootfs.readonly); the cleaner has none.
	rootfs policy.Rootfs
	// syscalls reads the seccomp filter; the cleaner has none.
	syscalls Syscalls
}

// Syscalls is what writing a State needs of the seccomp package (which
// links libseccomp): the syscalls a filter logs, and for each its number
// on this host's architecture and the control that logs it. It is given
// to New by the pipeline, so that the delete path, which only reads
// states, builds without cgo (cmd/hardened-runc-delete).
type Syscalls interface {
	LoggedNames(*specs.LinuxSeccomp) []string
	Number(name string) (int, bool)
	Control(name string) string
}

// New returns the audit modifier of profile p.
func New(p *policy.Profile, sc Syscalls) *Modifier { return &Modifier{rootfs: p.Rootfs, syscalls: sc} }

// Cleaner returns what removes a container's audit state at delete, whatever
// the policy says now.
func Cleaner() *Modifier { return &Modifier{} }

// Name implements modifier.Modifier.
func (*Modifier) Name() string { return "audit" }

// Modify implements modifier.Modifier. It changes nothing in the spec: it
// registers the effect that writes the state, which runs last, once the
// effects before it have filled in the user-ID range and mounted the root
// (whose engine overlay record it reads). Effects run only for a launch
// that enforces; a launch that fails after it has its state removed by
// Cleanup.
func (m *Modifier) Modify(ctx *modifier.Context, _ *specs.Spec, _ *modifier.Report) error {
	ctx.Effect(m.writeState)
	return nil
}

// writeState writes the State of the final spec s. Evidence is best
// effort: a state that cannot be written is a note in the record, not a
// failed launch.
func (m *Modifier) writeState(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	var controls []string
	if m.rootfs.Readonly == policy.ControlAudit && (s.Root == nil || !s.Root.Readonly) {
		controls = append(controls, RootfsReadonly)
	}
	var logged []string
	if s.Linux != nil && m.syscalls != nil {
		logged = m.syscalls.LoggedNames(s.Linux.Seccomp)
	}
	if len(logged) > 0 {
		controls = append(controls, seccompLogged)
	}
	if len(controls) == 0 {
		return nil
	}
	st := newState(ctx, s, engineRoot(s, r), controls, logged)
	for _, name := range logged {
		if st.Numbers == nil {
			st.Numbers, st.LoggedBy = map[int]string{}, map[string]string{}
		}
		if nr, ok := m.syscalls.Number(name); ok {
			st.Numbers[nr] = name
		}
		if c := m.syscalls.Control(name); c != "" {
			st.LoggedBy[name] = c
		}
	}
	if slices.Contains(controls, RootfsReadonly) && st.Layer == nil {
		ctx.Note("audit rootfs.readonly: the root filesystem is not an overlay mount with an upper directory; writes to it cannot be collected")
	}
	if other, err := readState(ctx.StateDir(), ctx.ContainerID); err == nil && other != nil && other.Root != "" &&
		lower.NormalizeRoot(other.Root) != lower.NormalizeRoot(ctx.Root) && lower.HasState(lower.Dir(other.Root, ctx.ContainerID)) {
		// Not overwritten: it is the evidence of a live container.
		ctx.Note("audit: container %s also exists under --root %s, whose audit state is kept; this one's evidence will not be collected", ctx.ContainerID, other.Root)
		return nil
	}
	if err := st.write(ctx.StateDir()); err != nil {
		ctx.Note("audit: evidence will not be collected: %v", err)
	}
	return nil
}

// Cleanup implements modifier.Cleaner: a launch that failed after it
// wrote the state leaves none behind, and delete removes what Take did
// not. Neither takes another container's state: one of the same ID under
// another --root, or the live one a duplicate create failed beside. An
// unreadable state is removed.
func (*Modifier) Cleanup(ctx *modifier.Context) error {
	st, err := readState(ctx.StateDir(), ctx.ContainerID)
	if err == nil && st != nil && !st.ownedBy(ctx.Verb, ctx.Root) {
		return nil
	}
	err = os.Remove(statePath(ctx.StateDir(), ctx.ContainerID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ownedBy reports whether a verb under root may take the state: a delete
// under the root it was created under, the launch that wrote it; anyone
// for a state that does not say.
func (st *State) ownedBy(verb, root string) bool {
	if st.Pid == 0 {
		return true
	}
	if verb == "delete" {
		return st.Root == "" || lower.NormalizeRoot(st.Root) == lower.NormalizeRoot(root)
	}
	return lower.Process{Pid: st.Pid, Start: st.PidStart} == lower.Self()
}

// engineRoot is root.path as the engine set it: the user namespace
// modifier replaces it with an idmapped overlay of the same layers, whose
// layer mounts are detached once it is mounted.
func engineRoot(s *specs.Spec, r *modifier.Report) string {
	for _, c := range r.Changes {
		if p, ok := c.Before.(string); ok && c.Path == "root.path" && p != "" {
			return p
		}
	}
	if s.Root == nil {
		return ""
	}
	return s.Root.Path
}

func newState(ctx *modifier.Context, s *specs.Spec, root string, controls, logged []string) *State {
	creator := lower.Self()
	st := &State{ContainerID: ctx.ContainerID, Created: time.Now().UTC(), Controls: controls, Logged: logged,
		Root: ctx.Root, Pid: creator.Pid, PidStart: creator.Start}
	for _, m := range s.Mounts {
		st.Mounts = append(st.Mounts, filepath.Clean(m.Destination))
	}
	if s.Linux != nil {
		for _, m := range s.Linux.UIDMappings {
			if m.ContainerID == 0 {
				st.HostUID, st.UIDCount = m.HostID, m.Size
			}
		}
	}
	if slices.Contains(controls, RootfsReadonly) && root != "" {
		if !filepath.IsAbs(root) {
			root = filepath.Join(ctx.Bundle, root)
		}
		st.Layer = layerAt(ctx, root)
	}
	return st
}

// layerAt is the engine's layer of the container's root: from the record
// of the engine's overlay where the user namespace replaced it in place
// (the overlay mounted there now has lower layers only the creating
// process could reach), else the overlay mounted at root.
func layerAt(ctx *modifier.Context, root string) *Layer {
	if o, err := userns.EngineOverlay(ctx.StateDir(), ctx.ContainerID); err == nil && o.Upper != "" {
		l := &Layer{Upper: o.Upper}
		for _, lo := range o.Lower {
			l.Lowers = append(l.Lowers, lo.Path)
		}
		return l
	}
	l, _ := LayerOf(root)
	return l
}

func statePath(dir, id string) string { return filepath.Join(dir, "audit", id+".json") }

func (st *State) write(dir string) error {
	if st.ContainerID == "" || st.ContainerID != filepath.Base(st.ContainerID) {
		return fmt.Errorf("audit state: invalid container id %q", st.ContainerID)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	p := statePath(dir, st.ContainerID)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	if err := atomicfile.Write(p, data, 0o600, 0o700); err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	return nil
}

// readState returns the container's state, or nil when none of its
// controls was audited.
func readState(dir, id string) (*State, error) {
	if id == "" || id != filepath.Base(id) {
		return nil, nil
	}
	data, err := os.ReadFile(statePath(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit state: %w", err)
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("audit state %s: %w", statePath(dir, id), err)
	}
	return st, nil
}

// Take reads and removes the state of container id, deleted under root,
// for Findings: once it returns, a cleanup of the container's host state
// (which unmounts and frees what the evidence is not read from) may run
// beside the collection. nil when nothing was audited, or the state is
// another root's container's.
func Take(dir, id, root string) (*State, error) {
	st, err := readState(dir, id)
	if err != nil || st == nil || !st.ownedBy("delete", root) {
		return nil, err
	}
	if err := os.Remove(statePath(dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("audit state: %w", err)
	}
	return st, nil
}

// Findings is what the audited controls saw: the paths the container
// wrote to its writable layer, the syscalls the kernel logged for it.
func (st *State) Findings(now time.Time) ([]Finding, error) {
	var out []Finding
	var errs []error
	if slices.Contains(st.Controls, RootfsReadonly) && st.Layer != nil {
		fs, err := st.Layer.Writes(st.Mounts, maxPaths)
		out = append(out, fs...)
		errs = append(errs, err)
	}
	if slices.Contains(st.Controls, seccompLogged) {
		fs, err := SeccompReports(KmsgPath, st, now)
		out = append(out, fs...)
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}
