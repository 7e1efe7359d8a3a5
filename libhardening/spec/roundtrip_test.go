package spec

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRoundTripUnmodifiedIsIdentical(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, name)
			d, err := Load(bundleWith(t, data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.Original(), data) {
				t.Fatal("Original() differs from the file")
			}
			out, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Fatal("unmodified document not returned byte for byte")
			}
			if changed, _ := d.Changed(); changed {
				t.Fatal("Changed() on an unmodified document")
			}
		})
	}
}

// The merge itself, forced on an unmodified document, must reproduce the
// input as JSON (the byte-identity fast path must not hide a lossy merge).
func TestMergeUnmodifiedIsJSONEquivalent(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, name)
			d, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.codec.remerge()
			if err != nil {
				t.Fatal(err)
			}
			if !treeEqual(tree(t, out), tree(t, data)) {
				t.Fatalf("merge of an unmodified document lost or altered something:\n%s", out)
			}
			again, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			out2, err := again.codec.remerge()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatal("merge is not idempotent")
			}
		})
	}
}

// edits are what modifiers typically do.
var edits = []struct {
	name string
	edit func(s *specs.Spec)
	// gone are unknown fields of unknown-fields.json that the edit removes
	// along with their element.
	gone [][]string
}{
	{"add mount", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec"}})
	}, nil},
	{"remove mount", func(s *specs.Spec) {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/var/run/docker.sock" || m.Destination == "/dev" })
	}, [][]string{{"mounts", "destination=/var/run/docker.sock", "x-order"}}},
	{"prepend mount", func(s *specs.Spec) {
		s.Mounts = append([]specs.Mount{{Destination: "/run", Type: "tmpfs", Source: "tmpfs"}}, s.Mounts...)
	}, nil},
	{"remove seccomp", func(s *specs.Spec) { EnsureLinux(s).Seccomp = nil },
		[][]string{{"linux", "seccomp", "x-seccompFuture"}, {"linux", "seccomp", "syscalls", "action=SCMP_ACT_ALLOW", "x-comment"}}},
	{"change caps", func(s *specs.Spec) {
		c := EnsureCapabilities(EnsureProcess(s))
		keep := func(l []string) []string {
			return slices.DeleteFunc(slices.Clone(l), func(c string) bool { return c == "CAP_SYS_ADMIN" || c == "CAP_NET_RAW" })
		}
		c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient = keep(c.Bounding), keep(c.Effective), keep(c.Permitted), nil, nil
	}, nil},
	{"harden process", func(s *specs.Spec) {
		p := EnsureProcess(s)
		p.NoNewPrivileges = true
		p.User.UID = 1000
		EnsureRoot(s).Readonly = true
	}, nil},
	{"namespaces", func(s *specs.Spec) {
		l := EnsureLinux(s)
		l.Namespaces = slices.DeleteFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
		if !slices.ContainsFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.CgroupNamespace }) {
			l.Namespaces = append([]specs.LinuxNamespace{{Type: specs.CgroupNamespace}}, l.Namespaces...)
		}
	}, [][]string{{"linux", "namespaces", "type=network", "x-nsFlag"}}},
	{"devices and limits", func(s *specs.Spec) {
		l := EnsureLinux(s)
		l.Devices = slices.DeleteFunc(l.Devices, func(d specs.LinuxDevice) bool { return d.Path == "/dev/kvm" })
		r := EnsureResources(s)
		limit := int64(512 << 20)
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		r.Memory.Limit = &limit
		r.Pids = &specs.LinuxPids{Limit: ptr(int64(1024))}
	}, [][]string{{"linux", "devices", "path=/dev/kvm", "x-devNote"}}},
}

func ptr[T any](v T) *T { return &v }

// unknownPaths lists every unknown field of unknown-fields.json.
var unknownPaths = [][]string{
	{"x-vendor"}, {"x-trailer"},
	{"process", "user", "x-userFlag"},
	{"process", "capabilities", "x-capFuture"},
	{"process", "landlock"},
	{"process", "rlimits", "type=RLIMIT_NOFILE", "x-note"},
	{"root", "x-rootHint"},
	{"mounts", "destination=/proc", "x-order"},
	{"mounts", "destination=/data", "x-order"},
	{"mounts", "destination=/data", "x-selinuxRelabel"},
	{"mounts", "destination=/var/run/docker.sock", "x-order"},
	{"hooks", "prestart", "path=/usr/bin/nvidia-container-runtime-hook", "x-hookId"},
	{"hooks", "x-preStop"},
	{"linux", "uidMappings", "containerID=0", "x-idmapNote"},
	{"linux", "namespaces", "type=pid", "x-nsFlag"},
	{"linux", "namespaces", "type=network", "x-nsFlag"},
	{"linux", "namespaces", "type=mount", "x-nsFlag"},
	{"linux", "devices", "path=/dev/fuse", "x-devNote"},
	{"linux", "devices", "path=/dev/kvm", "x-devNote"},
	{"linux", "resources", "devices", "access=rwm", "x-rule"},
	{"linux", "resources", "memory", "x-memoryFuture"},
	{"linux", "resources", "x-resourceFuture"},
	{"linux", "seccomp", "x-seccompFuture"},
	{"linux", "seccomp", "syscalls", "action=SCMP_ACT_ALLOW", "x-comment"},
	{"linux", "landlockABI"},
}

