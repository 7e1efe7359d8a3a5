package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/hardened-runc/hardened-runc/profiles"
)

// Mode says what a profile does with its findings.
type Mode string

const (
	// ModeEnforce rewrites the spec and denies what policy forbids.
	ModeEnforce Mode = "enforce"
	// ModeAudit records what would change and what would be denied, and
	// changes nothing.
	ModeAudit Mode = "audit"
	// ModeOff passes the spec through untouched (still recorded).
	ModeOff Mode = "off"
)

// ControlMode says what a profile does with one strict control (the
// read-only root, the seccomp cuts beyond Docker's default, the capabilities
// beyond the allow list, noexec on scratch tmpfs), on top of the profile-wide
// Mode: a profile in enforce mode can still audit one control while it
// collects evidence for it.
type ControlMode string

const (
	// ControlEnforce applies the control.
	ControlEnforce ControlMode = "enforce"
	// ControlAudit leaves the container as the engine asked and records
	// what would have failed under enforcement: the paths written to the
	// root, the syscalls that would have been denied (collected at delete).
	ControlAudit ControlMode = "audit"
	// ControlOff neither applies nor audits the control.
	ControlOff ControlMode = "off"
)

// UnmarshalTOML reads a mode, or a boolean from profiles written before
// the controls had modes (`readonly = true` meant enforce, false off), so
// an admin's existing profile keeps loading with the meaning it had.
func (m *ControlMode) UnmarshalTOML(data []byte) error {
	switch v := strings.TrimSpace(string(data)); v {
	case "true":
		*m = ControlEnforce
	case "false":
		*m = ControlOff
	default:
		var s struct {
			V string `toml:"v"`
		}
		if toml.Unmarshal([]byte("v = "+v), &s) != nil {
			return fmt.Errorf("%s is not a mode (enforce, audit, off)", v)
		}
		*m = ControlMode(s.V)
	}
	return nil
}

func (m ControlMode) validate(field string) error {
	return oneOf(field, string(m), string(ControlEnforce), string(ControlAudit), string(ControlOff))
}

// OnRequest says what happens when the engine explicitly asks for more
// than the profile allows (`--cap-add NET_ADMIN`, `--security-opt
// seccomp=unconfined`).
type OnRequest string

const (
	// RequestDeny refuses the launch with a one-line message naming the rule.
	RequestDeny OnRequest = "deny"
	// RequestDrop hardens the container anyway and records what was
	// dropped in the forensic record.
	RequestDrop OnRequest = "drop"
)

func (o OnRequest) validate(field string) error {
	return oneOf(field, string(o), string(RequestDeny), string(RequestDrop))
}

// Profile says what to enforce. Each section is owned by one modifier
// package; the section types live in section_*.go beside this file.
type Profile struct {
	// Extends names the profile this one starts from; every field not set
	// here keeps the base's value. Empty means the embedded "default"
	// (except for "default" itself).
	Extends string `toml:"extends"`
	// Description is one line for `hardenctl profile list`.
	Description string `toml:"description"`
	// Mode says what the profile does with its findings.
	Mode Mode `toml:"mode"`

	Capabilities Capabilities `toml:"capabilities"`
	Privileges   Privileges   `toml:"privileges"`
	Rootfs       Rootfs       `toml:"rootfs"`
	Paths        Paths        `toml:"paths"`
	Namespaces   Namespaces   `toml:"namespaces"`
	Mounts       Mounts       `toml:"mounts"`
	Devices      Devices      `toml:"devices"`
	Sysctls      Sysctls      `toml:"sysctls"`
	Process      Process      `toml:"process"`
	Cgroups      Cgroups      `toml:"cgroups"`
	Spec         Spec         `toml:"spec"`
	Hooks        Hooks        `toml:"hooks"`
	Seccomp      Seccomp      `toml:"seccomp"`
	Userns       Userns       `toml:"userns"`
	AppArmor     AppArmor     `toml:"apparmor"`
	SELinux      SELinux      `toml:"selinux"`
	Forensics    Forensics    `toml:"forensics"`

	// Name is the profile's name (its file name without .toml).
	Name string `toml:"-"`
	// Source is the file it was read from, or "embedded:<name>.toml".
	Source string `toml:"-"`
	// Hash is the SHA-256 of the profile's source bytes and of every base
	// it extends, so forensics can tell which policy a container ran under.
	Hash string `toml:"-"`
	// Dir is the profiles directory, for sections that reference files
	// (seccomp/*.json, apparmor/*.tmpl).
	Dir string `toml:"-"`
}

