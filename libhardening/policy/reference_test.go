package policy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/policy/reference"
	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
)

// The generator lives in package policy/reference, so that the runtime does
// not link it; the drift test stays here, where the fields are defined, so
// a change to a profile field and its regenerated docs go together.

const referenceDoc = "../../docs/policy.md"

// TestPolicyReferenceUpToDate keeps docs/policy.md equal to what the code
// defines. UPDATE_DOCS=1 rewrites it.
func TestPolicyReferenceUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := reference.Reference(&buf); err != nil {
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

// TestReferenceExamplesLoad: the examples in the reference are real configs.
func TestReferenceExamplesLoad(t *testing.T) {
	var buf bytes.Buffer
	if err := reference.Reference(&buf); err != nil {
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
	p, err := policy.Store{Dir: dir}.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Process.RequireNonRoot || len(p.Rootfs.Tmpfs) != 4 {
		t.Errorf("web example: require_non_root=%v tmpfs=%v", p.Process.RequireNonRoot, p.Rootfs.Tmpfs)
	}
	c, err := policy.LoadConfig(filepath.Join(dir, "config.toml"))
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
		got, _, err := c.SelectProfile(policy.Target{ContainerID: "0123abcd", Annotations: tc.annotations,
			Trusted: provenance.TrustedKeys(tc.engine, tc.annotations)})
		if err != nil || got != tc.want {
			t.Errorf("%s: selected %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}