func TestUnknownFieldsSurviveEdits(t *testing.T) {
	data := readTestdata(t, "unknown-fields.json")
	orig := tree(t, data)
	for _, tc := range edits {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(d.Spec)
			out, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			assertSemantics(t, out, d.Spec, &specs.Spec{})
			got := tree(t, out)
			for _, p := range unknownPaths {
				want, _ := lookup(orig, p...)
				have, ok := lookup(got, p...)
				removed := slices.ContainsFunc(tc.gone, func(g []string) bool { return slices.Equal(g, p) })
				switch {
				case removed && ok:
					t.Errorf("%s: still present after its element was removed", strings.Join(p, "."))
				case !removed && !ok:
					t.Errorf("%s: unknown field lost", strings.Join(p, "."))
				case !removed && !treeEqual(have, want):
					t.Errorf("%s: changed from %v to %v", strings.Join(p, "."), want, have)
				}
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, out); err != nil {
				t.Fatal(err)
			}
			exacts := []string{`"ociVersion":"1.4.0-dev"`, `"gid":4294967295`, `"build":18446744073709551615`, `"swap":-1`, `-0]`, `2.50`}
			if tc.name != "devices and limits" {
				exacts = append(exacts, `"limit":9223372036854771712`)
			}
			for _, exact := range exacts {
				if !bytes.Contains(compact.Bytes(), []byte(exact)) {
					t.Errorf("output lost exact text %s", exact)
				}
			}
		})
	}
}

// Every engine spec survives every edit: the output decodes to the edited
// struct, keeps ociVersion, and a second pass changes nothing.
func TestEditsOnEngineSpecs(t *testing.T) {
	for _, name := range engineSpecs {
		data := readTestdata(t, name)
		for _, tc := range edits {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				d, err := Parse(data)
				if err != nil {
					t.Fatal(err)
				}
				version := d.Spec.Version
				tc.edit(d.Spec)
				out, err := d.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				assertSemantics(t, out, d.Spec, &specs.Spec{})
				// The merge, forced, must agree with whichever path was taken.
				base := d.codec.base
				cur, _ := json.Marshal(d.Spec)
				merged, err := d.codec.merge(base, cur, detectStyle(data))
				if err != nil {
					t.Fatal(err)
				}
				if !treeEqual(tree(t, merged), tree(t, out)) {
					t.Fatalf("merge and direct output disagree:\n%s\n%s", merged, out)
				}
				again, err := Parse(out)
				if err != nil {
					t.Fatal(err)
				}
				if again.Spec.Version != version {
					t.Fatalf("ociVersion %q became %q", version, again.Spec.Version)
				}
				tc.edit(again.Spec)
				out2, err := again.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, out2) && tc.name != "add mount" && tc.name != "prepend mount" {
					t.Fatalf("second pass changed the document")
				}
			})
		}
	}
}

func TestLayoutFollowsOriginal(t *testing.T) {
	for _, tc := range []struct {
		name, indent string
	}{
		{"docker-20.10.json", ""}, // compact, as containerd writes it
		{"runc-spec.json", "\t"},  // runc spec indents with tabs
		{"unknown-fields.json", "  "},
		{"old-1.0.0-rc2.json", "    "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := readTestdata(t, tc.name)
			d, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			d.Spec.Hostname = "changed"
			out, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			st := detectStyle(out)
			if st.indent != tc.indent || st.trailingNL != bytes.HasSuffix(data, []byte("\n")) {
				t.Fatalf("layout %+v, want indent %q and the original's trailing newline", st, tc.indent)
			}
		})
	}
}

func TestEmptyKnownValuesKeptUnlessChanged(t *testing.T) {
	in := `{"ociVersion":"1.0.2","process":{"terminal":false,"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_KILL"]},"rlimits":[]},"annotations":{},"hostname":"","linux":{"seccomp":null,"sysctl":{}}}`
	d, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Process.Cwd = "/work"
	d.Spec.Process.Capabilities = nil // removed by a modifier: must disappear
	out, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got := tree(t, out)
	for _, p := range [][]string{{"process", "terminal"}, {"process", "rlimits"}, {"annotations"}, {"hostname"}, {"linux", "seccomp"}, {"linux", "sysctl"}} {
		if _, ok := lookup(got, p...); !ok {
			t.Errorf("%s dropped", strings.Join(p, "."))
		}
	}
	if _, ok := lookup(got, "process", "capabilities"); ok {
		t.Error("capabilities removed by the modifier came back")
	}
	assertSemantics(t, out, d.Spec, &specs.Spec{})
}

// encoding/json matches keys case-insensitively, so a case variant of a known
// key feeds the typed struct. Carried over as "unknown", it would override
// the hardened value when the lower runtime decodes the file.
func TestCaseVariantKeysCannotOverrideHardenedValues(t *testing.T) {
	in := `{"ociVersion":"1.0.2","process":{"cwd":"/","nonewprivileges":false,"user":{"uid":0,"gid":0}},"linux":{"ſeccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}}`
	d, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Process.NoNewPrivileges = true
	d.Spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}
	out, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("nonewprivileges")) || bytes.Contains(out, []byte("ſeccomp")) {
		t.Fatalf("case-variant key kept: %s", out)
	}
	assertSemantics(t, out, d.Spec, &specs.Spec{})
}

// Engines marshal the same Go struct, so their configs need no merge: the
// edited struct is written directly (the cheap path every create takes).
func TestEngineSpecsTakeDirectPath(t *testing.T) {
	for _, name := range []string{"docker-20.10.json", "containerd-cri.json", "podman.json", "runc-spec.json", "runc-1.5-spec.json"} {
		d, err := Parse(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		base := d.codec.base
		if !d.codec.representedBy(base) {
			t.Errorf("%s: typed struct does not represent the file; every edit pays a merge", name)
		}
	}
}
