package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// validated remembers profiles that compiled, by content: most containers on
// a host get the same generated filter (same capabilities, runc and
// noNewPrivileges), and compiling it with libseccomp is most of a create's
// own cost. Entries live in memory for one process and under
// <RunDir>/seccomp/ across processes; only successes are kept, so a bad
// profile is checked every time. The key covers the profile's JSON and the
// libseccomp version that judged it.
type validated struct {
	mu  sync.Mutex
	mem map[string]*Stats
}

func (v *validated) key(p *specs.LinuxSeccomp) string {
	data, _ := json.Marshal(p)
	h := sha256.New()
	h.Write([]byte(libseccompVersion()))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// validate is Validate with the cache. The disk cache is written by an
// effect, so only by a launch that enforces (never by explain or audit).
func (v *validated) validate(ctx *modifier.Context, name string, p *specs.LinuxSeccomp) (*Stats, error) {
	if p == nil {
		return Validate(name, p)
	}
	k := v.key(p)
	v.mu.Lock()
	st, ok := v.mem[k]
	v.mu.Unlock()
	if ok {
		return named(st, name), nil
	}
	var file string
	if ctx != nil && ctx.RunDir != "" {
		file = filepath.Join(ctx.RunDir, "seccomp", k+".json")
		if data, err := os.ReadFile(file); err == nil {
			var cached Stats
			if json.Unmarshal(data, &cached) == nil {
				v.remember(k, &cached)
				return named(&cached, name), nil
			}
		}
	}
	st, err := Validate(name, p)
	if err != nil {
		return nil, err
	}
	v.remember(k, st)
	if file != "" {
		// Written by an effect: only a launch that enforces writes under
		// run_dir; explain and audit recompile next time.
		ctx.Effect(func(*modifier.Context, *specs.Spec, *modifier.Report) error {
			if data, err := json.Marshal(st); err == nil {
				// A failed write only costs a recompile next time.
				_ = atomicfile.Write(file, data, 0o600, 0o700)
			}
			return nil
		})
	}
	return st, nil
}

func (v *validated) remember(k string, st *Stats) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.mem == nil {
		v.mem = map[string]*Stats{}
	}
	v.mem[k] = st
}

// summarize is Summarize through the cache.
func (v *validated) summarize(ctx *modifier.Context, p *specs.LinuxSeccomp) *Summary {
	if p == nil {
		return nil
	}
	s := summaryShape(p)
	if st, err := v.validate(ctx, "summary", p); err == nil {
		s.Allowed, s.Conditional = len(st.Allowed), len(st.Conditional)
	}
	return s
}

func named(st *Stats, name string) *Stats {
	cp := *st
	cp.Profile = name
	return &cp
}
