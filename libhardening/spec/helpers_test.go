package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// engineSpecs are the config.json files real engines generate.
var engineSpecs = []string{
	"docker-20.10.json",
	"containerd-cri.json",
	"podman.json",
	"runc-spec.json",
	"runc-1.5-spec.json",
	"old-1.0.0-rc2.json",
	"unknown-fields.json",
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bundleWith creates a bundle directory holding config.json = data.
func bundleWith(t testing.TB, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tree(t testing.TB, data []byte) any {
	t.Helper()
	v, err := decodeTree(data)
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	return v
}

// lookup walks a generic tree. A segment "k=v" selects the array element
// whose field k is v; any other segment on an array is an error.
func lookup(v any, path ...string) (any, bool) {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			k, want, ok := strings.Cut(seg, "=")
			if !ok {
				return nil, false
			}
			found := false
			for _, e := range x {
				if m, ok := e.(map[string]any); ok && jsonText(m[k]) == want {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return v, true
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// assertSemantics checks the property the lower runtime depends on: the
// written bytes decode to exactly the struct the modifiers produced.
func assertSemantics(t testing.TB, out []byte, want any, decodeInto any) {
	t.Helper()
	if err := json.Unmarshal(out, decodeInto); err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	got, _ := json.Marshal(decodeInto)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Fatalf("output decodes to a different spec\n got: %s\nwant: %s", got, exp)
	}
}
