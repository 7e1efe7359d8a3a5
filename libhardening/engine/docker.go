package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// dockerEdits edits daemon.json: runtimes.<name>.path and, with
// SetAsDefault, default-runtime. dockerd has no drop-in directory.
func dockerEdits(o Options) ([]fileEdit, []string, error) {
	return []fileEdit{{
		path:        o.Config,
		configure:   func(b []byte, ok bool) ([]byte, bool, error) { return dockerConfigure(o, b) },
		unconfigure: func(b []byte, ok bool) ([]byte, bool, error) { return dockerUnconfigure(o, b) },
	}}, nil, nil
}

// decodeJSONObject decodes daemon.json into a generic map. UseNumber keeps
// numbers as written (no float64 rounding of large integers); null values
// and unknown keys survive as they are.
func decodeJSONObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %s, want a JSON object", ErrMalformed, jsonKind(v))
	}
	return m, nil
}

func encodeJSON(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// objectField returns m[key] as an object. A missing key or an explicit
// null yields a new, empty object (NVIDIA's configure panicked on
// "runtimes": null); any other type is an error, never overwritten.
func objectField(m map[string]any, key string) (map[string]any, error) {
	switch v := m[key].(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("%w: %q is %s, want an object", ErrMalformed, key, jsonKind(v))
	}
}

func dockerConfigure(o Options, data []byte) ([]byte, bool, error) {
	m, err := decodeJSONObject(data)
	if err != nil {
		return nil, false, err
	}
	runtimes, err := objectField(m, "runtimes")
	if err != nil {
		return nil, false, err
	}
	rt, err := objectField(runtimes, o.RuntimeName)
	if err != nil {
		return nil, false, fmt.Errorf("runtimes: %w", err)
	}
	changed := rt["path"] != o.RuntimePath
	rt["path"] = o.RuntimePath
	runtimes[o.RuntimeName] = rt
	m["runtimes"] = runtimes
	if o.SetAsDefault {
		changed = changed || m["default-runtime"] != o.RuntimeName
		m["default-runtime"] = o.RuntimeName
	}
	if !changed && len(data) > 0 {
		// Already configured: keep the admin's formatting.
		return data, false, nil
	}
	out, err := encodeJSON(m)
	return out, false, err
}

func dockerUnconfigure(o Options, data []byte) ([]byte, bool, error) {
	m, err := decodeJSONObject(data)
	if err != nil {
		return nil, false, err
	}
	changed := false
	runtimes, err := objectField(m, "runtimes")
	if err != nil {
		return nil, false, err
	}
	if m["runtimes"] != nil {
		if _, ok := runtimes[o.RuntimeName]; ok {
			delete(runtimes, o.RuntimeName)
			changed = true
			if len(runtimes) == 0 {
				delete(m, "runtimes")
			}
		}
	}
	if m["default-runtime"] == o.RuntimeName {
		// The engine's own default (runc) applies again.
		delete(m, "default-runtime")
		changed = true
	}
	if !changed {
		return data, false, nil
	}
	out, err := encodeJSON(m)
	return out, false, err
}
