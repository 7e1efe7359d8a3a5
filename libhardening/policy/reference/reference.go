// Package reference generates the policy reference (docs/policy.md,
// `hardenctl profile reference`) from package policy's own definitions. It
// is a package of its own so that the runtime, which links policy, does not
// link go/parser, go/doc and text/template.
package reference

import (
	_ "embed" // the template
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/profiles"
)

// The policy reference is built from this package's own definitions, so it
// cannot drift from them: keys and types from the structs' toml tags by
// reflection, values from the built-in profiles, and each key's meaning from
// the doc comment of its field. The source files are embedded in package
// policy (policy.Sources) so that an installed hardenctl prints the same
// reference as docs/policy.md.

//go:embed reference.md.tmpl
var referenceTemplate string

// Reference writes the policy reference, in Markdown: every key of
// config.toml and of a profile with its TOML type, its value in each built-in
// profile and its meaning. It describes the profiles built into the binary,
// never a host's files. docs/policy.md is this text.
func Reference(w io.Writer) error {
	data, err := buildReference()
	if err != nil {
		return fmt.Errorf("policy reference: %w", err)
	}
	tmpl, err := template.New("reference").Funcs(template.FuncMap{"code": mdCode, "cell": mdCell}).Parse(referenceTemplate)
	if err != nil {
		return fmt.Errorf("policy reference: %w", err)
	}
	return tmpl.Execute(w, data)
}

// refData is what reference.md.tmpl renders.
type refData struct {
	ConfigPath, EnvConfig, ProfilesDir, DefaultProfile string
	Modes                                              []refConst
	ControlModes                                       []refConst
	// Config and Profile are the top-level keys' table, then one table per
	// nested table ("[forensics_retention]", "[capabilities]").
	Config, Profile []refTable
	Select          refTable
	// Others are the built-in profiles beside "default", one column each.
	Others   []string
	Profiles []refProfile
	Files    []string
}

type refTable struct {
	// Name is the table's heading; Path prefixes its keys in the built-in
	// profiles' summary ("capabilities.").
	Name, Path, Summary string
	// Columns name the other profiles whose values the rows show.
	Columns []string
	Rows    []refRow
}

type refRow struct {
	Key, Type, Default, Meaning string
	// Others holds each other profile's value where it differs from
	// Default, "" where it does not.
	Others []string
}

type refConst struct{ Value, Meaning string }

type refProfile struct {
	Name, Extends, Description string
	// Changes are the keys whose value differs from "default".
	Changes []string
}

func buildReference() (*refData, error) {
	docs, err := parseSourceDocs(policy.Sources)
	if err != nil {
		return nil, err
	}
	builtin, err := builtinProfiles()
	if err != nil {
		return nil, err
	}
	d := &refData{
		ConfigPath:     policy.DefaultConfigPath,
		EnvConfig:      policy.EnvConfig,
		ProfilesDir:    policy.DefaultProfilesDir,
		DefaultProfile: policy.DefaultProfile,
		Modes:          docs.consts["Mode"],
		ControlModes:   docs.consts["ControlMode"],
	}
	vals := make([]reflect.Value, len(builtin))
	for i, p := range builtin {
		vals[i] = reflect.ValueOf(*p)
		if i > 0 {
			d.Others = append(d.Others, p.Name)
		}
		d.Profiles = append(d.Profiles, refProfile{Name: p.Name, Extends: p.Extends, Description: p.Description})
	}
	if d.Config, err = docs.tables("config.toml", "", reflect.ValueOf(*policy.DefaultConfig())); err != nil {
		return nil, err
	}
	if d.Select, err = docs.table("[[select]]", reflect.ValueOf(policy.SelectRule{})); err != nil {
		return nil, err
	}
	if d.Profile, err = docs.tables("profile", "", vals...); err != nil {
		return nil, err
	}
	for i := range d.Profile {
		d.Profile[i].Columns = d.Others
		d.noteChanges(d.Profile[i])
	}
	d.Files, err = fs.Glob(profiles.FS, "*/*")
	return d, err
}