// Store finds profiles: files in the profiles directory first, then the
// profiles embedded in the binary.
type Store struct {
	Dir string
}

// ErrUnknownProfile is returned when a profile exists neither in the profiles
// directory nor embedded.
var ErrUnknownProfile = errors.New("unknown profile")

// Load reads the named profile and its bases, and validates it.
func (st Store) Load(name string) (*Profile, error) {
	return st.load(name, map[string]bool{})
}

func (st Store) load(name string, seen map[string]bool) (*Profile, error) {
	if !validName(name) {
		return nil, fmt.Errorf("profile %q: invalid name (letters, digits, '-', '_', '.')", name)
	}
	if seen[name] {
		return nil, fmt.Errorf("profile %q: extends itself (cycle)", name)
	}
	seen[name] = true
	data, src, err := st.read(name)
	if err != nil {
		return nil, err
	}
	var head struct {
		Extends string `toml:"extends"`
	}
	// A first, lenient pass only to learn the base; the strict pass below
	// reports errors with positions.
	_ = toml.Unmarshal(data, &head)
	base := head.Extends
	if base == "" && name != DefaultProfile {
		base = DefaultProfile
	}
	from := st
	if base == "" && name == DefaultProfile && !strings.HasPrefix(src, "embedded:") {
		// An admin's default.toml builds on the built-in default: it only
		// has to say what differs, and fields added by a later release
		// get their built-in values instead of making it invalid.
		base, from, seen = DefaultProfile, Store{}, map[string]bool{}
	}
	p := &Profile{}
	h := sha256.New()
	if base != "" {
		bp, err := from.load(base, seen)
		if err != nil {
			return nil, fmt.Errorf("profile %q extends %q: %w", name, base, err)
		}
		*p = *bp
		h.Write([]byte(bp.Hash))
	}
	p.Extends = ""
	if err := decodeStrict(src, data, p); err != nil {
		return nil, err
	}
	h.Write(data)
	p.Name, p.Source, p.Dir = name, src, st.Dir
	p.Hash = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return p, nil
}

func (st Store) read(name string) ([]byte, string, error) {
	if st.Dir != "" {
		path := filepath.Join(st.Dir, name+".toml")
		data, err := os.ReadFile(path)
		if err == nil {
			return data, path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("profile %q: %w", name, err)
		}
	}
	data, err := fs.ReadFile(profiles.FS, name+".toml")
	if err != nil {
		return nil, "", fmt.Errorf("profile %q: %w (not in %s and not built in)", name, ErrUnknownProfile, st.Dir)
	}
	return data, "embedded:" + name + ".toml", nil
}

// List returns the names of every profile, from the directory and embedded.
func (st Store) List() ([]string, error) {
	names := map[string]bool{}
	embedded, _ := fs.Glob(profiles.FS, "*.toml")
	for _, f := range embedded {
		names[strings.TrimSuffix(f, ".toml")] = true
	}
	if st.Dir != "" {
		files, err := filepath.Glob(filepath.Join(st.Dir, "*.toml"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			names[strings.TrimSuffix(filepath.Base(f), ".toml")] = true
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func validName(n string) bool {
	if n == "" || n == "." || n == ".." {
		return false
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// Validate checks the profile's fields. Each section validates itself; the
// first problem is reported with the field's name.
func (p *Profile) Validate() error {
	if err := oneOf("mode", string(p.Mode), string(ModeEnforce), string(ModeAudit), string(ModeOff)); err != nil {
		return err
	}
	for _, v := range []interface{ validate() error }{
		&p.Capabilities, &p.Privileges, &p.Rootfs, &p.Paths, &p.Namespaces, &p.Mounts,
		&p.Devices, &p.Sysctls, &p.Process, &p.Cgroups, &p.Spec, &p.Hooks, &p.Seccomp, &p.Userns,
		&p.AppArmor, &p.SELinux, &p.Forensics,
	} {
		if err := v.validate(); err != nil {
			return err
		}
	}
	return nil
}

// oneOf reports an error unless v is one of allowed.
func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("field %s: %q is not one of %s", field, v, strings.Join(allowed, ", "))
}
