package forensics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Drift is a running container launched under a profile that is not the
// one in force now.
type Drift struct {
	lower.Container
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
func (s *Store) FindDrift(running []lower.Container, current func(name string) (*policy.Profile, error)) ([]Drift, error) {
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
			out = append(out, Drift{Container: c, Problem: "no launch record: started without hardened-runc, or before its records were kept"})
			continue
		}
		if d, drifted := s.compare(c, rec, current); drifted {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *Store) compare(c lower.Container, rec *Record, current func(string) (*policy.Profile, error)) (Drift, bool) {
	d := Drift{Container: c, Launched: rec.Time, Seq: rec.Seq}
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
