package confine

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// engineSpecs are the testdata specs of ordinary (non-privileged) launches.
var engineSpecs = []string{
	"runc-1.1-spec.json", "runc-1.5-spec.json", "docker-20.10.json",
	"containerd-cri.json", "containerd-ctr.json", "podman-4.json",
}

func loadSpec(t testing.TB, name string) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &s
}

func loadProfile(t testing.TB, name string) *policy.Profile {
	t.Helper()
	p, err := policy.Store{}.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeNS is the namespaces control of profile prof that treats only
// /proc/1/ns/* (and its literal aliases) and /host-netns as the host's, and
// /gone as a namespace that cannot be stat'ed, so tests do not depend on
// which pids exist on the machine.
func fakeNS(prof *policy.Profile) *NamespacesModifier {
	return &NamespacesModifier{p: prof, identify: func(p string) (nsID, error) {
		switch {
		case p == "/gone":
			return nsID{}, errors.New("stat /gone: no such file or directory")
		case p == "/host-netns" || strings.HasPrefix(p, "/proc/1/ns/"):
			return nsID{dev: 4, ino: 1}, nil
		case strings.HasPrefix(p, "/proc/self/ns/"):
			return nsID{dev: 4, ino: 2}, nil
		}
		return nsID{dev: 4, ino: uint64(len(p)) + 100}, nil
	}}
}

// noHardLimit makes the process control independent of the test's own
// rlimits.
func noHardLimit(string) (uint64, bool) { return 0, false }

// pipeline is Modifiers(p) with the host-independent namespaces, process,
// mounts, hooks and cgroups modifiers.
func pipeline(p *policy.Profile) modifier.List {
	l := modifier.List(Modifiers(p))
	for i, m := range l {
		switch m.(type) {
		case *NamespacesModifier:
			l[i] = fakeNS(p)
		case *ProcessModifier:
			l[i] = &ProcessModifier{hardLimit: noHardLimit, p: p}
		case *MountsModifier:
			l[i] = lenientMounts(p)
		case *HooksModifier:
			l[i] = fakeHooks(p)
		case *CgroupsModifier:
			l[i] = &CgroupsModifier{hostRoot: "testdata/host", p: p}
		}
	}
	return l
}

func newCtx(p *policy.Profile) *modifier.Context {
	return &modifier.Context{Verb: "create", ContainerID: "c1", ProfileName: p.Name}
}

func runOne(t testing.TB, m modifier.Modifier, p *policy.Profile, s *specs.Spec) (*modifier.Report, error) {
	t.Helper()
	r := &modifier.Report{}
	err := modifier.List{m}.Modify(newCtx(p), s, r)
	return r, err
}

func clone(t testing.TB, s *specs.Spec) *specs.Spec {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c specs.Spec
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func mustDeny(t testing.TB, err error, rule string) *modifier.Denial {
	t.Helper()
	d, ok := modifier.AsDenial(err)
	if !ok {
		t.Fatalf("want denial %s, got %v", rule, err)
	}
	if d.Rule != rule {
		t.Fatalf("want denial rule %s, got %s (%v)", rule, d.Rule, d)
	}
	if d.Fix == "" || d.Reason == "" || d.Modifier == "" {
		t.Fatalf("denial lacks modifier, reason or fix: %+v", d)
	}
	return d
}

func i64(v int64) *int64 { return &v }
