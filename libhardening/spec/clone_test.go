package spec

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCloneIsDeepAndExact(t *testing.T) {
	for _, name := range engineSpecs {
		t.Run(name, func(t *testing.T) {
			d, err := Parse(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			orig := d.Spec
			c := Clone(orig)
			if !reflect.DeepEqual(c, orig) {
				t.Fatal("clone differs")
			}
			// Mutate everything reachable in the clone; the original must
			// not move.
			snapshot := Clone(orig)
			c.Process.Args[0] = "mutated"
			if c.Process.Capabilities != nil {
				c.Process.Capabilities.Bounding = append(c.Process.Capabilities.Bounding[:0], "CAP_SYS_ADMIN")
			}
			if c.Linux.Resources != nil && len(c.Linux.Resources.Devices) > 0 {
				c.Linux.Resources.Devices[0].Allow = true
			}
			if len(c.Mounts) > 0 {
				c.Mounts[0].Options = append(c.Mounts[0].Options[:0], "mutated")
			}
			if c.Linux.Seccomp != nil {
				c.Linux.Seccomp.Syscalls[0].Names[0] = "mutated"
			}
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations["mutated"] = "yes"
			if !reflect.DeepEqual(orig, snapshot) {
				t.Fatal("mutating the clone changed the original")
			}
		})
	}
}

func TestCloneKeepsNilAndEmptyDistinct(t *testing.T) {
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{}}}, Mounts: nil}
	c := Clone(s)
	if c.Process.Capabilities.Bounding == nil || c.Mounts != nil || c.Process.Capabilities.Effective != nil {
		t.Fatal("nil/empty distinction lost")
	}
	if Clone[specs.Spec](nil) != nil {
		t.Fatal("Clone(nil) != nil")
	}
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1))}}
	rc := Clone(r)
	*rc.Memory.Limit = 2
	if *r.Memory.Limit != 1 {
		t.Fatal("pointer shared")
	}
}
