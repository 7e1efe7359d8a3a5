package userns

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// TestModifyPlansEffectClaims: Modify alone, for a launch or for explain,
// leaves the host as it was (no table, no container directory, no mount);
// the planned spec has the range's size only for a launch, the range the
// next allocation would get for explain; the effect allocates, mounts, and
// puts the range it allocated in the spec, the changes and the note.
func TestModifyPlansEffectClaims(t *testing.T) {
	requireRoot(t)
	l := lowers(t)[0]
	f := newFixture(t)
	bundle := searchableTempDir(t)
	busyboxRootfs(t, filepath.Join(bundle, "rootfs"))

	explain := f.ctx(l, "planned", bundle, false)
	explain.DryRun = true
	es := runcSpec(t, "rootfs", "true")
	if err := NewWithOptions(explain.Profile.Userns, f.mod.opts).Modify(explain, es, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	untouched(t, f.runDir)

	ctx := f.ctx(l, "planned", bundle, false)
	s := runcSpec(t, "rootfs", "true")
	var r modifier.Report
	if err := NewWithOptions(ctx.Profile.Userns, f.mod.opts).Modify(ctx, s, &r); err != nil {
		t.Fatal(err)
	}
	untouched(t, f.runDir)
	if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != 0 || m[0].Size != 65536 {
		t.Fatalf("planned mapping %v, want the size only", m)
	}
	if err := ctx.RunEffects(s, &r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.mod.Cleanup(ctx) })
	tbl, err := ReadTable(f.runDir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := tbl.LookupKey(ctx.Root, ctx.ContainerID)
	if !ok {
		t.Fatal("no range allocated by the effect")
	}
	want := e.HostUID
	if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != want || s.Linux.GIDMappings[0].HostID != e.HostGID {
		t.Errorf("spec mapping %v, want the allocated %d", m, want)
	}
	if es.Linux.UIDMappings[0].HostID != want {
		t.Errorf("explain planned %d, the allocation got %d", es.Linux.UIDMappings[0].HostID, want)
	}
	for _, c := range r.Changes {
		if c.Path == "linux.uidMappings" && fmtIDMap(c.After.([]specs.LinuxIDMapping)) != fmtIDMap(s.Linux.UIDMappings) {
			t.Errorf("recorded %v, spec has %v", c.After, s.Linux.UIDMappings)
		}
	}
	if n, _ := MountsUnder(f.runDir); n == 0 {
		t.Error("the effect mounted no rootfs")
	}
	found := false
	for _, n := range ctx.Notes {
		found = found || n == "userns: "+Mapping{HostUID: e.HostUID, HostGID: e.HostGID, Size: e.Size}.String()+"; rootfs idmapped-bind ("+filepath.Join(bundle, "rootfs")+")"
	}
	if !found {
		t.Errorf("note not filled in: %v", ctx.Notes)
	}
}

// untouched fails when runDir holds anything: Modify must not write.
func untouched(t *testing.T, runDir string) {
	t.Helper()
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(filepath.Join(runDir, stateDirName))
		t.Fatalf("Modify touched the run directory %s (%v): %v", runDir, err, ents)
	}
}
