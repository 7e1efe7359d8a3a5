package spec

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ProcessDocument is the process JSON of `runc exec -p FILE`.
type ProcessDocument struct {
	// Process is what process modifiers read and edit.
	Process *specs.Process

	path  string
	codec codec
}

// LoadProcess reads and decodes an exec process file with the same refusals
// as Load (symlink, FIFO, empty, oversized, malformed).
func LoadProcess(path string) (*ProcessDocument, error) {
	data, _, err := readDocument(path)
	if err != nil {
		return nil, err
	}
	p, err := ParseProcess(data)
	if err != nil {
		return nil, withPath(err, path)
	}
	p.path = path
	return p, nil
}

// ParseProcess decodes a process JSON held in memory.
func ParseProcess(data []byte) (*ProcessDocument, error) {
	p := &ProcessDocument{Process: &specs.Process{}}
	c, err := decode(data, p.Process, processSchema())
	if err != nil {
		return nil, err
	}
	p.codec = c
	return p, nil
}

// Path is the file the process was loaded from ("" after ParseProcess).
func (p *ProcessDocument) Path() string { return p.path }

// Original returns the bytes exactly as received. Do not modify the slice.
func (p *ProcessDocument) Original() []byte { return p.codec.original }

// Changed reports whether Process differs from what was loaded.
func (p *ProcessDocument) Changed() (bool, error) {
	changed, _, _, err := p.codec.changed(p.Process)
	return changed, err
}

// Bytes returns the process JSON to hand to the lower runtime, keeping every
// field Process cannot represent. Do not modify the slice.
func (p *ProcessDocument) Bytes() ([]byte, error) {
	return p.codec.encode(p.Process)
}

// WriteCopy writes Bytes to a new private file (mode 0600, created with
// O_EXCL) in dir and returns its path. The caller's file is never edited in
// place: it may be shared, and the engine may read it again. The caller
// removes the copy when done.
func (p *ProcessDocument) WriteCopy(dir string) (string, error) {
	data, err := p.Bytes()
	if err != nil {
		return "", err
	}
	return writeCopy(dir, "process-*.json", data)
}

// writeCopy creates a new private file in dir holding data. No fsync: the
// copy lives only as long as the lower runtime needs to read it.
func writeCopy(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern) // O_EXCL, mode 0600
	if err != nil {
		return "", &Error{Path: dir, Kind: ErrUnwritable, Err: err,
			Detail: "cannot create the hardened copy",
			Fix:    "the directory for hardened copies must exist and be writable by the runtime"}
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", &Error{Path: f.Name(), Kind: ErrUnwritable, Detail: "cannot write the hardened copy", Err: err}
	}
	return f.Name(), nil
}

// ResourcesDocument is the JSON of `runc update --resources FILE|-`.
type ResourcesDocument struct {
	// Resources is what the clamp reads and edits.
	Resources *specs.LinuxResources

	codec codec
}

// LoadResources reads a resources document from r (a file the caller opened,
// or stdin for "-"), at most MaxDocumentSize bytes.
func LoadResources(r io.Reader) (*ResourcesDocument, error) {
	data, err := readCapped(r, 0)
	if err != nil {
		return nil, err
	}
	return ParseResources(data)
}

// ParseResources decodes a resources document held in memory.
func ParseResources(data []byte) (*ResourcesDocument, error) {
	d := &ResourcesDocument{Resources: &specs.LinuxResources{}}
	c, err := decode(data, d.Resources, resourcesSchema())
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	d.codec = c
	return d, nil
}

// Original returns the bytes exactly as received. Do not modify the slice.
func (d *ResourcesDocument) Original() []byte { return d.codec.original }

// Changed reports whether Resources differs from what was loaded.
func (d *ResourcesDocument) Changed() (bool, error) {
	changed, _, _, err := d.codec.changed(d.Resources)
	return changed, err
}

// Bytes returns the clamped resources JSON (to feed the lower runtime's
// stdin, or a file), keeping every field Resources cannot represent.
func (d *ResourcesDocument) Bytes() ([]byte, error) {
	return d.codec.encode(d.Resources)
}

// WriteCopy writes Bytes to a new private file (0600, O_EXCL) in dir and
// returns its path, for `--resources FILE` and for `-` once stdin is consumed.
func (d *ResourcesDocument) WriteCopy(dir string) (string, error) {
	data, err := d.Bytes()
	if err != nil {
		return "", err
	}
	return writeCopy(dir, "resources-*.json", data)
}
