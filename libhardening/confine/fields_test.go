package confine

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// specPaths returns every JSON path of t down to its leaves, the way the
// fields control walks a spec: "[]" for the elements of arrays and maps of
// objects, embedded structs' keys promoted.
func specPaths(t reflect.Type, path string, out map[string]bool, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 12 {
		panic("runtime-spec type too deep at " + path)
	}
	if isLeaf(t) {
		out[path] = true
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i, name := range jsonFields(t) {
			if name != "" {
				specPaths(t.Field(i).Type, joinPath(path, name), out, depth+1)
			}
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		specPaths(t.Elem(), path+"[]", out, depth+1)
	}
}

// TestFieldTableCoversSpec is the guard against a runtime-spec upgrade: each
// field of specs.Spec must be classified, by its own entry or under an
// ignored or denied one, and the table must name no field that does not
// exist (a typo would leave the real field unclassified).
func TestFieldTableCoversSpec(t *testing.T) {
	paths := map[string]bool{}
	specPaths(reflect.TypeFor[specs.Spec](), "", paths, 0)
	table := fieldTable()
	covered := func(p string) bool {
		if _, ok := table[p]; ok {
			return true
		}
		for q, r := range table {
			if (r.class == denied || r.class == ignored) && (strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[]")) {
				return true
			}
		}
		return false
	}
	var missing []string
	for p := range paths {
		if !covered(p) {
			missing = append(missing, p)
		}
	}
	slices.Sort(missing)
	for _, p := range missing {
		t.Errorf("spec field %s is not classified in fieldTable (managed by a control, harmless, ignored or denied)", p)
	}
	for q, r := range table {
		isPath := paths[q]
		isAncestor := false
		for p := range paths {
			if strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[]") {
				isAncestor = true
				break
			}
		}
		switch {
		case !isPath && !isAncestor:
			t.Errorf("fieldTable names %s, which runtime-spec does not have", q)
		case isAncestor && r.class != denied && r.class != ignored:
			t.Errorf("fieldTable classifies %s as a whole: only ignored or denied entries may cover the fields below them", q)
		}
		if r.why == "" {
			t.Errorf("fieldTable entry %s says neither which control manages it nor why", q)
		}
	}
	if len(paths) < 150 {
		t.Fatalf("only %d paths walked: the walk is broken", len(paths))
	}
}

// The walk of a real spec reaches the same paths the type walk does.
func TestFieldWalkMatchesTypeWalk(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}}},
	}}}}
	p := loadProfile(t, "default")
	if err := checkFields(newCtx(p), p, reflect.ValueOf(s).Elem(), ""); err != nil {
		t.Fatalf("promoted major of weightDevice: %v", err)
	}
}

func TestFieldsDenied(t *testing.T) {
	p := loadProfile(t, "default")
	for _, tc := range []struct {
		name  string
		mod   func(s *specs.Spec)
		rule  string
		allow string
	}{
		{"netDevices", func(s *specs.Spec) {
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "eth0"}}
		}, "spec.allow_fields", "linux.netDevices"},
		{"intelRdt", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "/"} }, "spec.allow_fields", "linux.intelRdt"},
		{"scheduler", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FIFO", Priority: 99} }, "spec.allow_fields", "process.scheduler"},
		{"ioPriority", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_RT"} }, "spec.allow_fields", "process.ioPriority"},
		{"vm", func(s *specs.Spec) { s.VM = &specs.VM{Hypervisor: specs.VMHypervisor{Path: "/bin/sh"}} }, "spec.allow_fields", "vm"},
		{"criu annotation", func(s *specs.Spec) { s.Annotations = map[string]string{"org.criu.config": "/tmp/x"} }, "spec.allow_fields", "annotations.org.criu.config"},
		{"bundle annotation", func(s *specs.Spec) { s.Annotations = map[string]string{"bundle": "/tmp/x"} }, "spec.allow_fields", "annotations.bundle"},
		{"systemd property", func(s *specs.Spec) {
			s.Annotations = map[string]string{"org.systemd.property.MemoryMax": "infinity"}
		}, "spec.allow_fields", "annotations.org.systemd.property.*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadSpec(t, "runc-1.5-spec.json")
			tc.mod(s)
			_, err := runOne(t, Fields(p), p, s)
			mustDeny(t, err, tc.rule)
			if !strings.Contains(err.Error(), strings.TrimSuffix(tc.allow, "*")) {
				t.Errorf("denial does not name %s: %v", tc.allow, err)
			}
			allowing := *p
			allowing.Spec.AllowFields = []string{tc.allow}
			if _, err := runOne(t, Fields(&allowing), &allowing, s); err != nil {
				t.Errorf("allowed by spec.allow_fields = [%q], still: %v", tc.allow, err)
			}
		})
	}
}

