package selinux

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// fakeHost is an SELinux kernel with the targeted policy's container
// contexts.
type fakeHost struct{ st Status }

func (f fakeHost) Status() Status { return f.st }

func (fakeHost) Labels(typ, level string) (string, string, error) {
	return "system_u:system_r:" + typ + ":" + level, "system_u:object_r:container_file_t:" + level, nil
}

var (
	enforcing  = fakeHost{Status{Enabled: true, Enforcing: true, Reason: "SELinux is enforcing"}}
	permissive = fakeHost{Status{Enabled: true, Reason: "SELinux is permissive"}}
	disabled   = fakeHost{Status{Reason: "SELinux is not enabled on this host"}}
)

var pairLabel = regexp.MustCompile(`^system_u:system_r:container_t:s0:c(\d+),c(\d+)$`)

func testContext(t *testing.T, mode policy.MACMode, id string) *modifier.Context {
	t.Helper()
	p, err := policy.Store{}.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	p.SELinux.Mode = mode
	return &modifier.Context{Verb: "create", ContainerID: id, ProfileName: "default", Profile: p, RunDir: t.TempDir()}
}

func TestLabelsWhereEnforcing(t *testing.T) {
	ctx := testContext(t, policy.MACRequired, "c1")
	s := &specs.Spec{Process: &specs.Process{}}
	var r modifier.Report
	if err := harden(enforcing, ctx, s, &r); err != nil {
		t.Fatal(err)
	}
	m := pairLabel.FindStringSubmatch(s.Process.SelinuxLabel)
	if m == nil || m[1] == m[2] {
		t.Fatalf("process label %q is not container_t with a category pair", s.Process.SelinuxLabel)
	}
	level := strings.SplitN(s.Process.SelinuxLabel, ":", 4)[3]
	if s.Linux.MountLabel != "system_u:object_r:container_file_t:"+level {
		t.Fatalf("mount label %q does not match level %s", s.Linux.MountLabel, level)
	}
	if len(r.Changes) != 2 {
		t.Fatalf("changes %+v", r.Changes)
	}
	// A retried create keeps its pair; delete releases it.
	s2 := &specs.Spec{}
	if err := harden(enforcing, ctx, s2, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if s2.Process.SelinuxLabel != s.Process.SelinuxLabel {
		t.Fatalf("retried create got %q, first %q", s2.Process.SelinuxLabel, s.Process.SelinuxLabel)
	}
	if err := (&Modifier{}).Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := (&Modifier{}).Cleanup(ctx); err != nil {
		t.Fatalf("second cleanup: %v", err)
	}
	for _, d := range []string{"mcs", "containers"} {
		if e, _ := os.ReadDir(filepath.Join(ctx.RunDir, "selinux", d)); len(e) != 0 {
			t.Fatalf("%s not released: %v", d, e)
		}
	}
}

func TestProfileType(t *testing.T) {
	ctx := testContext(t, policy.MACIfAvailable, "c1")
	ctx.Profile.SELinux.Type = "container_init_t"
	s := &specs.Spec{}
	if err := harden(enforcing, ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Process.SelinuxLabel, "system_u:system_r:container_init_t:s0:c") {
		t.Fatalf("label %q", s.Process.SelinuxLabel)
	}
}

func TestKeepsEngineCategoriesButNotType(t *testing.T) {
	ctx := testContext(t, policy.MACIfAvailable, "c1")
	s := &specs.Spec{Process: &specs.Process{SelinuxLabel: "system_u:system_r:spc_t:s0:c5,c9"}}
	var r modifier.Report
	if err := harden(enforcing, ctx, s, &r); err != nil {
		t.Fatal(err)
	}
	if s.Process.SelinuxLabel != "system_u:system_r:container_t:s0:c5,c9" || s.Linux.MountLabel != "system_u:object_r:container_file_t:s0:c5,c9" {
		t.Fatalf("labels %q %q", s.Process.SelinuxLabel, s.Linux.MountLabel)
	}
	if r.Changes[0].Before != "system_u:system_r:spc_t:s0:c5,c9" {
		t.Fatalf("change %+v", r.Changes[0])
	}
	if lvl, _ := reservations(ctx).Lookup("c1"); lvl != "" {
		t.Fatalf("reserved %s although the engine chose the categories", lvl)
	}
	// s0 without categories is shared by every container: replaced.
	s = &specs.Spec{Process: &specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0"}}
	if err := harden(enforcing, ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if pairLabel.FindString(s.Process.SelinuxLabel) == "" {
		t.Fatalf("label %q has no category pair", s.Process.SelinuxLabel)
	}
}

func TestModes(t *testing.T) {
	hosts := map[string]Host{"fake disabled": disabled, "permissive": permissive}
	if st := SystemStatus(); st.Enabled {
		t.Logf("this host: %s; testing fakes only", st.Reason)
	} else {
		t.Logf("this host: %s", st.Reason)
		hosts["this host"] = System{}
	}
	for hname, h := range hosts {
		for _, mode := range []policy.MACMode{policy.MACIfAvailable, policy.MACRequired, policy.MACOff} {
			t.Run(hname+"/"+string(mode), func(t *testing.T) {
				ctx := testContext(t, mode, "c1")
				s := &specs.Spec{Process: &specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0:c1,c2"}, Linux: &specs.Linux{MountLabel: "system_u:object_r:container_file_t:s0:c1,c2"}}
				var r modifier.Report
				err := harden(h, ctx, s, &r)
				switch {
				case mode == policy.MACOff:
					if err != nil || len(r.Changes)+len(ctx.Notes) != 0 {
						t.Fatalf("off: err=%v changes=%+v notes=%q", err, r.Changes, ctx.Notes)
					}
				case mode == policy.MACRequired:
					d, ok := modifier.AsDenial(err)
					if !ok || d.Rule != "selinux.mode" || !strings.Contains(d.Reason, "requires SELinux") || !strings.Contains(d.Fix, "if-available") {
						t.Fatalf("got %v, want a denial by selinux.mode", err)
					}
				case h == permissive:
					if err != nil || s.Process.SelinuxLabel == "" || len(ctx.Notes) != 1 || !strings.Contains(ctx.Notes[0], "permissive") {
						t.Fatalf("permissive: err=%v label=%q notes=%q", err, s.Process.SelinuxLabel, ctx.Notes)
					}
				default:
					// The caller's labels are an explicit request runc
					// refuses on such a host: denied, spec untouched.
					d, ok := modifier.AsDenial(err)
					if !ok || d.Rule != "selinux.mode" || !strings.Contains(d.Reason, "process label") || !strings.Contains(d.Reason, "mount label") || d.Fix == "" {
						t.Fatalf("unavailable: got %v, want a denial by selinux.mode naming both labels", err)
					}
					if s.Process.SelinuxLabel == "" || s.Linux.MountLabel == "" || len(r.Changes) != 0 {
						t.Fatalf("a denial changed the spec: labels=%q %q changes=%+v", s.Process.SelinuxLabel, s.Linux.MountLabel, r.Changes)
					}
					// Without labels the container runs, and the record
					// says why it has none.
					ctx = testContext(t, mode, "c1")
					if err := harden(h, ctx, &specs.Spec{}, &r); err != nil {
						t.Fatal(err)
					}
					if len(ctx.Notes) != 1 || !strings.HasPrefix(ctx.Notes[0], "selinux: not available on this host: ") {
						t.Fatalf("notes %q", ctx.Notes)
					}
				}
			})
		}
	}
}

func TestDryRunReservesNothing(t *testing.T) {
	ctx := testContext(t, policy.MACIfAvailable, "c1")
	ctx.DryRun = true
	s := &specs.Spec{}
	if err := harden(enforcing, ctx, s, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if pairLabel.FindString(s.Process.SelinuxLabel) == "" {
		t.Fatalf("label %q", s.Process.SelinuxLabel)
	}
	if e, _ := os.ReadDir(ctx.RunDir); len(e) != 0 {
		t.Fatalf("dry run wrote %v", e)
	}
}

func TestReservationsAreUnique(t *testing.T) {
	// 25 categories make 300 pairs: 300 concurrent creates take them all,
	// so any pair handed out twice shows.
	r := Reservations{Dir: t.TempDir(), categories: 25}
	const n = 300
	levels := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := r.Reserve(fmt.Sprintf("c%d", i), Owner{})
			if err != nil {
				t.Error(err)
			}
			levels[i] = l
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range levels {
		if seen[l] {
			t.Fatalf("level %s handed out twice", l)
		}
		seen[l] = true
	}
	if _, err := r.Reserve("one-too-many", Owner{}); err == nil || !strings.Contains(err.Error(), "no free MCS category pair") {
		t.Fatalf("301st container: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := r.Reserve(bad, Owner{}); err == nil {
			t.Errorf("id %q accepted", bad)
		}
	}
}

func TestReleaseKeepsAPairTakenByAnother(t *testing.T) {
	r := Reservations{Dir: t.TempDir()}
	level, err := r.Reserve("a", Owner{})
	if err != nil {
		t.Fatal(err)
	}
	// The pair now belongs to "b" (a stale record of "a" survived).
	os.WriteFile(filepath.Join(r.Dir, "mcs", level), []byte("b"), 0o600)
	if err := r.Release("a", func(Owner) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "mcs", level)); err != nil {
		t.Fatalf("released b's pair: %v", err)
	}
}

func TestModifyProcessClampsToContainer(t *testing.T) {
	container := &specs.Spec{Process: &specs.Process{SelinuxLabel: "system_u:system_r:container_t:s0:c1,c2"}}
	for _, asked := range []string{"", "system_u:system_r:spc_t:s0", container.Process.SelinuxLabel} {
		p := &specs.Process{SelinuxLabel: asked}
		var r modifier.Report
		if err := modifyProcess(enforcing, testContext(t, policy.MACIfAvailable, "c1"), container, p, &r); err != nil {
			t.Fatal(err)
		}
		if p.SelinuxLabel != container.Process.SelinuxLabel || (len(r.Changes) == 1) != (asked != container.Process.SelinuxLabel) {
			t.Errorf("exec asked %q: got %q, changes %+v", asked, p.SelinuxLabel, r.Changes)
		}
	}
}

func TestRandomLevel(t *testing.T) {
	re := regexp.MustCompile(`^s0:c(\d+),c(\d+)$`)
	for range 1000 {
		l, err := randomLevel(categories)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("level %q", l)
		}
		if len(m[1]) > 4 || len(m[2]) > 4 {
			t.Fatalf("level %q out of range", l)
		}
		if atoi(m[1]) >= atoi(m[2]) || atoi(m[2]) >= categories {
			t.Fatalf("level %q: categories not ascending or out of range", l)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPrivilegedAllowedKeepsEngineLabel(t *testing.T) {
	var all []string
	for _, c := range capability.ListKnown() {
		all = append(all, "CAP_"+strings.ToUpper(c.String()))
	}
	for _, allow := range []bool{true, false} {
		ctx := testContext(t, policy.MACRequired, "c1")
		ctx.Profile.Capabilities.AllowPrivileged = allow
		s := &specs.Spec{Process: &specs.Process{SelinuxLabel: "system_u:system_r:spc_t:s0", Capabilities: &specs.LinuxCapabilities{Bounding: all}}}
		if err := harden(enforcing, ctx, s, &modifier.Report{}); err != nil {
			t.Fatal(err)
		}
		if kept := s.Process.SelinuxLabel == "system_u:system_r:spc_t:s0"; kept != allow {
			t.Errorf("allow_privileged=%v: label %q", allow, s.Process.SelinuxLabel)
		}
	}
}

// harden runs the modifier the pipeline builds for ctx's profile on host
// h, then, as an enforcing launch does (explain sets DryRun and runs
// none), its effects.
func harden(h Host, ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	return modifier.List{modifierFor(h, ctx)}.Apply(ctx, s, r)
}

// modifierFor is the modifier for ctx's profile on host h.
func modifierFor(h Host, ctx *modifier.Context) *Modifier {
	m := New(ctx.Profile)
	m.Host = h
	return m
}

// modifyProcess runs ModifyProcess of the modifier for ctx's profile on h.
func modifyProcess(h Host, ctx *modifier.Context, container *specs.Spec, p *specs.Process, r *modifier.Report) error {
	return modifierFor(h, ctx).ModifyProcess(ctx, container, p, r)
}

// TestModifyPlansEffectReserves: Modify alone, even for a launch, reserves
// nothing; the effect reserves the pair and puts it in both labels and in
// the recorded changes, in place of the example pair Modify planned.
func TestModifyPlansEffectReserves(t *testing.T) {
	ctx := testContext(t, policy.MACIfAvailable, "c1")
	s := &specs.Spec{}
	var r modifier.Report
	if err := modifierFor(enforcing, ctx).Modify(ctx, s, &r); err != nil {
		t.Fatal(err)
	}
	if e, _ := os.ReadDir(ctx.RunDir); len(e) != 0 {
		t.Fatalf("Modify wrote %v", e)
	}
	if err := ctx.RunEffects(s, &r); err != nil {
		t.Fatal(err)
	}
	if e, _ := os.ReadDir(ctx.RunDir); len(e) == 0 {
		t.Fatal("the effect reserved nothing")
	}
	again := &specs.Spec{}
	ctx2 := testContext(t, policy.MACIfAvailable, "c1")
	ctx2.RunDir = ctx.RunDir
	if err := harden(enforcing, ctx2, again, &modifier.Report{}); err != nil {
		t.Fatal(err)
	}
	if again.Process.SelinuxLabel != s.Process.SelinuxLabel || again.Linux.MountLabel != s.Linux.MountLabel {
		t.Errorf("the container's reserved pair: %q then %q", s.Process.SelinuxLabel, again.Process.SelinuxLabel)
	}
	got := map[string]any{}
	for _, c := range r.Changes {
		got[c.Path] = c.After
	}
	if got[processField] != s.Process.SelinuxLabel || got[mountField] != s.Linux.MountLabel {
		t.Errorf("recorded %v, spec has %q / %q", got, s.Process.SelinuxLabel, s.Linux.MountLabel)
	}
}

// TestCleanupFreesOnlyItsOwnPair: a pair is freed by the delete of its
// container under the root it was created under, once its create has
// ended, or by the failed launch that reserved it; never by a delete under
// another --root, nor by the failed create of a duplicate ID (which is
// handed the live container's level and must leave it reserved). A
// record written before owners were kept is freed by any delete.
func TestCleanupFreesOnlyItsOwnPair(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	finished := Owner{Root: "/run/runc", Pid: gone.Process.Pid, Start: 1}
	for _, c := range []struct {
		name  string
		owner *Owner // nil: the record holds the level alone
		ctx   modifier.Context
		freed bool
	}{
		{"delete under its root", &finished, modifier.Context{Verb: "delete", Root: "/run/runc"}, true},
		{"delete under another root", &finished, modifier.Context{Verb: "delete", Root: "/run/other"}, false},
		{"delete while its create runs", &Owner{Root: "/run/runc"}, modifier.Context{Verb: "delete", Root: "/run/runc"}, false},
		{"failed create of a duplicate ID", &finished, modifier.Context{Verb: "create", Root: "/run/runc"}, false},
		{"failed create that reserved it", nil, modifier.Context{Verb: "create", Root: "/run/runc"}, true},
		{"record without an owner", nil, modifier.Context{Verb: "delete", Root: "/run/other"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			ctx.ContainerID, ctx.RunDir = "c1", t.TempDir()
			r := reservations(&ctx)
			owner := self(ctx.Root)
			if c.owner != nil {
				owner = *c.owner
				if owner.Pid == 0 { // the create in progress: this process
					owner = self(owner.Root)
				}
			}
			level, err := r.Reserve("c1", owner)
			if err != nil {
				t.Fatal(err)
			}
			if c.owner == nil && c.name == "record without an owner" {
				os.WriteFile(r.path("c1"), []byte(level), 0o600)
			}
			if again, err := r.Reserve("c1", Owner{Root: "/elsewhere"}); err != nil || again != level {
				t.Fatalf("a second Reserve: %q, %v; want the same level %q", again, err, level)
			}
			if err := (&Modifier{}).Cleanup(&ctx); err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(filepath.Join(r.Dir, "mcs", level))
			if freed := os.IsNotExist(err); freed != c.freed {
				t.Errorf("pair freed: %v, want %v", freed, c.freed)
			}
		})
	}
}

// TestReserveRefusesALiveIDOfAnotherRoot: a create of an ID the lower
// runtime has under another root is not handed that container's pair.
func TestReserveRefusesALiveIDOfAnotherRoot(t *testing.T) {
	r := Reservations{Dir: t.TempDir()}
	live := t.TempDir()
	if _, err := r.Reserve("c1", Owner{Root: live, Pid: 1, Start: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(live, "c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "c1", "state.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if level, err := r.Reserve("c1", Owner{Root: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "across roots") {
		t.Fatalf("Reserve under another root: %q, %v; want a refusal", level, err)
	}
	// Under its own root (a retried create) the level is the same.
	if _, err := r.Reserve("c1", Owner{Root: live}); err != nil {
		t.Fatalf("Reserve under the same root: %v", err)
	}
}
