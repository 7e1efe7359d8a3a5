package audit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func createRec(id, image string, notes ...string) *forensics.Record {
	return &forensics.Record{Verb: "create", ContainerID: id, Time: time.Unix(1, 0), Engine: &forensics.Engine{Image: image},
		Profile: &forensics.ProfileRef{Name: "default"}, Decision: forensics.Decision{Result: forensics.Allowed}, Notes: notes}
}

func deleteRec(id string, fs ...Finding) *forensics.Record {
	r := &forensics.Record{Verb: "delete", ContainerID: id}
	for _, f := range fs {
		r.Notes = append(r.Notes, f.Note())
	}
	return r
}

var (
	auditedNotes = []string{"audit rootfs.readonly: root left writable; ...", "seccomp controls: attack_surface=enforce strict=audit"}
	nginxBody    = Finding{RootfsReadonly, "/var/lib/nginx/body", "created directory"}
	nginxLog     = Finding{RootfsReadonly, "/var/log/nginx/error.log", "modified"}
	pgSync       = Finding{SeccompStrict, "sync_file_range", "comm postgres, exe /usr/lib/postgresql/15/bin/postgres, 3 reported"}
)

func TestImagesReadiness(t *testing.T) {
	o := NewObserver()
	for i, id := range []string{"n1", "n2", "n3"} {
		o.Add(createRec(id, "nginx:bookworm", auditedNotes...))
		if i == 0 {
			o.Add(deleteRec(id, nginxBody))
			continue
		}
		o.Add(deleteRec(id, nginxBody, nginxLog, pgSync))
		o.Add(deleteRec(id)) // the shim's second delete
	}
	o.Add(createRec("p1", "postgres:15", auditedNotes...))
	o.Add(deleteRec("p1", pgSync))
	o.Add(createRec("e1", "etc-writer", auditedNotes...))
	o.Add(deleteRec("e1", Finding{RootfsReadonly, "/etc/passwd", "modified"}))
	o.Add(&forensics.Record{Verb: "create", ContainerID: "d1", Engine: &forensics.Engine{Image: "denied"}, Decision: forensics.Decision{Result: forensics.Denied}})

	reps := o.Images(2)
	names := []string{}
	for _, r := range reps {
		names = append(names, r.Image)
	}
	if !slices.Equal(names, []string{"etc-writer", "nginx:bookworm", "postgres:15"}) {
		t.Fatalf("images %v", names)
	}
	etc, nginx, pg := reps[0], reps[1], reps[2]
	if nginx.Launches != 3 || nginx.Observed != 3 || !nginx.Ready || len(nginx.Warnings) != 1 {
		t.Errorf("nginx: %+v", nginx)
	}
	if pg.Ready || !strings.Contains(pg.NotReady[0], "1 audited launch") {
		t.Errorf("postgres: %+v", pg)
	}
	if etc.Ready || !slices.ContainsFunc(etc.NotReady, func(n string) bool { return strings.Contains(n, "a tmpfs on /etc") }) {
		t.Errorf("etc-writer: %+v", etc)
	}
	if got := nginx.WritableDirs([]string{"/tmp", "/run", "/var/tmp"}); !slices.Equal(got, []string{"/var/lib/nginx", "/var/log/nginx"}) {
		t.Errorf("writable dirs %v", got)
	}
	base := &policy.Profile{Name: "default", Rootfs: policy.Rootfs{Tmpfs: []string{"/tmp", "/run", "/var/tmp"}}}
	text := nginx.Profile(base, "img-nginx")
	for _, want := range []string{`extends = "default"`, `readonly = "enforce"`, `tmpfs = ["/tmp", "/run", "/var/tmp", "/var/lib/nginx", "/var/log/nginx"]`,
		`strict = "enforce"`, `allow = ["sync_file_range"]`, "# Ready for enforcement.", `image = "nginx:bookworm"`} {
		if !strings.Contains(text, want) {
			t.Errorf("profile lacks %q:\n%s", want, text)
		}
	}
	// The generated profile is a valid profile.
	if _, err := decodeProfile(t, text); err != nil {
		t.Errorf("generated profile does not load: %v\n%s", err, text)
	}
}

