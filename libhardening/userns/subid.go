package userns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Default subordinate-ID files; Options overrides them for tests.
const (
	DefaultSubUIDFile = "/etc/subuid"
	DefaultSubGIDFile = "/etc/subgid"
)

// The built-in pool is used when the subordinate-ID entry is missing. It
// starts at 2^30 and ends one range short of 2^31, which keeps it clear of
// what the rest of the system hands out: login users (UID_MAX 60000),
// useradd's subordinate IDs (SUB_UID_MIN 100000 .. SUB_UID_MAX 600100000),
// the kubelet's ranges (65536 × pods), sysbox (165536 + 2^28) and the
// `containers:2147483647:2147483648` entry the containers/storage docs
// recommend. The pool is still checked against every entry in the files
// before use; `hardenctl doctor` warns when it is in use.
const (
	BuiltinPoolStart = 1 << 30
	BuiltinPoolCount = 1<<30 - 65536
)

// ErrNoSubID is returned when the subordinate-ID files have no entry for
// the configured user.
var ErrNoSubID = errors.New("no subordinate-ID entry")

// SubIDRange is one line of /etc/subuid or /etc/subgid: name:start:count.
type SubIDRange struct {
	Name  string `json:"name"`
	Start uint64 `json:"start"`
	Count uint64 `json:"count"`
}

// End is one past the last ID of the range.
func (r SubIDRange) End() uint64 { return r.Start + r.Count }

func (r SubIDRange) overlaps(o SubIDRange) bool {
	return r.Start < o.End() && o.Start < r.End()
}

// contains reports whether o lies wholly inside r.
func (r SubIDRange) contains(o SubIDRange) bool {
	return o.Start >= r.Start && o.End() <= r.End()
}

// covers reports whether every range of rs lies inside r (and there is at
// least one).
func covers(r SubIDRange, rs []SubIDRange) bool {
	for _, o := range rs {
		if !r.contains(o) {
			return false
		}
	}
	return len(rs) > 0
}

// ReadSubIDFile parses a subuid/subgid file. A missing file is an empty
// list: hosts without shadow-utils have none.
func ReadSubIDFile(path string) ([]SubIDRange, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSubID(f, path)
}

func parseSubID(f *os.File, path string) ([]SubIDRange, error) {
	var out []SubIDRange
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseSubIDLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func parseSubIDLine(line string) (SubIDRange, error) {
	parts := strings.Split(line, ":")
	if len(parts) != 3 {
		return SubIDRange{}, fmt.Errorf("%q: want name:start:count", line)
	}
	start, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return SubIDRange{}, fmt.Errorf("%q: start: %w", line, err)
	}
	count, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return SubIDRange{}, fmt.Errorf("%q: count: %w", line, err)
	}
	return SubIDRange{Name: parts[0], Start: start, Count: count}, nil
}

// Pool is where container ranges are carved from: the user's entry in
// /etc/subuid and /etc/subgid, or the built-in pool.
type Pool struct {
	UID SubIDRange `json:"uid"`
	GID SubIDRange `json:"gid"`
	// Builtin is set when the subordinate-ID entry is missing.
	Builtin bool `json:"builtin"`
}

// LoadPool finds user's entries in the two files. With no entry in either
// it returns the built-in pool, after checking that no entry of any other
// user overlaps it. An entry in only one of the files is an error: the
// admin half-configured the host.
func LoadPool(subuidFile, subgidFile, user string) (Pool, error) {
	uids, err := ReadSubIDFile(subuidFile)
	if err != nil {
		return Pool{}, err
	}
	gids, err := ReadSubIDFile(subgidFile)
	if err != nil {
		return Pool{}, err
	}
	u, uok := findSubID(uids, user)
	g, gok := findSubID(gids, user)
	switch {
	case uok && gok:
		return Pool{UID: u, GID: g}, nil
	case uok != gok:
		return Pool{}, fmt.Errorf("%w for %q in %s and %s: present in only one of them", ErrNoSubID, user, subuidFile, subgidFile)
	}
	b := SubIDRange{Name: "(built-in)", Start: BuiltinPoolStart, Count: BuiltinPoolCount}
	for _, list := range [][]SubIDRange{uids, gids} {
		for _, r := range list {
			if r.overlaps(b) {
				return Pool{}, fmt.Errorf("%w for %q, and the built-in pool %d-%d overlaps %s:%d:%d; add e.g. `%s:%d:%d` to %s and %s",
					ErrNoSubID, user, b.Start, b.End()-1, r.Name, r.Start, r.Count, user, b.Start, b.Count, subuidFile, subgidFile)
			}
		}
	}
	return Pool{UID: b, GID: b, Builtin: true}, nil
}

func findSubID(list []SubIDRange, user string) (SubIDRange, bool) {
	for _, r := range list {
		if r.Name == user {
			return r, true
		}
	}
	return SubIDRange{}, false
}
