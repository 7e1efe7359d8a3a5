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
	// base is the typed decode of original, marshalled: comparing it with
	// the marshalled struct tells whether a modifier changed anything.
	base   []byte
	schema *schema
}

// decode validates data as a JSON object, decodes it into v (a pointer to a
// runtime-spec struct) and prepares the codec.
func decode(data []byte, v any, s *schema) (codec, error) {
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
		return codec{}, fmt.Errorf("re-encode decoded document: %w", err)
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
		// Offset counts the bytes read, including the offending one.
		e.Offset = max(syn.Offset-1, 0)
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
// differs from what was decoded.
func (c *codec) changed(v any) (bool, []byte, error) {
	cur, err := json.Marshal(v)
	if err != nil {
		return false, nil, fmt.Errorf("encode document: %w", err)
	}
	return !bytes.Equal(cur, c.base), cur, nil
}

// encode returns the document to write for v. An unchanged document is the
// original, byte for byte; a changed one is the merge of v with every field
// of the original that v cannot represent.
func (c *codec) encode(v any) ([]byte, error) {
	changed, cur, err := c.changed(v)
	if err != nil || !changed {
		return c.original, err
	}
	return c.remerge(cur)
}

// remerge always merges, even when nothing changed (tests and the fuzz
// target use it to check the merge itself is lossless).
func (c *codec) remerge(cur []byte) ([]byte, error) {
	orig, err := decodeTree(c.original)
	if err != nil {
		return nil, err
	}
	base, err := decodeTree(c.base)
	if err != nil {
		return nil, err
	}
	tree, err := decodeTree(cur)
	if err != nil {
		return nil, err
	}
	return encodeTree(merge(orig, base, tree, c.schema), detectStyle(c.original))
}

// rebase makes written the new original, after a successful write.
func (c *codec) rebase(written []byte, v any) error {
	base, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.original, c.base = written, base
	return nil
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

func encodeTree(tree any, st style) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep "&&" in a shell command readable; runc decodes either form.
	enc.SetEscapeHTML(false)
	if st.indent != "" {
		enc.SetIndent("", st.indent)
	}
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	out := buf.Bytes()
	if !st.trailingNL {
		out = out[:len(out)-1]
	}
	return out, nil
}
