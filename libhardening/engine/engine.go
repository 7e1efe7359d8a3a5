// Package engine configures container engines (Docker, containerd, CRI-O,
// Podman) to run containers through hardened-runc, and reverses it.
//
// Every operation is computed first as a Plan (the bytes each file has
// before and after) and applied second, so --dry-run prints exactly what
// would be written. Files are decoded into generic maps and only our keys
// are touched; every other key and value is kept. Writes are atomic (temp
// file, fsync, rename) and the first write of a file keeps its original
// bytes in <file>.hardened-runc.bak, which Unconfigure restores when nothing
// else changed since.
package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Kind names a container engine.
type Kind string

const (
	Docker     Kind = "docker"
	Containerd Kind = "containerd"
	CRIO       Kind = "crio"
	Podman     Kind = "podman"
)

// Kinds lists every supported engine, in the order `--runtime all` uses.
var Kinds = []Kind{Docker, Containerd, CRIO, Podman}

// Defaults for Options.
const (
	DefaultRuntimeName = "hardened"
	DefaultRuntimePath = "/usr/local/bin/hardened-runc"
	// BackupSuffix is appended to a file's name to keep its original bytes.
	BackupSuffix = ".hardened-runc.bak"
	// NoDropIn as Options.DropIn edits the main file even where the engine
	// would use a drop-in by default.
	NoDropIn = "none"
	// AnnotationPrefix is the pod annotation prefix containerd is told to
	// pass to hardened-runc, so pod annotations can select profiles.
	AnnotationPrefix = "hardened-runc.io/*"
)

// Options says which engine to configure and how.
type Options struct {
	Engine Kind
	// Config is the engine's main config file; empty means its default
	// (DefaultConfigPath).
	Config string
	// DropIn is a drop-in file to write instead of editing the main file.
	// Empty means the engine's default (a drop-in for CRI-O, the main file
	// elsewhere); NoDropIn forces the main file.
	DropIn string
	// RuntimeName is the name engines know the runtime by (default
	// "hardened"); a Kubernetes RuntimeClass handler must equal it.
	RuntimeName string
	// RuntimePath is the absolute path of hardened-runc.
	RuntimePath string
	// SetAsDefault makes it the engine's default runtime.
	SetAsDefault bool
}

// ErrMalformed wraps a config file that cannot be parsed; nothing is written.
var ErrMalformed = errors.New("malformed config")

// ErrUnknownEngine is returned for an engine name that is not supported.
var ErrUnknownEngine = errors.New("unknown engine")

// ParseKind checks an engine name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w %q (use docker, containerd, crio or podman)", ErrUnknownEngine, s)
}

// DefaultConfigPath is where each engine reads its main config.
func DefaultConfigPath(k Kind) string {
	switch k {
	case Docker:
		return "/etc/docker/daemon.json"
	case Containerd:
		return "/etc/containerd/config.toml"
	case CRIO:
		return "/etc/crio/crio.conf"
	case Podman:
		return "/etc/containers/containers.conf"
	}
	return ""
}

// Restart is the command that makes the engine read its new config, ""
// when none is needed.
func Restart(k Kind) string {
	switch k {
	case Docker:
		return "systemctl restart docker"
	case Containerd:
		return "systemctl restart containerd"
	case CRIO:
		return "systemctl restart crio"
	}
	return ""
}

func (o Options) withDefaults() (Options, error) {
	if _, err := ParseKind(string(o.Engine)); err != nil {
		return o, err
	}
	if o.Config == "" {
		o.Config = DefaultConfigPath(o.Engine)
	}
	if o.RuntimeName == "" {
		o.RuntimeName = DefaultRuntimeName
	}
	if o.RuntimePath == "" {
		o.RuntimePath = DefaultRuntimePath
	}
	if !filepath.IsAbs(o.RuntimePath) {
		return o, fmt.Errorf("runtime path %q: must be absolute (engines do not search PATH consistently)", o.RuntimePath)
	}
	if o.DropIn == "" && o.Engine == CRIO {
		o.DropIn = filepath.Join(filepath.Dir(o.Config), "crio.conf.d", "99-hardened-runc.conf")
	}
	if o.DropIn == NoDropIn {
		o.DropIn = ""
	}
	if o.DropIn != "" && o.Engine == Docker {
		return o, fmt.Errorf("docker has no drop-in config directory: omit --drop-in")
	}
	return o, nil
}

// FileChange is one file a Plan writes or removes.
type FileChange struct {
	Path string `json:"path"`
	// Existed and Before describe the file now.
	Existed bool   `json:"existed"`
	Before  []byte `json:"-"`
	// Remove deletes the file; otherwise After is written.
	Remove bool   `json:"remove,omitempty"`
	After  []byte `json:"-"`
	// Content is After as text, for --dry-run --output json.
	Content string `json:"content,omitempty"`
	// Restored says After is the original content from the backup.
	Restored bool `json:"restored,omitempty"`
	// Backup keeps the file's current bytes as its backup first (unless a
	// backup exists already).
	Backup bool `json:"-"`
	// DropBackup removes the backup once the change is applied.
	DropBackup bool `json:"-"`
}

// Plan is what Configure or Unconfigure would do.
type Plan struct {
	Engine  Kind         `json:"engine"`
	Changes []FileChange `json:"changes"`
	// Restart is the command to run after Apply ("" for none).
	Restart string `json:"restart,omitempty"`
	// Notes explain decisions an admin should know about.
	Notes []string `json:"notes,omitempty"`
}

// Changed reports whether applying the plan would change any file.
func (p *Plan) Changed() bool { return len(p.Changes) > 0 }

func (p *Plan) add(path string, before []byte, existed bool, after []byte, remove bool) {
	if remove && !existed {
		return
	}
	if !remove && existed && bytes.Equal(before, after) {
		return
	}
	p.Changes = append(p.Changes, FileChange{Path: path, Existed: existed, Before: before, After: after, Content: string(after), Remove: remove, Backup: existed})
}

// Apply writes the plan's files. Each write is atomic; the first write of
// a file that existed keeps its original bytes in <file>.hardened-runc.bak.
func (p *Plan) Apply() error {
	for _, c := range p.Changes {
		if err := applyChange(c); err != nil {
			return err
		}
	}
	return nil
}

func applyChange(c FileChange) error {
	if c.Backup {
		if err := keepBackup(c.Path, c.Before); err != nil {
			return err
		}
	}
	if c.Remove {
		if err := os.Remove(c.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", c.Path, err)
		}
	} else if err := writeAtomic(c.Path, c.After); err != nil {
		return err
	}
	if c.DropBackup {
		if err := os.Remove(c.Path + BackupSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove backup: %w", err)
		}
	}
	return nil
}

// readFile returns the file's bytes and whether it exists.
func readFile(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return data, true, nil
}
