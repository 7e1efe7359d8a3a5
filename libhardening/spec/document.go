package spec

import (
	"errors"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Document is a bundle's config.json: the typed spec modifiers edit, plus
// what is needed to write it back without losing anything.
type Document struct {
	// Spec is what modifiers read and edit.
	Spec *specs.Spec

	path  string // empty for a document parsed from bytes
	info  fileInfo
	codec codec
}

// Load reads and decodes <bundle>/config.json ("" is the working directory,
// as for runc). It refuses a missing bundle or
// file, a symlink, FIFO or other non-regular file, an empty, oversized or
// malformed document; every refusal is an *Error wrapping a sentinel.
func Load(bundle string) (*Document, error) {
	data, info, err := readBundleConfig(bundle)
	if err != nil {
		return nil, err
	}
	d, err := Parse(data)
	if err != nil {
		return nil, withPath(err, bundleConfig(bundle))
	}
	d.path, d.info = bundleConfig(bundle), info
	return d, nil
}

// Parse decodes a config.json held in memory (hardenctl explain on a copy,
// tests). The Document keeps data; the caller must not modify it.
func Parse(data []byte) (*Document, error) {
	d := &Document{Spec: &specs.Spec{}}
	c, err := decodeLazy(data, d.Spec, specSchema)
	if err != nil {
		return nil, err
	}
	d.codec = c
	return d, nil
}

// Path is the file the document was loaded from ("" after Parse).
func (d *Document) Path() string { return d.path }

// Original returns the bytes exactly as received, for forensics. The slice
// is shared: do not modify it.
func (d *Document) Original() []byte { return d.codec.original }

// Changed reports whether Spec differs from what was loaded.
func (d *Document) Changed() (bool, error) {
	changed, _, _, err := d.codec.changed(d.Spec)
	return changed, err
}

// Bytes returns the document to hand to the lower runtime: the original bytes
// if Spec is unchanged, else Spec merged with every field of the original it
// cannot represent. The slice may be shared: do not modify it.
func (d *Document) Bytes() ([]byte, error) {
	e, err := d.Encode()
	if err != nil {
		return nil, err
	}
	return e.out, nil
}

// Encoded is a document encoded once, for a caller that needs the bytes
// before it writes them (create keeps them to recognise a re-run): Write
// stores exactly these bytes without encoding the spec again.
type Encoded struct {
	doc      *Document
	gen      uint64
	out, cur []byte
}

// Bytes is what Write stores: Document.Bytes at the time of Encode. The
// slice may be shared: do not modify it.
func (e *Encoded) Bytes() []byte { return e.out }

// Encode encodes Spec as Bytes does and keeps what Write needs. A change to
// Spec after Encode is not in the result.
func (d *Document) Encode() (*Encoded, error) {
	out, cur, err := d.codec.encodeCur(d.Spec)
	if err != nil {
		return nil, err
	}
	return &Encoded{doc: d, gen: d.codec.gen, out: out, cur: cur}, nil
}

// Write stores Bytes back into the file atomically (temporary file in the
// bundle, rename over config.json), with the original's mode and owner. It
// does not fsync: runc reads the file from the page cache at once and keeps
// its own copy in its state; after a crash nothing runs it without a new
// create, which hardens it again (docs/durability.md). It writes nothing
// when the bytes equal what is on disk, so a second pass over a hardened
// config reports changed == false. On error the original file is intact.
func (d *Document) Write() (changed bool, err error) {
	e, err := d.Encode()
	if err != nil {
		return false, err
	}
	return d.WriteEncoded(e)
}

// WriteEncoded is Write for bytes Encode produced from this document since
// its last write; anything else is refused, since the document's record of
// what the file holds would no longer match it.
func (d *Document) WriteEncoded(e *Encoded) (changed bool, err error) {
	if d.path == "" {
		return false, errors.New("spec: Write on a document that was not loaded from a file")
	}
	if e == nil || e.doc != d || e.gen != d.codec.gen {
		return false, errors.New("spec: WriteEncoded with an encoding of another document or of an earlier version of it")
	}
	if string(e.out) == string(d.codec.original) {
		return false, nil
	}
	info, err := writeAtomic(d.path, e.out, d.info)
	if err != nil {
		return false, err
	}
	d.info = info
	d.codec.rebase(e.out, e.cur)
	return true, nil
}

// Stored returns the document as the file holds it now: what Write stored,
// or the bytes loaded when Write found nothing to change. Unlike Bytes it
// compares and encodes nothing, so the forensic record takes the bytes
// written without a second pass over the spec. The slice is shared: do not
// modify it.
func (d *Document) Stored() []byte { return d.codec.original }

func bundleConfig(bundle string) string {
	if bundle == "" {
		bundle = "."
	}
	return filepath.Join(bundle, "config.json")
}