// builtinProfiles loads the profiles embedded in the binary, "default"
// first; a profiles directory on this host plays no part.
func builtinProfiles() ([]*policy.Profile, error) {
	st := policy.Store{}
	names, err := st.List()
	if err != nil {
		return nil, err
	}
	out := make([]*policy.Profile, 0, len(names))
	for _, n := range append([]string{policy.DefaultProfile}, names...) {
		if n == policy.DefaultProfile && len(out) > 0 {
			continue
		}
		p, err := st.Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// noteChanges adds the keys an other profile sets differently from
// "default" to its summary (description and extends have columns of their
// own).
func (d *refData) noteChanges(tbl refTable) {
	for _, r := range tbl.Rows {
		for i, v := range r.Others {
			if v != "" && r.Key != "description" && r.Key != "extends" {
				d.Profiles[i+1].Changes = append(d.Profiles[i+1].Changes, tbl.Path+r.Key)
			}
		}
	}
}

func fieldValues(vals []reflect.Value, i int) []reflect.Value {
	out := make([]reflect.Value, len(vals))
	for j, v := range vals {
		out[j] = v.Field(i)
	}
	return out
}

// tomlKey is the key go-toml decodes the field from; ok is false for
// `toml:"-"`. A field without a tag is an error: go-toml would match it by
// its Go name, which the reference must not guess.
func tomlKey(t reflect.Type, f reflect.StructField) (key string, ok bool, err error) {
	tag, found := f.Tag.Lookup("toml")
	if !found {
		return "", false, fmt.Errorf("%s.%s has no toml tag", t.Name(), f.Name)
	}
	key, _, _ = strings.Cut(tag, ",")
	return key, key != "-", nil
}

// sourceDocs are the doc comments of this package's struct types, their
// fields and typed constants, by Go name.
type sourceDocs struct {
	types  map[string]string
	fields map[string]map[string]string
	consts map[string][]refConst
}

func parseSourceDocs(fsys fs.FS) (*sourceDocs, error) {
	docs := &sourceDocs{types: map[string]string{}, fields: map[string]map[string]string{}, consts: map[string][]refConst{}}
	files, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok {
				docs.addDecl(gd)
			}
		}
	}
	return docs, nil
}

func (docs *sourceDocs) addDecl(gd *ast.GenDecl) {
	for _, spec := range gd.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			st, ok := s.Type.(*ast.StructType)
			if !ok {
				continue
			}
			typeDoc := commentText(firstDoc(s.Doc, gd.Doc))
			docs.types[s.Name.Name] = typeDoc
			docs.fields[s.Name.Name] = structFieldDocs(st, typeDoc)
		case *ast.ValueSpec:
			typ, ok := s.Type.(*ast.Ident)
			if gd.Tok != token.CONST || !ok || len(s.Names) != 1 || len(s.Values) != 1 {
				continue
			}
			lit, ok := s.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			v, _ := strconv.Unquote(lit.Value)
			meaning := strings.TrimPrefix(commentText(s.Doc), s.Names[0].Name+" ")
			docs.consts[typ.Name] = append(docs.consts[typ.Name], refConst{Value: v, Meaning: meaning})
		}
	}
}

// structFieldDocs maps each field to its doc comment. A field without one
// shares the comment of the field before it, or else of its struct, when
// that comment names it ("PidsLimit is set when absent; PidsMax clamps ...").
func structFieldDocs(st *ast.StructType, typeDoc string) map[string]string {
	out := map[string]string{}
	prev := ""
	for _, f := range st.Fields.List {
		d := commentText(f.Doc)
		for _, n := range f.Names {
			switch {
			case d != "":
				out[n.Name] = d
			case mentions(prev, n.Name):
				out[n.Name] = prev
			case mentions(typeDoc, n.Name):
				out[n.Name] = typeDoc
			}
		}
		if d != "" {
			prev = d
		}
	}
	return out
}