func TestFieldsHarmlessAndEngineSpecsPass(t *testing.T) {
	p := loadProfile(t, "default")
	for _, name := range append(engineSpecs, "docker-20.10-privileged.json") {
		if _, err := runOne(t, Fields(p), p, loadSpec(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := loadSpec(t, "runc-1.5-spec.json")
	s.Domainname = "example.org"
	s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
	s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"}
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0"}
	s.Windows = &specs.Windows{LayerFolders: []string{"C:\\x"}}
	s.Annotations = map[string]string{
		"org.systemd.property.TimeoutStopUSec": "uint64 10000000", "org.systemd.property.KillSignal": "15", // Podman
		"org.systemd.property.CollectMode": "'inactive-or-failed'", "org.systemd.property.After": "['crio.service']", // CRI-O
		"org.systemd.property.DefaultDependencies": "true", "io.kubernetes.cri.sandbox-id": "x",
	}
	if _, err := runOne(t, Fields(p), p, s); err != nil {
		t.Errorf("harmless fields denied: %v", err)
	}
}

func TestFieldsUnknownKeys(t *testing.T) {
	p := loadProfile(t, "default")
	for _, tc := range []struct {
		doc  string
		deny string // "" when kept
	}{
		{`{"ociVersion":"1.0.2","x-vendor":{"a":1},"annotations":{"x":"y"}}`, ""},
		{`{"ociVersion":"1.0.2","linux":{"landlockABI":4}}`, "linux.landlockABI"},
		{`{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"landlock":{}}}`, "process.landlock"},
		{`{"ociVersion":"1.0.2","root":{"path":"rootfs","x-rootHint":"overlay"}}`, "root.x-rootHint"},
		{`{"ociVersion":"1.0.2","mounts":[{"destination":"/x","x-order":1}]}`, "mounts[].x-order"},
		{`{"ociVersion":"1.0.2","hooks":{"x-preStop":[{"path":"/bin/sh"}]}}`, "hooks.x-preStop"},
		{`{"ociVersion":"1.0.2","linux":{"resources":{"memory":{"x-tier":2}}}}`, "linux.resources.memory.x-tier"},
	} {
		doc, err := spec.Parse([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		ctx := newCtx(p)
		if ctx.UnknownFields, err = doc.UnknownFields(); err != nil {
			t.Fatal(err)
		}
		err = modifier.List{Fields(p)}.Modify(ctx, doc.Spec, &modifier.Report{})
		if tc.deny == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.doc, err)
			}
			continue
		}
		mustDeny(t, err, "spec.unknown_fields")
		if err != nil && (!strings.Contains(err.Error(), tc.deny) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("%s: denial does not name %s on one line: %v", tc.doc, tc.deny, err)
		}
		allowing := *p
		allowing.Spec.AllowFields = []string{tc.deny}
		if err := (modifier.List{Fields(&allowing)}).Modify(ctx, doc.Spec, &modifier.Report{}); err != nil {
			t.Errorf("%s allowed, still: %v", tc.deny, err)
		}
	}
}

func TestFieldsExecProcess(t *testing.T) {
	p := loadProfile(t, "default")
	proc := &specs.Process{Cwd: "/", Scheduler: &specs.Scheduler{Policy: "SCHED_RR", Priority: 50}}
	err := modifier.List{Fields(p)}.ModifyProcess(newCtx(p), loadSpec(t, "runc-1.5-spec.json"), proc, &modifier.Report{})
	mustDeny(t, err, "spec.allow_fields")
	ctx := newCtx(p)
	ctx.UnknownFields = []string{"process.x-execFuture"}
	err = modifier.List{Fields(p)}.ModifyProcess(ctx, loadSpec(t, "runc-1.5-spec.json"), &specs.Process{Cwd: "/"}, &modifier.Report{})
	mustDeny(t, err, "spec.unknown_fields")
}

func TestCheckUnknownFieldsOfUpdate(t *testing.T) {
	p := loadProfile(t, "default")
	d := mustDeny(t, CheckUnknownFields(p, []string{"linux.resources.x-resourcesFuture"}), "spec.unknown_fields")
	if d.Modifier != "fields" {
		t.Errorf("denial names modifier %q", d.Modifier)
	}
	if err := CheckUnknownFields(p, nil); err != nil {
		t.Error(err)
	}
}
