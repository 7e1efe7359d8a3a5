package engine

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// TOML files are decoded into generic maps so that keys this package does
// not know are kept. go-toml does not keep comments: a main file that is
// rewritten loses them (its backup keeps them), which is why CRI-O and
// Podman get drop-ins by default.

func decodeTOML(data []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := toml.Unmarshal(data, &m); err != nil {
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return nil, fmt.Errorf("%w: line %d column %d: %s", ErrMalformed, row, col, derr.Error())
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return m, nil
}

func encodeTOML(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(true)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode toml: %w", err)
	}
	return buf.Bytes(), nil
}

// table returns the table at path, creating missing ones. A key on the
// path that holds something other than a table is an error: it is never
// overwritten.
func table(m map[string]any, path ...string) (map[string]any, error) {
	cur := m
	for i, k := range path {
		switch v := cur[k].(type) {
		case nil:
			n := map[string]any{}
			cur[k] = n
			cur = n
		case map[string]any:
			cur = v
		default:
			return nil, fmt.Errorf("%w: %s is a %T, want a table", ErrMalformed, strings.Join(path[:i+1], "."), v)
		}
	}
	return cur, nil
}

// lookup returns the value at path, nil if any part is missing.
func lookup(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		t, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = t[k]
	}
	return cur
}

// lookupTable returns the table at path, nil if missing or not a table.
func lookupTable(m map[string]any, path ...string) map[string]any {
	t, _ := lookup(m, path...).(map[string]any)
	return t
}

// deleteKey removes the key at path and then every table on the path that
// became empty, up to (not including) the first keep levels: unconfigure
// leaves no empty [plugins...runtimes] stubs it created, but never removes
// a table the admin had.
func deleteKey(m map[string]any, keep int, path ...string) bool {
	parents := []map[string]any{m}
	for _, k := range path[:len(path)-1] {
		t := lookupTable(parents[len(parents)-1], k)
		if t == nil {
			return false
		}
		parents = append(parents, t)
	}
	last := parents[len(parents)-1]
	if _, ok := last[path[len(path)-1]]; !ok {
		return false
	}
	delete(last, path[len(path)-1])
	for i := len(parents) - 1; i > keep && i > 0; i-- {
		if len(parents[i]) != 0 {
			break
		}
		delete(parents[i-1], path[i-1])
	}
	return true
}

// deepCopy copies a decoded TOML/JSON value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		n := make(map[string]any, len(t))
		for k, v := range t {
			n[k] = deepCopy(v)
		}
		return n
	case []any:
		n := make([]any, len(t))
		for i, v := range t {
			n[i] = deepCopy(v)
		}
		return n
	}
	return v
}

// appendString adds s to the string array at m[k] unless it is there.
func appendString(m map[string]any, k, s string) (bool, error) {
	switch v := m[k].(type) {
	case nil:
		m[k] = []any{s}
		return true, nil
	case []any:
		for _, e := range v {
			if e == s {
				return false, nil
			}
		}
		m[k] = append(v, s)
		return true, nil
	default:
		return false, fmt.Errorf("%w: %s is a %T, want an array of strings", ErrMalformed, k, v)
	}
}

// removeString removes s from the string array at m[k]; an array that
// becomes empty is removed when dropEmpty.
func removeString(m map[string]any, k, s string, dropEmpty bool) bool {
	v, ok := m[k].([]any)
	if !ok {
		return false
	}
	out := v[:0:0]
	for _, e := range v {
		if e != s {
			out = append(out, e)
		}
	}
	if len(out) == len(v) {
		return false
	}
	if len(out) == 0 && dropEmpty {
		delete(m, k)
	} else {
		m[k] = out
	}
	return true
}

// editTOMLMap decodes data, applies edit and encodes the result; when the
// edit changes nothing the original bytes are returned, so a second run is
// byte-identical and an already configured file is not reformatted.
func editTOMLMap(data []byte, edit func(m map[string]any) error) ([]byte, bool, error) {
	m, err := decodeTOML(data)
	if err != nil {
		return nil, false, err
	}
	before := deepCopy(m)
	if err := edit(m); err != nil {
		return nil, false, err
	}
	if reflect.DeepEqual(before, m) {
		return data, false, nil
	}
	out, err := encodeTOML(m)
	return out, false, err
}
