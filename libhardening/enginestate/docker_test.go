package enginestate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// dockerState writes a container directory as dockerd does.
func dockerState(t *testing.T, id, cfg, hc string, mode os.FileMode) *specs.Spec {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "containers", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"config.v2.json": cfg, "hostconfig.json": hc} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "hostname"), []byte("x\n"), 0o644)
	return &specs.Spec{Mounts: []specs.Mount{{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(dir, "hostname")}}}
}

func TestDockerContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the state must be root-owned to be trusted")
	}
	const id = "3f2c9a1b7d04"
	cfg := `{"Image":"sha256:abc","Name":"/web","Config":{"Image":"nginx:bookworm"}}`
	hc := `{"CapAdd":["net_admin","CAP_SYS_TIME"],"SecurityOpt":["seccomp=unconfined"],"Privileged":false}`
	s := dockerState(t, id, cfg, hc, 0o600)
	d, err := DockerContainer(s, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Image != "nginx:bookworm" || d.Name != "web" || !slices.Equal(d.CapAdd, []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"}) || !d.SeccompUnconfined() {
		t.Fatalf("%+v", d)
	}
	if got := Image(s, id); got != "nginx:bookworm" {
		t.Errorf("Image %q", got)
	}
	s.Annotations = map[string]string{"io.kubernetes.cri.image-name": "docker.io/library/redis:7"}
	if got := Image(s, id); got != "docker.io/library/redis:7" {
		t.Errorf("annotation must win: %q", got)
	}
	for _, tc := range []struct {
		name string
		id   string
		spec *specs.Spec
	}{
		{"other id", "ffff", s},
		{"no mount", id, &specs.Spec{}},
		{"path id", "../x", s},
	} {
		if _, err := DockerContainer(tc.spec, tc.id); err != ErrNotDocker {
			t.Errorf("%s: %v, want ErrNotDocker", tc.name, err)
		}
	}
	w := dockerState(t, id, cfg, hc, 0o666)
	if _, err := DockerContainer(w, id); err == nil {
		t.Error("a world-writable config.v2.json was trusted")
	}
}

func TestWithImage(t *testing.T) {
	ann := map[string]string{"a": "b"}
	got := WithImage(ann, "nginx")
	if got[ImageAnnotation] != "nginx" || len(ann) != 1 {
		t.Fatalf("%v (input %v)", got, ann)
	}
	cri := map[string]string{"io.kubernetes.cri.image-name": "redis"}
	if got := WithImage(cri, "nginx"); got[ImageAnnotation] != "" {
		t.Fatalf("CRI image overridden: %v", got)
	}
}

func TestEngineMounts(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/etc/hostname", Source: "/run/hardened-runc/userns/c/mnt/hostname"},
		{Destination: "/data", Source: "/srv/data"},
	}}
	changes := []modifier.Change{
		{Path: "mounts[/etc/hostname].source", Before: "/var/lib/docker/containers/c/hostname", After: "/run/hardened-runc/userns/c/mnt/hostname"},
		{Path: "root.path", Before: "/x"},
	}
	got := EngineMounts(s, changes)
	if got[0].Source != "/var/lib/docker/containers/c/hostname" || got[1].Source != "/srv/data" {
		t.Fatalf("%+v", got)
	}
	if s.Mounts[0].Source != "/run/hardened-runc/userns/c/mnt/hostname" {
		t.Fatal("the spec was modified")
	}
}
