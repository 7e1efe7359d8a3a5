package spec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A schema mirrors the JSON shape of a runtime-spec Go type: which object
// keys the typed struct decodes (everything else is unknown and must be
// carried over verbatim), and how to pair array elements of the rewritten
// document with the original ones.
type schema struct {
	kind shape
	// fields maps each canonical JSON key of a struct to its schema; names
	// lists the same keys for case-insensitive lookup.
	fields map[string]*schema
	names  []string
	// elem is the schema of a map's values or a slice's elements.
	elem *schema
	// key names the fields that identify a slice element (mounts by
	// destination...); nil means pair by index.
	key []string
}

type shape uint8

const (
	leaf   shape = iota // scalar, or a value decoded as a whole
	object              // Go struct: known keys, unknown keys kept
	dict                // Go map with string keys: every key is known
	list                // Go slice or array
)

// The schemas are derived once from the runtime-spec types and never change.
var (
	specSchema      = sync.OnceValue(func() *schema { return schemaFor(reflect.TypeFor[specs.Spec]()) })
	processSchema   = sync.OnceValue(func() *schema { return schemaFor(reflect.TypeFor[specs.Process]()) })
	resourcesSchema = sync.OnceValue(func() *schema { return schemaFor(reflect.TypeFor[specs.LinuxResources]()) })
)

func schemaFor(t reflect.Type) *schema {
	return buildSchema(t, map[reflect.Type]*schema{})
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func buildSchema(t reflect.Type, seen map[reflect.Type]*schema) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s
	}
	s := &schema{}
	seen[t] = s
	pt := reflect.PointerTo(t)
	if t.Implements(jsonMarshaler) || pt.Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || pt.Implements(textMarshaler) {
		return s // encodes itself: treat as opaque
	}
	switch t.Kind() {
	case reflect.Struct:
		s.kind = object
		s.fields = map[string]*schema{}
		addFields(s, t, seen)
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			s.kind = dict
			s.elem = buildSchema(t.Elem(), seen)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 { // []byte is a base64 string
			s.kind = list
			s.elem = buildSchema(t.Elem(), seen)
			s.key = naturalKey(t.Elem())
		}
	}
	return s
}

// addFields records the JSON keys of struct t, following encoding/json's
// rules for tags and embedded structs.
func addFields(s *schema, t reflect.Type, seen map[reflect.Type]*schema) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(s, ft, seen)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = buildSchema(f.Type, seen)
		s.names = append(s.names, name)
	}
}

// naturalKey is how elements of the rewritten arrays are paired with the
// original ones when a modifier adds, removes or reorders entries: a mount is
// identified by its destination, a namespace by its type, and so on.
func naturalKey(t reflect.Type) []string {
	switch t {
	case reflect.TypeFor[specs.Mount]():
		return []string{"destination"}
	case reflect.TypeFor[specs.LinuxNamespace](), reflect.TypeFor[specs.POSIXRlimit]():
		return []string{"type"}
	case reflect.TypeFor[specs.LinuxDevice](), reflect.TypeFor[specs.Hook]():
		return []string{"path"}
	case reflect.TypeFor[specs.LinuxWeightDevice](), reflect.TypeFor[specs.LinuxThrottleDevice]():
		return []string{"major", "minor"}
	case reflect.TypeFor[specs.LinuxHugepageLimit]():
		return []string{"pageSize"}
	case reflect.TypeFor[specs.LinuxInterfacePriority]():
		return []string{"name"}
	}
	return nil
}

// field looks up an object key and returns the canonical key it decodes
// into, or "" for a key the typed struct does not know. encoding/json matches
// keys case-insensitively (bytes.EqualFold), so "Process" or
// "noNewprivileges" also feed the typed struct: such a key is known.
func (s *schema) field(key string) string {
	if _, ok := s.fields[key]; ok {
		return key
	}
	for _, n := range s.names {
		if strings.EqualFold(n, key) {
			return n
		}
	}
	return ""
}
