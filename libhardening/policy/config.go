// Package policy owns hardened-runc's configuration: the host config file
// (config.toml: paths, lower runtime, selection rules) and the profiles that
// say what to enforce. It knows nothing of OCI specs or of runc's CLI.
package policy

import (
	"errors"
	"fmt"
	"os"
)

// EnvConfig overrides the config file path, so tests never touch /etc.
const EnvConfig = "HARDENED_RUNC_CONFIG"

// Default paths. Every one of them can be set in config.toml.
const (
	DefaultConfigPath   = "/etc/hardened-runc/config.toml"
	DefaultProfilesDir  = "/etc/hardened-runc/profiles"
	DefaultForensicsDir = "/var/lib/hardened-runc/forensics"
	DefaultRunDir       = "/run/hardened-runc"
	DefaultProfile      = "default"
)

// Config is /etc/hardened-runc/config.toml.
type Config struct {
	// Runtime is the lower runtime: an absolute path, or a name looked up in
	// PATH. Empty means "runc".
	Runtime      string `toml:"runtime"`
	ProfilesDir  string `toml:"profiles_dir"`
	ForensicsDir string `toml:"forensics_dir"`
	RunDir       string `toml:"run_dir"`
	// LogLevel is the level for hardened-runc's own messages in runc's
	// --log file: error, warn (default), info, debug.
	LogLevel string `toml:"log_level"`
	// DefaultProfile applies when no selection rule matches.
	DefaultProfile string `toml:"default_profile"`
	// Select rules are tried in order; the first match picks the profile.
	Select []SelectRule `toml:"select"`

	// Path is where the config was read from ("" for built-in defaults).
	Path string `toml:"-"`
}

// DefaultConfig is what hardened-runc uses with no config file at all.
func DefaultConfig() *Config {
	return &Config{
		Runtime:        "runc",
		ProfilesDir:    DefaultProfilesDir,
		ForensicsDir:   DefaultForensicsDir,
		RunDir:         DefaultRunDir,
		LogLevel:       "warn",
		DefaultProfile: DefaultProfile,
	}
}

// ConfigPath returns the config file path: $HARDENED_RUNC_CONFIG or the default.
func ConfigPath() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	return DefaultConfigPath
}

// LoadConfig reads the config at path. A missing file is not an error: the
// built-in defaults apply, so a host where hardened-runc was merely copied
// into place is protected by the embedded default profile.
func LoadConfig(path string) (*Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := decodeStrict(path, data, c); err != nil {
		return nil, err
	}
	c.Path = path
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Config) validate() error {
	switch c.LogLevel {
	case "", "error", "warn", "warning", "info", "debug", "trace":
	default:
		return fmt.Errorf("field log_level: unknown level %q (use error, warn, info or debug)", c.LogLevel)
	}
	for i := range c.Select {
		if err := c.Select[i].compile(); err != nil {
			return fmt.Errorf("select[%d]: %w", i, err)
		}
	}
	return nil
}
