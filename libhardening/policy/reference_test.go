package policy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
	"github.com/hardened-runc/hardened-runc/profiles"
)

const referenceDoc = "../../docs/policy.md"

// TestPolicyReferenceUpToDate keeps docs/policy.md equal to what the code
// defines. UPDATE_DOCS=1 rewrites it.
func TestPolicyReferenceUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := Reference(&buf); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(referenceDoc, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", referenceDoc)
		return
	}
	old, err := os.ReadFile(referenceDoc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, buf.Bytes()) {
		line, have, want := firstDiff(old, buf.Bytes())
		t.Fatalf("docs/policy.md is out of date with libhardening/policy; regenerate it:\n"+
			"  UPDATE_DOCS=1 go test ./libhardening/policy -run TestPolicyReferenceUpToDate\n"+
			"first difference, line %d:\n  docs: %s\n  code: %s", line, have, want)
	}
}

func firstDiff(a, b []byte) (line int, la, lb string) {
	as, bs := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; ; i++ {
		if i >= len(as) || i >= len(bs) || as[i] != bs[i] {
			return i + 1, at(as, i), at(bs, i)
		}
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end of file>"
}

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

// TestReferenceExamplesLoad: the examples in the reference are real configs.
func TestReferenceExamplesLoad(t *testing.T) {
	var buf bytes.Buffer
	if err := Reference(&buf); err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml\n# (\\S+)\n(.*?)```").FindAllStringSubmatch(buf.String(), -1)
	files := map[string]string{}
	for _, b := range blocks {
		files[filepath.Base(b[1])] = b[2]
	}
	if len(files) != 2 || files["config.toml"] == "" || files["web.toml"] == "" {
		t.Fatalf("want the config.toml and web.toml examples, found %v", reflect.ValueOf(files).MapKeys())
	}
	dir := t.TempDir()
	// The example's profiles are found where the test wrote them: a rule
	// on a forgeable fact loads its profile to check it is strict enough.
	files["config.toml"] = fmt.Sprintf("profiles_dir = %q\n", dir) + files["config.toml"]
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Store{Dir: dir}.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Process.RequireNonRoot || len(p.Rootfs.Tmpfs) != 4 {
		t.Errorf("web example: require_non_root=%v tmpfs=%v", p.Process.RequireNonRoot, p.Rootfs.Tmpfs)
	}
	c, err := LoadConfig(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	legacy := map[string]string{
		"io.kubernetes.cri.container-type":    "container",
		"io.kubernetes.cri.sandbox-namespace": "dev",
		"io.kubernetes.cri.image-name":        "registry.example.com/legacy/app:1.2",
		"io.kubernetes.cri.container-name":    "app",
	}
	sidecar := map[string]string{
		"io.kubernetes.cri.container-type":    "container",
		"io.kubernetes.cri.sandbox-namespace": "dev",
		"io.kubernetes.cri.image-name":        "registry.example.com/legacy/app:1.2",
		"io.kubernetes.cri.container-name":    "log-shipper",
	}
	for _, tc := range []struct {
		name, engine string
		annotations  map[string]string
		want         string
	}{
		{"containerd pod sandbox", provenance.ContainerdCRI, map[string]string{"io.kubernetes.cri.sandbox-namespace": "prod-web", "io.kubernetes.cri.container-type": "sandbox"}, "restricted"},
		{"CRI-O container", provenance.CRIO, map[string]string{"io.kubernetes.pod.namespace": "prod-web"}, "restricted"},
		{"legacy app", provenance.ContainerdCRI, legacy, "baseline"},
		{"other container of the legacy pod", provenance.ContainerdCRI, sidecar, "default"},
		{"docker run", provenance.Docker, nil, "default"},
		// docker run --annotation: the same keys, set by the user.
		{"legacy annotations forged", provenance.Docker, legacy, "default"},
	} {
		got, _, err := c.SelectProfile(Target{ContainerID: "0123abcd", Annotations: tc.annotations,
			Trusted: provenance.TrustedKeys(tc.engine, tc.annotations)})
		if err != nil || got != tc.want {
			t.Errorf("%s: selected %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestReferenceGlobs holds the reference to what it says of patterns.
func TestReferenceGlobs(t *testing.T) {
	for _, tc := range []struct {
		pattern, value string
		want           bool
	}{
		{"*/nginx:*", "docker.io/nginx:1.27", true},
		{"*/nginx:*", "docker.io/library/nginx:1.27", true},
		{"/usr/sbin/nginx *", "/usr/sbin/nginx -c /etc/nginx.conf", true},
		{"prod-?", "prod-12", false},
		{"prod-[0-9]*", "prod-1x", true},
		{"prod-[!0-9]*", "prod-1x", false},
		{"prod-*", "prod-web", true},
	} {
		if got := glob(tc.pattern, tc.value); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, the reference says %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}

func TestReferenceValuesAndTypes(t *testing.T) {
	type sample struct {
		S  string            `toml:"s"`
		B  bool              `toml:"b"`
		N  int64             `toml:"n"`
		U  uint16            `toml:"u"`
		L  []string          `toml:"l"`
		M  map[string]string `toml:"m"`
		R  []SelectRule      `toml:"r"`
		Md Mode              `toml:"md"`
	}
	v := reflect.ValueOf(sample{S: `a"b`, B: true, N: -1, U: 7, L: []string{"x", "y"}, M: map[string]string{"k2": "v", "k1": "*"}, Md: ModeAudit})
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
	docs, err := parseSourceDocs(referenceSources)
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
