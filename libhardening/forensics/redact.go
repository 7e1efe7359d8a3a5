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
	if len(patterns) == 0 {
		return compact(doc)
	}
	red := redactor{patterns: upper(patterns), names: map[string]bool{}}
	if !red.anyMatch(doc) {
		// The usual case: nothing to redact, and the document is not
		// decoded into a tree at all.
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
	// Keys are matched as the lower runtime's decoder (encoding/json)
	// matches them: case-insensitively.
	red.envOf(top) // process.json is a bare process
	eachKey(top, "process", func(v any) {
		if p, ok := v.(map[string]any); ok {
			red.envOf(p)
		}
	})
	eachKey(top, "hooks", func(v any) {
		hooks, _ := v.(map[string]any)
		for _, list := range hooks {
			hs, _ := list.([]any)
			for _, h := range hs {
				if hm, ok := h.(map[string]any); ok {
					red.envOf(hm)
				}
			}
		}
	})
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

// envLists are the env lists Redact looks at, decoded by field (keys
// matched case-insensitively, escapes decoded, as the lower runtime reads
// them): this skips the rest of the document instead of building a tree of
// it.
type envLists struct {
	Env     []any `json:"env"`
	Process *struct {
		Env []any `json:"env"`
	} `json:"process"`
	Hooks map[string][]struct {
		Env []any `json:"env"`
	} `json:"hooks"`
}

// anyMatch reports whether any env entry of doc may need redaction; when in
// doubt (a shape it cannot read) it says yes and the tree walk decides.
func (r *redactor) anyMatch(doc []byte) bool {
	var l envLists
	if json.Unmarshal(doc, &l) != nil {
		return true
	}
	lists := [][]any{l.Env}
	if l.Process != nil {
		lists = append(lists, l.Process.Env)
	}
	for _, hs := range l.Hooks {
		for _, h := range hs {
			lists = append(lists, h.Env)
		}
	}
	for _, env := range lists {
		for _, e := range env {
			s, ok := e.(string)
			if !ok {
				continue
			}
			if name, _, hasValue := strings.Cut(s, "="); hasValue && r.match(name) {
				return true
			}
		}
	}
	return false
}

// eachKey calls f with the value of every key of m equal to key under
// case folding.
func eachKey(m map[string]any, key string, f func(any)) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			f(v)
		}
	}
}

// envOf redacts the "env" lists of obj in place.
func (r *redactor) envOf(obj map[string]any) {
	eachKey(obj, "env", func(v any) {
		if env, ok := v.([]any); ok {
			r.envList(env)
		}
	})
}

func (r *redactor) envList(env []any) {
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
