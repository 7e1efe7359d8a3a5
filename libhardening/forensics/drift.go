package forensics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// DefaultStateRoots are where runc keeps container state when called by
// plain runc and crun users, Docker and containerd (one directory per
// namespace).
var DefaultStateRoots = []string{"/run/runc", "/run/crun", "/run/docker/runtime-runc/moby", "/run/containerd/runc/*"}

// Running is a container the lower runtime has state for whose init
// process is alive.
type Running struct {
	ID      string    `json:"id"`
	Root    string    `json:"root"`
	PID     int       `json:"pid"`
	Created time.Time `json:"created,omitempty"`
}

// RunningContainers lists live containers under the state roots (globs
// allowed). A container whose init pid is gone or was reused is skipped.
func RunningContainers(procRoot string, roots []string) ([]Running, error) {
	var out []Running
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

func runningIn(procRoot, root string) []Running {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []Running
	for _, e := range entries {
		st, ok := lowerState(filepath.Join(root, e.Name()))
		if !ok || st.PID <= 0 || !alive(procRoot, st.PID, st.Start) {
			continue
		}
		if st.ID == "" {
			st.ID = e.Name()
		}
		out = append(out, Running{ID: st.ID, Root: root, PID: st.PID, Created: st.Created})
	}
	return out
}

type lowerStatus struct {
	ID      string
	PID     int
	Start   uint64
	Created time.Time
}

// lowerState reads a container's state in dir (<root>/<id>): runc's
// state.json, or crun's status (no id: the directory names it).
func lowerState(dir string) (lowerStatus, bool) {
	if b, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		var st struct {
			ID      string    `json:"id"`
			PID     int       `json:"init_process_pid"`
			Start   uint64    `json:"init_process_start"`
			Created time.Time `json:"created"`
		}
		err := json.Unmarshal(b, &st)
		return lowerStatus{st.ID, st.PID, st.Start, st.Created}, err == nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return lowerStatus{}, false
	}
	var st struct {
		PID     int       `json:"pid"`
		Start   uint64    `json:"process-start-time"`
		Created time.Time `json:"created"`
	}
	err = json.Unmarshal(b, &st)
	return lowerStatus{PID: st.PID, Start: st.Start, Created: st.Created}, err == nil
}

// alive reports whether pid exists and, when start is known, started at
// that time (clock ticks since boot), so a reused pid is not mistaken.
func alive(procRoot string, pid int, start uint64) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	if start == 0 {
		return true
	}
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return false
	}
	// Field 22 (starttime) is the 20th field after the comm.
	fields := strings.Fields(string(b[end+1:]))
	return len(fields) > 19 && fields[19] == strconv.FormatUint(start, 10)
}

// Drift is a running container launched under a profile that is not the
// one in force now.
type Drift struct {
	Running
	Launched    time.Time `json:"launched"`
	Seq         uint64    `json:"seq"`
	Profile     string    `json:"profile"`
	LaunchHash  string    `json:"launch_hash"`
	CurrentHash string    `json:"current_hash,omitempty"`
	// Differences are the profile settings that changed since the launch,
	// "section.field: old -> new"; empty when the launch-time profile was
	// not kept in the store.
	Differences []string `json:"differences,omitempty"`
	// Problem is set when the current profile cannot be loaded or the
	// container has no launch record at all.
	Problem string `json:"problem,omitempty"`
}

// FindDrift compares each running container's last create/run/restore
// record with the profile current loads now; containers launched under the
// current profile are left out.
func (s *Store) FindDrift(running []Running, current func(name string) (*policy.Profile, error)) ([]Drift, error) {
	want := map[string]bool{}
	for _, r := range running {
		want[r.ID] = true
	}
	launches := map[string]*Record{}
	err := s.Summaries(Filter{Verbs: []string{"create", "run", "restore"}}, func(r *Record) error {
		if want[r.ContainerID] && r.Decision.Result != Denied && r.Decision.Result != Failed {
			launches[r.ContainerID] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Drift
	for _, c := range running {
		rec := launches[c.ID]
		if rec == nil {
			out = append(out, Drift{Running: c, Problem: "no launch record: started without hardened-runc, or before its records were kept"})
			continue
		}
		if d, drifted := s.compare(c, rec, current); drifted {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *Store) compare(c Running, rec *Record, current func(string) (*policy.Profile, error)) (Drift, bool) {
	d := Drift{Running: c, Launched: rec.Time, Seq: rec.Seq}
	if rec.Profile == nil {
		d.Problem = "launch record names no profile"
		return d, true
	}
	d.Profile, d.LaunchHash = rec.Profile.Name, rec.Profile.Hash
	p, err := current(rec.Profile.Name)
	if err != nil {
		d.Problem = fmt.Sprintf("profile %q cannot be loaded now: %v", rec.Profile.Name, err)
		return d, true
	}
	if p.Hash == rec.Profile.Hash {
		return d, false
	}
	d.CurrentHash = p.Hash
	then, err := s.profileSnapshot(rec.Profile.Hash)
	if err != nil {
		d.Problem = "the launch-time profile was not kept: " + err.Error()
		return d, true
	}
	now, err := flattenProfile(p)
	if err != nil {
		d.Problem = err.Error()
		return d, true
	}
	d.Differences = differences(then, now)
	return d, true
}

// snapshotPath is where the profile with hash is kept.
func (s *Store) snapshotPath(hash string) string {
	return filepath.Join(s.dir, profilesDir, strings.TrimPrefix(hash, hashPrefix)+".toml")
}

// keepProfile stores the profile's effective settings once per hash, so
// drift can say what changed. Called under the store lock.
func (s *Store) keepProfile(hash string, p *policy.Profile) error {
	path := s.snapshotPath(hash)
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	data, err := ProfileSnapshot(p)
	if err != nil {
		// A profile that cannot be serialised only costs drift its detail.
		return err
	}
	return atomicfile.Write(path, data, 0o600, 0o700)
}

func (s *Store) profileSnapshot(hash string) (map[string]any, error) {
	b, err := os.ReadFile(s.snapshotPath(hash))
	if err != nil {
		return nil, err
	}
	return flattenTOML(b)
}

// ProfileSnapshot is the profile's effective settings as TOML.
func ProfileSnapshot(p *policy.Profile) ([]byte, error) {
	return toml.Marshal(p)
}

func flattenProfile(p *policy.Profile) (map[string]any, error) {
	b, err := ProfileSnapshot(p)
	if err != nil {
		return nil, err
	}
	return flattenTOML(b)
}

// flattenTOML maps every leaf setting of a TOML document by its dotted key.
func flattenTOML(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := toml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return flatten("", m, map[string]any{}), nil
}

func flatten(prefix string, m map[string]any, out map[string]any) map[string]any {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
	return out
}

// differences lists "key: old -> new" for every setting that differs.
func differences(then, now map[string]any) []string {
	keys := map[string]bool{}
	for k := range then {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		a, inA := then[k]
		b, inB := now[k]
		if inA && inB && reflect.DeepEqual(a, b) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s -> %s", k, show(a, inA), show(b, inB)))
	}
	sort.Strings(out)
	return out
}

func show(v any, present bool) string {
	if !present {
		return "(unset)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