func TestImagesLatestLaunchAddsFindings(t *testing.T) {
	o := NewObserver()
	o.Add(createRec("a", "app", auditedNotes...))
	o.Add(deleteRec("a"))
	o.Add(createRec("b", "app", auditedNotes...))
	o.Add(deleteRec("b", Finding{RootfsReadonly, "/srv/app/cache/x", "created"}))
	r := o.Images(1)[0]
	if r.Ready || !r.LastAddedFindings {
		t.Fatalf("%+v", r)
	}

	o.Add(createRec("c", "app", auditedNotes...))
	del := deleteRec("c", Finding{RootfsReadonly, "/srv/app/cache/x", "created"})
	del.Notes = append(del.Notes, "audit evidence incomplete: audit seccomp: the kernel suppressed 12 audit messages while the container ran")
	o.Add(del)
	r = o.Images(1)[0]
	if r.Ready || r.LastAddedFindings || !slices.ContainsFunc(r.NotReady, func(n string) bool { return strings.Contains(n, "suppressed 12") }) {
		t.Fatalf("incomplete latest launch: %+v", r)
	}
}

// TestImagesIncompleteNotOnlyLatest: postgres' load restarts the
// container; the launch that did the work had its kernel records
// suppressed, the quiet restart did not. Ready only once the last
// minObserved launches are all complete.
func TestImagesIncompleteNotOnlyLatest(t *testing.T) {
	o := NewObserver()
	launch := func(incomplete bool) {
		o.Add(createRec("p", "postgres:15", auditedNotes...))
		del := deleteRec("p", pgSync)
		if incomplete {
			del.Notes = append(del.Notes, "audit evidence incomplete: audit seccomp: the kernel suppressed 1250 audit messages while the container ran")
		}
		o.Add(del)
	}
	for i := 0; i < 3; i++ {
		launch(true)
		launch(false)
	}
	r := o.Images(3)[0]
	if r.Ready || r.LastIncomplete != "" || !slices.ContainsFunc(r.NotReady, func(n string) bool {
		return strings.Contains(n, "1 of the last 3 audited launch(es) have incomplete evidence") && strings.Contains(n, "suppressed 1250")
	}) {
		t.Fatalf("a complete latest launch after an incomplete one: %+v", r)
	}
	launch(false)
	launch(false)
	if r := o.Images(3)[0]; !r.Ready {
		t.Fatalf("three complete launches: %+v", r)
	}
}

func TestWhy(t *testing.T) {
	enforced := createRec("c", "nginx")
	enforced.Changes = []modifier.Change{
		{Path: "root.readonly", Rule: "rootfs.readonly", After: true},
		{Path: "mounts[/tmp]", Rule: "rootfs.tmpfs", After: map[string]any{"destination": "/tmp", "type": "tmpfs", "options": []any{"nosuid", "nodev", "noexec"}}},
		{Path: "process.capabilities.bounding", Rule: "capabilities.allow", Reason: "dropped CAP_NET_RAW: not in the profile's allow list"},
	}
	enforced.Notes = []string{"seccomp controls: attack_surface=enforce strict=enforce"}
	logLines := []string{`nginx: [emerg] mkdir() "/var/lib/nginx/body" failed (30: Read-only file system)`, "all good"}
	got := Why([]*forensics.Record{enforced}, logLines)
	controls := []string{}
	for _, c := range got {
		controls = append(controls, c.Control)
	}
	if !slices.Equal(controls, []string{RootfsReadonly, "rootfs.tmpfs_noexec", SeccompAttackSurface, SeccompStrict, "capabilities.allow"}) {
		t.Fatalf("controls %v", controls)
	}
	if !slices.Equal(got[0].Evidence, logLines[:1]) {
		t.Errorf("rootfs evidence %v", got[0].Evidence)
	}

	audited := createRec("d", "postgres", auditedNotes[1])
	got = Why([]*forensics.Record{audited, deleteRec("d", pgSync), deleteRec("d")}, nil)
	if len(got) != 2 || got[0].Control != SeccompAttackSurface || got[0].Mode != "enforce" ||
		got[1].Control != SeccompStrict || got[1].Mode != "audit" || !strings.Contains(got[1].Evidence[0], "sync_file_range") {
		t.Fatalf("audited: %+v", got)
	}

	denied := &forensics.Record{Verb: "create", ContainerID: "e", Decision: forensics.Decision{Result: forensics.Denied, Rule: "capabilities.allow", Reason: "the engine explicitly asked for CAP_NET_ADMIN"}}
	got = Why([]*forensics.Record{denied}, nil)
	if len(got) != 1 || got[0].Mode != "denied" || got[0].Control != "capabilities.allow" {
		t.Fatalf("denied: %+v", got)
	}
}

// decodeProfile loads a generated profile the way hardened-runc would.
func decodeProfile(t *testing.T, text string) (*policy.Profile, error) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "img.toml"), []byte(text), 0o644); err != nil {
		return nil, err
	}
	return policy.Store{Dir: dir}.Load("img")
}
