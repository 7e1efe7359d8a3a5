package spec

import (
	"encoding/json"
	"fmt"
	"slices"
)

// encodeTree writes a merged tree as compact JSON, then lays it out in the
// original's style. Object keys come in the order the typed struct declares
// them, which is the order engines and runc write, followed by the unknown
// keys sorted; so a merged document reads and diffs like the engine's own.
// Strings are escaped exactly as encoding/json escapes them, so a second pass
// over the result finds it already in the typed struct's form.
func encodeTree(tree any, s *schema, st style) ([]byte, error) {
	buf, err := appendValue(make([]byte, 0, 16<<10), tree, s)
	if err != nil {
		return nil, err
	}
	return st.format(buf)
}

func appendValue(b []byte, v any, s *schema) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case json.Number:
		return append(b, x...), nil
	case string:
		return appendString(b, x)
	case []any:
		var elem *schema
		if s != nil {
			elem = s.elem
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e, elem); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return appendObject(b, x, s)
	default:
		return nil, fmt.Errorf("encode document: unexpected %T in tree", v)
	}
}

func appendObject(b []byte, m map[string]any, s *schema) ([]byte, error) {
	b = append(b, '{')
	first := true
	field := func(k string, v any, fs *schema) error {
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		if b, err = appendString(b, k); err != nil {
			return err
		}
		b = append(b, ':')
		b, err = appendValue(b, v, fs)
		return err
	}
	rest := make([]string, 0, len(m))
	if s != nil && s.kind == object {
		for _, k := range s.names {
			if v, ok := m[k]; ok {
				if err := field(k, v, s.fields[k]); err != nil {
					return nil, err
				}
			}
		}
		for k := range m {
			if _, known := s.fields[k]; !known {
				rest = append(rest, k)
			}
		}
	} else {
		for k := range m {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	var elem *schema
	if s != nil && s.kind == dict {
		elem = s.elem
	}
	for _, k := range rest {
		if err := field(k, m[k], elem); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendString quotes s. Plain printable ASCII, nearly every string in a
// spec, is copied; anything else goes through encoding/json so escaping
// (HTML characters, U+2028, invalid UTF-8) matches json.Marshal exactly.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				return nil, err
			}
			return append(b, q...), nil
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
