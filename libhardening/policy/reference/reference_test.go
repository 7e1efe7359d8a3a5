package reference

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/profiles"
)

// undocumentedElsewhere are keys whose fields have no doc comment yet, in
// files this test's owner does not edit. Do not add to it: document the field.
var undocumentedElsewhere = map[string]bool{}

// TestPolicyFieldsDocumented: the reference explains a key by its field's
// doc comment, so every key needs one.
func TestPolicyFieldsDocumented(t *testing.T) {
	d, err := buildReference()
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range append(append([]refTable{d.Select}, d.Config...), d.Profile...) {
		if tbl.Summary == "" {
			t.Errorf("%s: the struct type has no doc comment (or its file is not in reference.go's go:embed list)", tbl.Name)
		}
		for _, r := range tbl.Rows {
			if r.Meaning == "" && !undocumentedElsewhere[tbl.Name+"."+r.Key] {
				t.Errorf("%s: key %s: its field has no doc comment saying what it is for", tbl.Name, r.Key)
			}
		}
	}
	if len(d.Modes) != 3 {
		t.Errorf("modes = %+v, want enforce, audit and off with their doc comments", d.Modes)
	}
}

// TestDefaultProfileSetsEveryKey: profiles/default.toml is where an admin
// reads the defaults and their reasons, so it must spell out every key.
func TestDefaultProfileSetsEveryKey(t *testing.T) {
	data, err := profiles.FS.ReadFile("default.toml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	d, err := buildReference()
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range d.Profile[1:] {
		name := strings.Trim(sec.Name, "[]")
		table, _ := doc[name].(map[string]any)
		for _, r := range sec.Rows {
			if _, ok := table[r.Key]; !ok {
				t.Errorf("profiles/default.toml does not set %s.%s", name, r.Key)
			}
		}
	}
}

func TestReferenceValuesAndTypes(t *testing.T) {
	type sample struct {
		S  string              `toml:"s"`
		B  bool                `toml:"b"`
		N  int64               `toml:"n"`
		U  uint16              `toml:"u"`
		L  []string            `toml:"l"`
		M  map[string]string   `toml:"m"`
		R  []policy.SelectRule `toml:"r"`
		Md policy.Mode         `toml:"md"`
	}
	v := reflect.ValueOf(sample{S: `a"b`, B: true, N: -1, U: 7, L: []string{"x", "y"}, M: map[string]string{"k2": "v", "k1": "*"}, Md: policy.ModeAudit})
	want := []struct{ typ, val string }{
		{"string", `"a\"b"`},
		{"boolean", "true"},
		{"integer", "-1"},
		{"integer", "7"},
		{"array of strings", `["x", "y"]`},
		{"table of strings", `{"k1" = "*", "k2" = "v"}`},
		{"array of tables", "[]"},
		{"string", `"audit"`},
	}
	for i, w := range want {
		f := v.Type().Field(i)
		if typ, val := tomlType(f.Type), tomlValue(v.Field(i)); typ != w.typ || val != w.val {
			t.Errorf("%s: got %s %s, want %s %s", f.Name, typ, val, w.typ, w.val)
		}
	}
}

func TestFieldDocsShareNamedComment(t *testing.T) {
	docs, err := parseSourceDocs(policy.Sources)
	if err != nil {
		t.Fatal(err)
	}
	c := docs.fields["Cgroups"]
	if c["PidsMax"] == "" || c["PidsMax"] != c["PidsLimit"] {
		t.Errorf("PidsMax should share PidsLimit's comment: %q / %q", c["PidsMax"], c["PidsLimit"])
	}
	keys := map[string]string{"PidsLimit": "pids_limit", "PidsMax": "pids_max"}
	if got := withKeys(c["PidsLimit"], keys); !strings.HasPrefix(got, "`pids_limit` is set") || !strings.Contains(got, "`pids_max` clamps") {
		t.Errorf("withKeys: %q", got)
	}
	if docs.types["Profile"] == "" || docs.types["Config"] == "" {
		t.Errorf("type docs of Profile and Config not found")
	}
}
