package forensics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// RedactedValue replaces the value of a redacted environment variable.
const RedactedValue = "<redacted>"

// Redact returns doc with the values of environment variables whose names
// match one of patterns (shell globs, case-insensitive) replaced by
// RedactedValue, in process.env, a bare process document's env (exec's
// process.json) and every hook's env. It also returns the redacted names.
// When nothing matches, doc is returned unchanged (compacted by the caller's
// json.RawMessage); otherwise it is re-encoded with numbers kept verbatim.
func Redact(doc []byte, patterns []string) (json.RawMessage, []string, error) {
	if len(patterns) == 0 || !bytes.Contains(doc, []byte(`"env"`)) {
		return compact(doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		// Trailing data: not one JSON document (compact says the same).
		return nil, nil, fmt.Errorf("redact: data after the JSON document")
	}
	top, ok := v.(map[string]any)
	if !ok {
		return compact(doc)
	}
	red := redactor{patterns: upper(patterns), names: map[string]bool{}}
	red.envOf(top) // process.json is a bare process
	if p, ok := top["process"].(map[string]any); ok {
		red.envOf(p)
	}
	if hooks, ok := top["hooks"].(map[string]any); ok {
		for _, list := range hooks {
			hs, _ := list.([]any)
			for _, h := range hs {
				if hm, ok := h.(map[string]any); ok {
					red.envOf(hm)
				}
			}
		}
	}
	if len(red.names) == 0 {
		return compact(doc)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(red.names))
	for n := range red.names {
		names = append(names, n)
	}
	sort.Strings(names)
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), names, nil
}

type redactor struct {
	patterns []string
	names    map[string]bool
}

// envOf redacts the "env" list of obj in place.
func (r *redactor) envOf(obj map[string]any) {
	env, ok := obj["env"].([]any)
	if !ok {
		return
	}
	for i, e := range env {
		s, ok := e.(string)
		if !ok {
			continue
		}
		name, _, hasValue := strings.Cut(s, "=")
		if hasValue && r.match(name) {
			env[i] = name + "=" + RedactedValue
			r.names[name] = true
		}
	}
}

func (r *redactor) match(name string) bool {
	n := strings.ToUpper(name)
	for _, p := range r.patterns {
		if ok, _ := path.Match(p, n); ok {
			return true
		}
	}
	return false
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}

func compact(doc []byte) (json.RawMessage, []string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), nil, nil
}
