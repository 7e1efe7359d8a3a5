package spec

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// harden is a fixed, idempotent set of edits standing in for the pipeline.
func harden(s *specs.Spec) {
	p := EnsureProcess(s)
	p.NoNewPrivileges = true
	c := EnsureCapabilities(p)
	c.Bounding = slices.DeleteFunc(c.Bounding, func(c string) bool { return c == "CAP_SYS_ADMIN" })
	EnsureRoot(s).Readonly = true
	l := EnsureLinux(s)
	l.Seccomp = nil
	l.Namespaces = slices.DeleteFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
	if !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/tmp" }) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	}
}

// FuzzRoundTrip: loading any input never panics; an unmodified document is
// returned byte for byte; the merge is idempotent; a hardened document
// decodes to exactly the hardened struct, and hardening it again changes
// nothing.
func FuzzRoundTrip(f *testing.F) {
	for _, name := range engineSpecs {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"process":{"NoNewPrivileges":false,"noNewPrivileges":true},"process":{"cwd":"/"}}`))
	f.Add([]byte(`{"mounts":[{"destination":"/a","x":1},{"destination":"/a","x":2}],"linux":{"namespaces":null}}`))
	f.Add(readTestdata(f, "docker-exec-process.json"))
	f.Add(readTestdata(f, "docker-update-resources.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzProcessAndResources(t, data)
		d, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if out, err := d.Bytes(); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("unmodified document not returned as is (%v)", err)
		}

		merged, err := d.codec.remerge()
		if err != nil {
			t.Fatal(err)
		}
		assertSemantics(t, merged, d.Spec, &specs.Spec{})
		d2, err := Parse(merged)
		if err != nil {
			t.Fatalf("merged output does not load: %v", err)
		}
		merged2, err := d2.codec.remerge()
		if err != nil || !bytes.Equal(merged, merged2) {
			t.Fatalf("merge not idempotent:\n%s\n%s", merged, merged2)
		}

		harden(d.Spec)
		out, err := d.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		assertSemantics(t, out, d.Spec, &specs.Spec{})
		d3, err := Parse(out)
		if err != nil {
			t.Fatalf("hardened output does not load: %v", err)
		}
		harden(d3.Spec)
		if again, err := d3.Bytes(); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("hardening twice changed the document:\n%s\n%s", out, again)
		}
	})
}

// fuzzProcessAndResources: the exec and update documents obey the same rule:
// the written bytes decode to exactly what the modifiers produced.
func fuzzProcessAndResources(t *testing.T, data []byte) {
	if p, err := ParseProcess(data); err == nil {
		p.Process.NoNewPrivileges = true
		p.Process.Capabilities = nil
		out, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		assertSemantics(t, out, p.Process, &specs.Process{})
	}
	if r, err := ParseResources(data); err == nil {
		r.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(100))}
		r.Resources.Devices = nil
		out, err := r.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		assertSemantics(t, out, r.Resources, &specs.LinuxResources{})
	}
}
