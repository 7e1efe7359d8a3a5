package spec

import (
	"slices"
	"testing"
)

func TestUnknownFields(t *testing.T) {
	d, err := Parse(readTestdata(t, "unknown-fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.UnknownFields()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"hooks.prestart[].x-hookId", "hooks.x-preStop",
		"linux.devices[].x-devNote", "linux.landlockABI", "linux.namespaces[].x-nsFlag",
		"linux.resources.devices[].x-rule", "linux.resources.memory.x-memoryFuture",
		"linux.resources.x-resourceFuture", "linux.seccomp.syscalls[].x-comment",
		"linux.seccomp.x-seccompFuture", "linux.uidMappings[].x-idmapNote",
		"mounts[].x-order", "mounts[].x-selinuxRelabel",
		"process.capabilities.x-capFuture", "process.landlock", "process.rlimits[].x-note",
		"process.user.x-userFlag", "root.x-rootHint",
		"x-trailer", "x-vendor",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unknown fields\n got %q\nwant %q", got, want)
	}
}

// What current engines write is all known to the vendored runtime-spec.
func TestUnknownFieldsEngineSpecsHaveNone(t *testing.T) {
	for _, name := range []string{"docker-20.10.json", "containerd-cri.json", "podman.json", "runc-spec.json", "runc-1.5-spec.json"} {
		d, err := Parse(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.UnknownFields()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("%s: unknown fields %q", name, got)
		}
	}
}

// A key spelled in another case feeds the typed struct (encoding/json
// matches case-insensitively), so it is known under its canonical name.
func TestUnknownFieldsCaseVariantIsKnown(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{`{"ociVersion":"1.0.2","Process":{"CWD":"/","user":{"uid":0,"gid":0}}}`, nil},
		{`{"ociVersion":"1.0.2","linux":{"netdevices":{"eth0":{"name":"x","mac":"y"}}}}`, []string{"linux.netDevices[].mac"}},
		{`{"ociVersion":"1.0.2","linux":{"resources":{"rdma":{"mlx":{"hcaHandles":1,"hcaFuture":2}}}}}`, []string{"linux.resources.rdma[].hcaFuture"}},
	} {
		d, err := Parse([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := d.UnknownFields()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.doc, got, tc.want)
		}
	}
}

func TestProcessUnknownFields(t *testing.T) {
	p, err := ParseProcess(readTestdata(t, "docker-exec-process.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := p.UnknownFields()
	if want := []string{"process.x-execFuture"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestResourcesUnknownFields(t *testing.T) {
	r, err := ParseResources(readTestdata(t, "docker-update-resources.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.UnknownFields()
	if want := []string{"linux.resources.x-resourcesFuture"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestUnknownFieldsShortcut: a document that is the typed struct's own
// encoding is answered without walking it; the answer must be the walk's,
// for every engine's spec, and a document with unknown keys is never
// taken for one.
func TestUnknownFieldsShortcut(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			d, err := Parse(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.UnknownFields()
			if err != nil {
				t.Fatal(err)
			}
			full, err := decodeTree(d.Original())
			if err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			collectUnknown(full, specSchema(), "", found)
			if len(got) != len(found) {
				t.Fatalf("UnknownFields = %v, the walk finds %v", got, found)
			}
			for _, p := range got {
				if !found[p] {
					t.Errorf("UnknownFields names %s, the walk does not", p)
				}
			}
			if d.codec.originalRepresented() && len(found) > 0 {
				t.Errorf("document taken for the struct's own encoding has unknown fields %v", found)
			}
		})
	}
	if d, err := Parse(readTestdata(t, "unknown-fields.json")); err != nil || d.codec.originalRepresented() {
		t.Errorf("unknown-fields.json taken for the struct's own encoding (err %v)", err)
	}
}