var goName = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*\b`)

func mentions(doc, name string) bool {
	return slices.Contains(goName.FindAllString(doc, -1), name)
}

func firstDoc(groups ...*ast.CommentGroup) *ast.CommentGroup {
	for _, g := range groups {
		if g != nil {
			return g
		}
	}
	return nil
}

// commentText is a comment as one line of text.
func commentText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// tables describes the struct in vals[0] as TOML tables: its own keys, then
// each struct field as a table of its own, recursively. vals[1:] are the
// same struct in the other built-in profiles.
func (docs *sourceDocs) tables(name, path string, vals ...reflect.Value) ([]refTable, error) {
	tbl, err := docs.table(name, vals...)
	if err != nil {
		return nil, err
	}
	tbl.Path = path
	out := []refTable{tbl}
	t := vals[0].Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok, err := tomlKey(t, f)
		if err != nil {
			return nil, err
		}
		if !ok || f.Type.Kind() != reflect.Struct {
			continue
		}
		sub, err := docs.tables("["+path+key+"]", path+key+".", fieldValues(vals, i)...)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// table describes the tagged non-struct fields of the struct in vals[0];
// vals[1:] are the same struct in the other profiles, shown where they
// differ.
func (docs *sourceDocs) table(name string, vals ...reflect.Value) (refTable, error) {
	t := vals[0].Type()
	fieldDocs := docs.fields[t.Name()]
	keys := map[string]string{}
	for i := range t.NumField() {
		if k, ok, err := tomlKey(t, t.Field(i)); err == nil && ok {
			keys[t.Field(i).Name] = k
		}
	}
	tbl := refTable{Name: name, Summary: docs.synopsis(t.Name(), keys)}
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok, err := tomlKey(t, f)
		if err != nil {
			return refTable{}, err
		}
		if !ok || f.Type.Kind() == reflect.Struct {
			continue // a section: a table of its own
		}
		def := tomlValue(vals[0].Field(i))
		r := refRow{Key: key, Type: tomlType(f.Type), Default: def, Meaning: withKeys(fieldDocs[f.Name], keys)}
		r.Meaning = strings.TrimSpace(r.Meaning + " " + docs.oneOf(f.Type))
		for _, v := range vals[1:] {
			other := tomlValue(v.Field(i))
			if other == def {
				other = ""
			}
			r.Others = append(r.Others, other)
		}
		tbl.Rows = append(tbl.Rows, r)
	}
	return tbl, nil
}

// oneOf lists the values of a type of this package that has named
// constants (Mode), so its field's row says what the field accepts.
func (docs *sourceDocs) oneOf(t reflect.Type) string {
	cs := docs.consts[t.Name()]
	if t.PkgPath() != reflect.TypeFor[policy.Profile]().PkgPath() || len(cs) == 0 {
		return ""
	}
	vals := make([]string, len(cs))
	for i, c := range cs {
		vals[i] = "`" + c.Value + "`"
	}
	return "One of " + strings.Join(vals, ", ") + "."
}

func (docs *sourceDocs) synopsis(typ string, keys map[string]string) string {
	return withKeys(new(doc.Package).Synopsis(docs.types[typ]), keys)
}

// withKeys writes the Go field names a comment mentions as their TOML keys.
func withKeys(s string, keys map[string]string) string {
	return goName.ReplaceAllStringFunc(s, func(w string) string {
		if k, ok := keys[w]; ok {
			return "`" + k + "`"
		}
		return w
	})
}

// tomlType names a Go type as the TOML type an admin writes.
func tomlType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "array of tables"
		}
		return "array of " + tomlType(t.Elem()) + "s"
	case reflect.Map:
		return "table of " + tomlType(t.Elem()) + "s"
	case reflect.Struct:
		return "table"
	}
	return t.Kind().String()
}

// tomlValue writes v as a TOML value, the way the profiles write it.
func tomlValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = tomlValue(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case reflect.Map:
		items := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			items = append(items, strconv.Quote(k.String())+" = "+tomlValue(v.MapIndex(k)))
		}
		slices.Sort(items)
		return "{" + strings.Join(items, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// mdCode is v as inline code in a Markdown table cell ("" stays empty).
func mdCode(v string) string {
	if v == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(v, "|", `\|`) + "`"
}

// mdText escapes, outside code spans, what Markdown would read as a table
// cell's end, an HTML tag ("<profiles>") or emphasis ("*/nginx:*").
var mdText = strings.NewReplacer("|", `\|`, "<", "&lt;", "*", `\*`)

// mdCell is a comment as the text of a Markdown table cell.
func mdCell(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = mdText.Replace(parts[i])
	}
	return strings.Join(parts, "`")
}
