package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// codec holds what a document needs to be written back losslessly: the
// bytes received and what the typed struct made of them.
type codec struct {
	original []byte
	// base is the typed value as decoded, encoded again: what the typed
	// struct understood of original. Encoding the live value and comparing
	// it with base tells whether a modifier changed anything, and base is
	// also what the merge needs; so a document is decoded once and encoded
	// twice (here and when written), and never copied or walked by
	// reflection in between.
	base []byte
	// schema describes the typed struct's fields; only a merge needs it,
	// so it is built (by reflection over every type of the struct) when a
	// document the struct cannot represent is written, not on every load.
	schema func() *schema
	// represented caches representedBy(base): original and base only
	// change together (rebase), and create asks twice (UnknownFields,
	// then the write).
	represented repr
	// gen counts rebases: an Encoded is only written against the base it
	// was computed from.
	gen uint64
}

// repr is a cached yes/no answer; the zero value means not asked yet.
type repr uint8

const (
	reprUnknown repr = iota
	reprYes
	reprNo
)

// decode validates data as a JSON object, decodes it into v (a pointer to a
// runtime-spec struct) and prepares the codec.
func decode(data []byte, v any, s *schema) (codec, error) {
	return decodeLazy(data, v, func() *schema { return s })
}

// decodeLazy is decode with the schema built only if a merge needs it.
func decodeLazy(data []byte, v any, s func() *schema) (codec, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return codec{}, &Error{Kind: ErrEmpty, Detail: "document is empty",
			Fix: "it must hold a JSON object; the engine that wrote it may have been interrupted"}
	}
	if trimmed[0] != '{' {
		off := int64(len(data) - len(trimmed))
		line, col := position(data, off)
		return codec{}, &Error{Kind: ErrMalformed, Detail: "top-level value is not a JSON object",
			Offset: off, Line: line, Column: col,
			Fix: "the document must be a single JSON object {...}"}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return codec{}, malformed(data, err)
	}
	base, err := json.Marshal(v)
	if err != nil {
		return codec{}, fmt.Errorf("encode document: %w", err)
	}
	return codec{original: data, base: base, schema: s}, nil
}

// malformed turns a decoder error into an *Error that locates it.
func malformed(data []byte, err error) error {
	e := &Error{Kind: ErrMalformed, Detail: "malformed JSON", Err: err,
		Fix: "fix the JSON (e.g. check it with `jq . FILE`) or regenerate it with the engine"}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, including the offending one; a
		// truncated document goes wrong at its end.
		e.Offset = max(syn.Offset-1, 0)
		if syn.Error() == "unexpected end of JSON input" {
			e.Offset = int64(len(data))
		}
	case errors.As(err, &typ):
		e.Detail = "wrong type for field " + typ.Field
		e.Offset = max(typ.Offset-1, 0)
	default:
		e.Offset = int64(len(data))
	}
	e.Line, e.Column = position(data, e.Offset)
	return e
}

// changed reports whether v (the typed struct the document was decoded into)
// differs from what was decoded, by its encoding, and returns both
// encodings.
func (c *codec) changed(v any) (changed bool, base, cur []byte, err error) {
	if cur, err = json.Marshal(v); err != nil {
		return false, nil, nil, fmt.Errorf("encode document: %w", err)
	}
	return !bytes.Equal(c.base, cur), c.base, cur, nil
}

// encode returns the document to write for v. An unchanged document is the
// original, byte for byte. A changed one is v itself when the typed struct
// represented the original completely (what engines that marshal the same
// Go struct write), else v merged with every field of the original the
// struct cannot represent.
func (c *codec) encode(v any) ([]byte, error) {
	out, _, err := c.encodeCur(v)
	return out, err
}

// encodeCur is encode that also returns v's encoding, the base of what it
// returns (for rebase).
func (c *codec) encodeCur(v any) (out, cur []byte, err error) {
	changed, base, cur, err := c.changed(v)
	if err != nil || !changed {
		return c.original, c.base, err
	}
	st := detectStyle(c.original)
	if c.originalRepresented() {
		out, err = st.format(cur)
	} else {
		out, err = c.merge(base, cur, st)
	}
	return out, cur, err
}

// originalRepresented is representedBy(base), computed once per base.
func (c *codec) originalRepresented() bool {
	if c.represented == reprUnknown {
		c.represented = reprNo
		if c.representedBy(c.base) {
			c.represented = reprYes
		}
	}
	return c.represented == reprYes
}

// representedBy reports whether the original is base up to whitespace: no
// unknown field, no duplicate or case-variant key, no empty value the
// struct omits, no alternative spelling of a string or number.
func (c *codec) representedBy(base []byte) bool {
	if len(c.original) < len(base) {
		return false
	}
	var buf bytes.Buffer
	buf.Grow(len(c.original))
	if err := json.Compact(&buf, c.original); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), base)
}

// merge builds the output from the original and the typed encodings.
func (c *codec) merge(base, cur []byte, st style) ([]byte, error) {
	orig, err := decodeTree(c.original)
	if err != nil {
		return nil, err
	}
	baseTree, err := decodeTree(base)
	if err != nil {
		return nil, err
	}
	tree, err := decodeTree(cur)
	if err != nil {
		return nil, err
	}
	sch := c.schema()
	return encodeTree(merge(orig, baseTree, tree, sch), sch, st)
}

// remerge always merges, even when nothing changed: tests and the fuzz
// target use it to check the merge itself is lossless.
func (c *codec) remerge() ([]byte, error) {
	return c.merge(c.base, c.base, detectStyle(c.original))
}

// rebase makes written the new original, after a successful write of cur
// (the encoding of the typed value it was written from): written decodes
// to exactly that value (see merge), so cur is its base.
func (c *codec) rebase(written, cur []byte) {
	c.original, c.base = written, cur
	c.represented = reprUnknown
	c.gen++
}

// decodeTree decodes JSON into a generic tree, keeping numbers as their
// exact text (json.Number) so a uid of 4294967295 or a 64-bit memory limit
// never passes through float64.
func decodeTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, malformed(data, err)
	}
	return v, nil
}

// style is the layout of the original document, reused when writing so a
// rewritten file looks like the engine's own: compact (Docker, containerd)
// or indented (runc spec, Podman).
type style struct {
	indent     string
	trailingNL bool
}

func detectStyle(data []byte) style {
	st := style{trailingNL: bytes.HasSuffix(data, []byte("\n"))}
	i := bytes.IndexByte(data, '{')
	if i < 0 {
		return st
	}
	rest := data[i+1:]
	rest = bytes.TrimPrefix(rest, []byte("\r"))
	if !bytes.HasPrefix(rest, []byte("\n")) {
		return st
	}
	rest = rest[1:]
	n := 0
	for n < len(rest) && (rest[n] == ' ' || rest[n] == '\t') {
		n++
	}
	st.indent = string(rest[:n])
	return st
}

// format lays out compact JSON in the style.
func (st style) format(compact []byte) ([]byte, error) {
	out := compact
	if st.indent != "" {
		var buf bytes.Buffer
		buf.Grow(len(compact) * 2)
		if err := json.Indent(&buf, compact, "", st.indent); err != nil {
			return nil, fmt.Errorf("indent document: %w", err)
		}
		out = buf.Bytes()
	}
	if st.trailingNL {
		out = append(out, '\n')
	}
	return out, nil
}
