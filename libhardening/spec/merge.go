package spec

import (
	"encoding/json"
	"strings"
)

// absent stands for "no such key" where a missing key and a JSON null mean
// different things.
type absent struct{}

// merge builds the document to write from three generic trees:
//
//   - orig, the document as received;
//   - base, the typed decode of orig marshalled again (what the typed
//     struct understood);
//   - cur, the typed struct after the modifiers, marshalled.
//
// Everything the typed struct knows comes from cur, so the result decodes to
// exactly what the modifiers produced. Keys the typed struct does not know
// come from orig, at any depth. Known keys that the struct drops because they
// hold an empty value ("terminal": false, "annotations": {}) are kept as
// written unless a modifier set them, and a leaf nobody changed keeps its
// original spelling (number text such as -0 or 1E3 in an opaque value). The
// trees are modified in place; cur is consumed.
func merge(orig, base, cur any, s *schema) any {
	switch s.kind {
	case object:
		return mergeObject(orig, base, cur, s)
	case dict:
		return mergeDict(orig, base, cur, s)
	case list:
		return mergeList(orig, base, cur, s)
	}
	if leafEqual(cur, base) {
		return orig
	}
	return cur
}

// objects asserts the three trees of a merge are JSON objects; base may be
// absent. When cur or orig is not an object there is nothing to merge.
func objects(orig, base, cur any) (o, b, c map[string]any, ok bool) {
	if c, ok = cur.(map[string]any); !ok {
		return nil, nil, nil, false
	}
	if o, ok = orig.(map[string]any); !ok {
		return nil, nil, nil, false
	}
	b, _ = base.(map[string]any)
	return o, b, c, true
}

// child returns b[k], or absent when b has no such key.
func child(b map[string]any, k string) (any, bool) {
	if v, ok := b[k]; ok {
		return v, true
	}
	return absent{}, false
}

func mergeObject(orig, base, cur any, s *schema) any {
	o, b, c, ok := objects(orig, base, cur)
	if !ok {
		return cur
	}
	variants := caseVariants(o, s)
	for k, ov := range o {
		name := s.field(k)
		switch {
		case name == "":
			// Unknown to the typed struct: carried over verbatim.
			c[k] = ov
		case variants[name]:
			// Several spellings fed this field and the tree does not
			// record which came last: cur alone says what the typed
			// decoder made of them. Variants themselves are dropped: kept,
			// one would override the hardened value when the lower
			// runtime decodes the file.
		default:
			bv, inBase := child(b, k)
			cv, inCur := c[k]
			switch {
			case inCur:
				c[k] = merge(ov, bv, cv, s.fields[k])
			case !inBase:
				c[k] = ov // an empty value the struct omits; nobody set it
			}
			// In base but not in cur: a modifier removed it.
		}
	}
	return c
}

// caseVariants returns the fields of s that o spells in more than one way or
// in a non-canonical case; nil (the common case) when there are none.
func caseVariants(o map[string]any, s *schema) map[string]bool {
	var v map[string]bool
	for k := range o {
		if name := s.field(k); name != "" && name != k {
			if v == nil {
				v = map[string]bool{}
			}
			v[name] = true
		}
	}
	return v
}

func mergeDict(orig, base, cur any, s *schema) any {
	o, b, c, ok := objects(orig, base, cur)
	if !ok {
		return cur
	}
	for k, cv := range c {
		if ov, ok := o[k]; ok {
			bv, _ := child(b, k)
			c[k] = merge(ov, bv, cv, s.elem)
		}
	}
	return c
}

// mergeList pairs each element of cur with an element of orig and merges
// the pair. Pairing is by the element type's natural key (the n-th mount on
// /proc with the n-th original mount on /proc); without a key, by index when
// the lengths agree, else with the first unpaired original element whose
// typed content is identical.
func mergeList(orig, base, cur any, s *schema) any {
	c, ok := cur.([]any)
	if !ok || s.elem.kind == leaf {
		return cur
	}
	o, ok := orig.([]any)
	if !ok {
		return cur
	}
	b, _ := base.([]any)
	if len(b) != len(o) {
		return cur // cannot happen: base is orig decoded element by element
	}
	pair := pairByIndex
	if s.key != nil {
		pair = pairByKey(s.key)
	} else if len(o) != len(c) {
		pair = pairByContent
	}
	for i, j := range pair(o, b, c) {
		if j >= 0 {
			c[i] = merge(o[j], b[j], c[i], s.elem)
		}
	}
	return c
}

// A pairing returns, for each element of cur, the index of its original
// element or -1.
type pairing func(orig, base, cur []any) []int

func pairByIndex(orig, _, cur []any) []int {
	p := make([]int, len(cur))
	for i := range p {
		p[i] = i
		if i >= len(orig) {
			p[i] = -1
		}
	}
	return p
}

func pairByKey(fields []string) pairing {
	return func(orig, _, cur []any) []int {
		byKey := make(map[string][]int, len(orig))
		for j, e := range orig {
			k := elementKey(e, fields)
			byKey[k] = append(byKey[k], j)
		}
		p := make([]int, len(cur))
		for i, e := range cur {
			p[i] = -1
			k := elementKey(e, fields)
			if js := byKey[k]; len(js) > 0 {
				p[i] = js[0]
				byKey[k] = js[1:]
			}
		}
		return p
	}
}

// maxContentPairs bounds the quadratic content pairing; larger unkeyed
// arrays (a regenerated seccomp profile) are simply taken as rewritten.
const maxContentPairs = 1 << 16

func pairByContent(orig, base, cur []any) []int {
	p := make([]int, len(cur))
	used := make([]bool, len(orig))
	for i, e := range cur {
		p[i] = -1
		if len(orig)*len(cur) > maxContentPairs {
			continue
		}
		for j := range base {
			if !used[j] && treeEqual(base[j], e) {
				p[i], used[j] = j, true
				break
			}
		}
	}
	return p
}

func elementKey(e any, fields []string) string {
	m, ok := e.(map[string]any)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, f := range fields {
		switch v := m[f].(type) {
		case string:
			b.WriteString(v)
		case json.Number:
			b.WriteString(string(v))
		}
		b.WriteByte(0)
	}
	return b.String()
}

func leafEqual(a, b any) bool {
	if _, ok := b.(absent); ok {
		return false
	}
	return treeEqual(a, b)
}

// treeEqual compares two generic JSON trees decoded with UseNumber.
func treeEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !treeEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !treeEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	default:
		return a == b // string, bool, json.Number
	}
}
