package selinux

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// categories is the number of MCS categories containers draw from (c0 to
// c1023), as in go-selinux and container-selinux.
const categories = 1024

// maxTries bounds the search for a free pair; with ~500k pairs it only
// fails when the host runs an absurd number of containers.
const maxTries = 10000

// Reservations records the MCS pair of each container in a directory:
// mcs/<level> holds the container ID and reserves the pair (created with
// O_EXCL, so two creates never get the same one), containers/<id> holds
// the level so the pair is found again at delete, then the Owner that
// reserved it, one field per line (records written before Owner existed
// hold the level alone).
type Reservations struct {
	Dir string
	// categories overrides the category count in tests.
	categories int64
}

// Owner is who reserved a pair: the lower runtime's --root the container
// lives under, and the process that created it (pid and start time), so a
// delete under another root, or the failed create of a duplicate ID, does
// not free the pair of a live container.
type Owner struct {
	Root  string
	Pid   int
	Start uint64
}

// Reserve returns the container's MCS level, reserving a free pair for o
// the first time. A second call for the same container (a retried create)
// returns the same level and leaves the reservation as it was. A
// container of the same ID that the lower runtime has under another root
// keeps its pair to itself: two containers never share one.
func (r Reservations) Reserve(id string, o Owner) (string, error) {
	if err := validID(id); err != nil {
		return "", err
	}
	level, owner, err := r.lookup(id)
	if err != nil {
		return "", err
	}
	if level != "" {
		if owner != nil && lower.NormalizeRoot(owner.Root) != lower.NormalizeRoot(o.Root) && lower.HasState(lower.Dir(owner.Root, id)) {
			return "", fmt.Errorf("container %s exists under --root %s with the MCS pair %s: a container ID names one container across roots", id, owner.Root, level)
		}
		return level, nil
	}
	for _, d := range []string{"mcs", "containers"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o700); err != nil {
			return "", err
		}
	}
	for range maxTries {
		level, err := randomLevel(r.categoryCount())
		if err != nil {
			return "", err
		}
		f, err := os.OpenFile(filepath.Join(r.Dir, "mcs", level), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reserve %s: %w", level, err)
		}
		_, werr := f.WriteString(id)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			record := fmt.Sprintf("%s\n%s\n%d %d\n", level, o.Root, o.Pid, o.Start)
			werr = os.WriteFile(r.path(id), []byte(record), 0o600)
		}
		if werr != nil {
			os.Remove(filepath.Join(r.Dir, "mcs", level))
			return "", fmt.Errorf("reserve %s: %w", level, werr)
		}
		return level, nil
	}
	return "", fmt.Errorf("no free MCS category pair after %d tries (see %s)", maxTries, filepath.Join(r.Dir, "mcs"))
}

// Lookup returns the level reserved for a container, "" if none.
func (r Reservations) Lookup(id string) (string, error) {
	level, _, err := r.lookup(id)
	return level, err
}

// lookup returns the level reserved for a container and who reserved it;
// owner is nil for a record that does not say (written before Owner).
func (r Reservations) lookup(id string) (level string, owner *Owner, err error) {
	if err := validID(id); err != nil {
		return "", nil, err
	}
	b, err := os.ReadFile(r.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	level = strings.TrimSpace(lines[0])
	if len(lines) < 3 {
		return level, nil, nil
	}
	o := &Owner{Root: lines[1]}
	if _, err := fmt.Sscanf(lines[2], "%d %d", &o.Pid, &o.Start); err != nil {
		return "", nil, fmt.Errorf("%s: owner %q: %w", r.path(id), lines[2], err)
	}
	return level, o, nil
}

// path is where the pair reserved for container id is kept.
func (r Reservations) path(id string) string { return filepath.Join(r.Dir, "containers", id) }

// Release frees the container's pair if mine says the reservation is the
// caller's to free (a record without an owner always is). It is
// idempotent.
func (r Reservations) Release(id string, mine func(Owner) bool) error {
	level, owner, err := r.lookup(id)
	if err != nil || level == "" {
		return err
	}
	if owner != nil && !mine(*owner) {
		return nil
	}
	pair := filepath.Join(r.Dir, "mcs", level)
	// Only remove the pair if it is still ours.
	if owner, err := os.ReadFile(pair); err == nil && string(owner) == id {
		if err := os.Remove(pair); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("release %s: %w", level, err)
		}
	}
	if err := os.Remove(r.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release %s: %w", level, err)
	}
	return nil
}

func (r Reservations) categoryCount() int64 {
	if r.categories > 1 {
		return r.categories
	}
	return categories
}

// randomLevel draws "s0:cA,cB" with A < B < n, the format go-selinux uses.
func randomLevel(n int64) (string, error) {
	a, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return "", err
	}
	b, err := rand.Int(rand.Reader, big.NewInt(n-1))
	if err != nil {
		return "", err
	}
	c1, c2 := a.Int64(), b.Int64()
	if c2 >= c1 {
		c2++ // skip c1: the two categories differ
	} else {
		c1, c2 = c2, c1
	}
	return fmt.Sprintf("s0:c%d,c%d", c1, c2), nil
}

// validID rejects IDs that would escape the reservation directory; runc's
// own ID rules are stricter.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("invalid container ID %q", id)
	}
	return nil
}
