package policy

import (
	"path/filepath"
	"slices"
)

// DefaultRuncRoot is runc's state directory when no --root is given.
const DefaultRuncRoot = "/run/runc"

// StatePaths returns the host paths that hold this runtime's own state and
// that no container may ever reach: the config's directory (or the config
// file itself when it was moved out of /etc/hardened-runc), the profiles,
// the forensic store, the run directory and the lower runtime's state
// root (runcRoot, "" for runc's default). A container that could write any
// of them could rewrite its own policy, its record or another container's
// state.
func (c *Config) StatePaths(runcRoot string) []string {
	cfgPath := c.Path
	if cfgPath == "" {
		cfgPath = ConfigPath()
	}
	out := []string{filepath.Dir(DefaultConfigPath), filepath.Clean(cfgPath)}
	if filepath.Dir(cfgPath) == filepath.Dir(DefaultConfigPath) {
		out = out[:1]
	}
	if runcRoot == "" {
		runcRoot = DefaultRuncRoot
	}
	for _, p := range []string{c.ProfilesDir, c.ForensicsDir, c.RunDir, runcRoot} {
		if p == "" {
			continue
		}
		if p = filepath.Clean(p); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
