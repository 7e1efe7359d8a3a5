// Package policy owns hardened-runc's configuration: the host config file
// (config.toml: paths, lower runtime, selection rules) and the profiles that
// say what to enforce. It knows nothing of OCI specs or of runc's CLI.
package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
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
	Runtime string `toml:"runtime"`
	// ProfilesDir holds the admin's profiles (<name>.toml), seccomp/ and
	// apparmor/; a name not found there falls back to the built-in one.
	ProfilesDir string `toml:"profiles_dir"`
	// ForensicsDir is the hash-chained launch record store (mode 0700).
	ForensicsDir string `toml:"forensics_dir"`
	// RunDir holds per-boot state: idmapped root filesystems, the ID-range
	// table, loaded AppArmor profiles. It must be traversable (o+x) by
	// containers' mapped root users, so it is not under /root.
	RunDir string `toml:"run_dir"`
	// LogLevel is the level for hardened-runc's own messages in runc's
	// --log file: error, warn (default), info, debug.
	LogLevel string `toml:"log_level"`
	// DefaultProfile applies when no selection rule matches.
	DefaultProfile string `toml:"default_profile"`
	// Select rules are tried in order; the first match picks the profile.
	Select []SelectRule `toml:"select"`
	// ForensicsRetention bounds the forensic store. It is host-wide (one
	// store serves every profile), so it lives here, not in profiles.
	ForensicsRetention Retention `toml:"forensics_retention"`
	// ForensicsWitness anchors the record outside its store: every
	// record's seq and hash is also written to a file and/or syslog, so
	// `hardenctl forensics verify` can tell records removed or rewritten
	// by whoever could write the store. Host-wide, like the store.
	ForensicsWitness Witness `toml:"forensics_witness"`

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

// Retention bounds the forensic store: files rotate at MaxFileSize, and the
// oldest files are removed (their last hash kept as the chain's anchor)
// while the store exceeds MaxTotal or a file is older than MaxAge. Empty
// values take the store's defaults (64m, 2g, 400 days).
type Retention struct {
	// MaxFileSize starts a new file when the current one would grow past
	// it ("64m").
	MaxFileSize string `toml:"max_file_size"`
	// MaxTotal removes the oldest files while the store is larger ("2g").
	MaxTotal string `toml:"max_total"`
	// MaxAge is a Go duration ("9600h"); "forever" keeps every file.
	MaxAge string `toml:"max_age"`
}

// Witness is where each record's witness line goes besides the store: one
// line with the record's seq, hash, verb and container, which `hardenctl
// forensics verify --witness` compares with the store. A witness protects
// the record only where the store's writer cannot rewrite it: a file on
// another host's storage, or syslog forwarded off the host.
type Witness struct {
	// File appends one line per record to this file (0600, created when
	// absent); `forensics verify` checks it without --witness. Empty: none.
	File string `toml:"file"`
	// Syslog sends the line to the local syslog socket (journald or a
	// syslog daemon) as "hardened-runc", facility authpriv.
	Syslog bool `toml:"syslog"`
	// SyslogSocket is the socket syslog lines go to ("/dev/log" when empty).
	SyslogSocket string `toml:"syslog_socket"`
}

func (w Witness) validate() error {
	for _, f := range []struct{ name, v string }{{"file", w.File}, {"syslog_socket", w.SyslogSocket}} {
		if f.v != "" && !filepath.IsAbs(f.v) {
			return fmt.Errorf("%s: %q is not an absolute path", f.name, f.v)
		}
	}
	return nil
}

func (c *Config) validate() error {
	if err := c.ForensicsRetention.validate(); err != nil {
		return fmt.Errorf("forensics_retention.%w", err)
	}
	if err := c.ForensicsWitness.validate(); err != nil {
		return fmt.Errorf("forensics_witness.%w", err)
	}
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
	return c.checkSelection()
}

func (r Retention) validate() error {
	for _, f := range []struct{ name, v string }{{"max_file_size", r.MaxFileSize}, {"max_total", r.MaxTotal}} {
		if f.v == "" {
			continue
		}
		if _, err := ParseBytes(f.v); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if r.MaxAge != "" && r.MaxAge != "forever" {
		if _, err := time.ParseDuration(r.MaxAge); err != nil {
			return fmt.Errorf("max_age: %q is not a duration (e.g. 9600h) or \"forever\"", r.MaxAge)
		}
	}
	return nil
}

// Sizes returns the retention bounds as numbers (0 means the default;
// a negative age means forever).
func (r Retention) Sizes() (maxFile, maxTotal int64, maxAge time.Duration) {
	maxFile, _ = ParseBytes(r.MaxFileSize)
	maxTotal, _ = ParseBytes(r.MaxTotal)
	switch r.MaxAge {
	case "":
	case "forever":
		maxAge = -1
	default:
		maxAge, _ = time.ParseDuration(r.MaxAge)
	}
	return maxFile, maxTotal, maxAge
}
