package spec

import (
	"sort"
)

// UnknownFields returns the JSON path of every object key in the document as
// received that the vendored runtime-spec types do not decode, e.g.
// "linux.landlockABI", "mounts[].x-order", "process.capabilities.x-capFuture".
// Array elements and map values are written "[]" (all elements share one
// path); a known key is named by its canonical spelling. The paths are
// sorted and each appears once. Such keys are still written back verbatim
// (see merge): this only tells the policy what the typed spec cannot show it,
// since a newer lower runtime may act on them.
func (d *Document) UnknownFields() ([]string, error) {
	return d.codec.unknownFields("")
}

// UnknownFields is Document.UnknownFields for an exec process file; paths
// start with "process." so they read like the container's.
func (p *ProcessDocument) UnknownFields() ([]string, error) {
	return p.codec.unknownFields("process")
}

// UnknownFields is Document.UnknownFields for a `runc update --resources`
// document; paths start with "linux.resources.".
func (r *ResourcesDocument) UnknownFields() ([]string, error) {
	return r.codec.unknownFields("linux.resources")
}

func (c *codec) unknownFields(prefix string) ([]string, error) {
	// A document that is, up to whitespace, the typed struct's own
	// encoding has only keys the struct decodes (what engines marshalling
	// the same Go types write): no second decode, no schema to build.
	if c.originalRepresented() {
		return []string{}, nil
	}
	tree, err := decodeTree(c.original)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	collectUnknown(tree, c.schema(), prefix, found)
	out := make([]string, 0, len(found))
	for p := range found {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// collectUnknown walks a generic tree alongside its schema. Values whose
// shape does not match the schema (a typed decode would have refused them)
// and opaque leaves are not descended into.
func collectUnknown(v any, s *schema, path string, found map[string]bool) {
	switch s.kind {
	case object:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			name := s.field(k)
			if name == "" {
				found[join(path, k)] = true
				continue
			}
			collectUnknown(child, s.fields[name], join(path, name), found)
		}
	case dict:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, child := range m {
			collectUnknown(child, s.elem, path+"[]", found)
		}
	case list:
		l, ok := v.([]any)
		if !ok {
			return
		}
		for _, child := range l {
			collectUnknown(child, s.elem, path+"[]", found)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
