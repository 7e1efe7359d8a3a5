package pipeline

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// seeds are specs as Docker, containerd (CRI and ctr), Podman and runc
// generate them.
func seeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"../confine/testdata", "../spec/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	if len(out) == 0 {
		t.Fatal("no seed specs found")
	}
	return out
}

// harden runs the default profile's pipeline in dry-run mode (no mounts, no
// ID ranges, no profile loading) on data and returns the result.
func harden(t testing.TB, p *policy.Profile, data []byte, runDir string) (*spec.Document, *modifier.Report, error) {
	return hardenIn(t, p, data, t.TempDir(), runDir)
}

// hardenIn is harden with the bundle directory given.
func hardenIn(t testing.TB, p *policy.Profile, data []byte, bundle, runDir string) (*spec.Document, *modifier.Report, error) {
	doc, err := spec.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	// No ctx.Profile: every modifier is built with p by New and reads
	// nothing of the profile from the context.
	ctx := &modifier.Context{
		Verb: "create", ContainerID: "fuzz", Bundle: bundle, ProfileName: p.Name,
		Lower: modifier.Lower{Path: "/usr/sbin/runc", Version: "1.1.5"}, RunDir: runDir, DryRun: true,
	}
	if ctx.UnknownFields, err = doc.UnknownFields(); err != nil {
		return nil, nil, err
	}
	var r modifier.Report
	return doc, &r, New(p).Modify(ctx, doc.Spec, &r)
}

// FuzzPipeline: the rewrite never panics, is idempotent (a second run on its
// own output changes nothing), and never weakens a spec: every setting the
// pipeline manages is at least as strict after as before.
func FuzzPipeline(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	p, err := policy.Store{}.Load("default")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := spec.Parse(data)
		if err != nil {
			return
		}
		orig := spec.Clone(before.Spec)
		// One run directory for both runs: the first run's idmapped root
		// is where the second finds it.
		runDir := t.TempDir()
		doc, _, err := harden(t, p, data, runDir)
		if err != nil {
			if _, ok := modifier.AsDenial(err); ok {
				return // refusing is never weaker
			}
			return // malformed specs may be refused with any error
		}
		out, err := doc.Bytes()
		if err != nil {
			t.Fatalf("bytes: %v", err)
		}
		assertNotWeaker(t, orig, doc.Spec)
		doc2, r2, err := harden(t, p, out, runDir)
		if err != nil {
			t.Fatalf("second run refused its own output: %v", err)
		}
		if len(r2.Changes) != 0 {
			t.Fatalf("not idempotent: second run changed %v", r2.Changes)
		}
		out2, _ := doc2.Bytes()
		if string(out2) != string(out) {
			t.Fatalf("not idempotent: second run rewrote the document")
		}
	})
}

// TestRandomMutations runs the pipeline on 2000 deterministic random
// mutations of the engine specs (bytes flipped, cut, inserted): none may
// hang, panic, or come out weaker than it went in. It is the part of
// FuzzPipeline that runs in every `go test`.
func TestRandomMutations(t *testing.T) {
	p, err := policy.Store{}.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	ss := seeds(t)
	for i := 0; i < 2000; i++ {
		in := mutate(r, ss[r.Intn(len(ss))])
		done := make(chan struct{})
		go func() {
			defer close(done)
			before, err := spec.Parse(in)
			if err != nil {
				return
			}
			orig := spec.Clone(before.Spec)
			doc, _, err := harden(t, p, in, t.TempDir())
			if err == nil {
				assertNotWeaker(t, orig, doc.Spec)
			}
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("mutation %d hangs the pipeline:\n%s", i, in)
		}
	}
}

func mutate(r *rand.Rand, seed []byte) []byte {
	in := append([]byte(nil), seed...)
	for k := 0; k < 1+r.Intn(8) && len(in) > 2; k++ {
		j := r.Intn(len(in))
		switch r.Intn(3) {
		case 0:
			in[j] = byte(r.Intn(256))
		case 1:
			in = append(in[:j], in[min(len(in), j+1+r.Intn(20)):]...)
		default:
			in = append(in[:j], append([]byte{"0123456789{}[]\",:-."[r.Intn(19)]}, in[j:]...)...)
		}
	}
	return in
}

func TestPipelineOnEngineSpecs(t *testing.T) {
	p, err := policy.Store{}.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range seeds(t) {
		before, err := spec.Parse(data)
		if err != nil {
			continue
		}
		orig := spec.Clone(before.Spec)
		doc, r, err := harden(t, p, data, t.TempDir())
		if err != nil {
			if _, ok := modifier.AsDenial(err); !ok {
				t.Errorf("seed %d: %v", i, err)
			}
			continue
		}
		if len(r.Changes) == 0 {
			t.Errorf("seed %d: an engine's spec needed no hardening?", i)
		}
		assertNotWeaker(t, orig, doc.Spec)
	}
}

func assertNotWeaker(t *testing.T, before, after *specs.Spec) {
	t.Helper()
	if before.Process != nil && after.Process != nil {
		if before.Process.NoNewPrivileges && !after.Process.NoNewPrivileges {
			t.Errorf("noNewPrivileges turned off")
		}
		if b, a := before.Process.Capabilities, after.Process.Capabilities; b != nil && a != nil {
			for _, pair := range [][2][]string{{b.Bounding, a.Bounding}, {b.Effective, a.Effective}, {b.Permitted, a.Permitted}, {b.Inheritable, a.Inheritable}, {b.Ambient, a.Ambient}} {
				if extra := minus(pair[1], pair[0]); len(extra) > 0 {
					t.Errorf("capabilities added: %v", extra)
				}
			}
		}
	}
	if before.Root != nil && after.Root != nil && before.Root.Readonly && !after.Root.Readonly {
		t.Errorf("read-only root turned writable")
	}
	if before.Linux == nil || after.Linux == nil {
		return
	}
	if missing := minus(before.Linux.MaskedPaths, after.Linux.MaskedPaths); len(missing) > 0 {
		t.Errorf("masked paths removed: %v", missing)
	}
	if missing := minus(before.Linux.ReadonlyPaths, after.Linux.ReadonlyPaths); len(missing) > 0 {
		t.Errorf("read-only paths removed: %v", missing)
	}
	var bt, at []string
	for _, n := range before.Linux.Namespaces {
		bt = append(bt, string(n.Type))
	}
	for _, n := range after.Linux.Namespaces {
		at = append(at, string(n.Type))
	}
	if missing := minus(bt, at); len(missing) > 0 {
		t.Errorf("namespaces removed: %v", missing)
	}
	if s := before.Linux.Seccomp; s != nil && s.DefaultAction != specs.ActAllow && after.Linux.Seccomp == nil {
		t.Errorf("seccomp filter removed")
	}
	if br, ar := before.Linux.Resources, after.Linux.Resources; br != nil {
		if ar == nil {
			t.Fatalf("resources removed")
		}
		if br.Pids != nil && br.Pids.Limit != nil && *br.Pids.Limit > 0 {
			if ar.Pids == nil || ar.Pids.Limit == nil || *ar.Pids.Limit <= 0 || *ar.Pids.Limit > *br.Pids.Limit {
				t.Errorf("pids limit raised or removed")
			}
		}
		if br.Memory != nil && br.Memory.Limit != nil && *br.Memory.Limit > 0 {
			if ar.Memory == nil || ar.Memory.Limit == nil || *ar.Memory.Limit <= 0 || *ar.Memory.Limit > *br.Memory.Limit {
				t.Errorf("memory limit raised or removed")
			}
		}
	}
}

// minus returns the elements of a that are not in b.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// TestEngineGoldensAllowed: what Docker, containerd (CRI and ctr), Podman
// and runc write goes through the default profile's whole pipeline, unknown
// keys and hooks included. Docker's hook runs /usr/sbin/dockerd, so that
// spec needs the binary on the test host.
func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// isFileMount: the engines bind these files into every container.
func isFileMount(dst string) bool {
	switch filepath.Base(dst) {
	case "hosts", "hostname", "resolv.conf", "termination-log", ".containerenv", "run.oci.hooks":
		return true
	}
	return false
}

func TestEngineGoldensAllowed(t *testing.T) {
	p, err := policy.Store{}.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"containerd-cri.json", "containerd-ctr.json", "docker-20.10.json", "podman-4.json", "runc-1.1-spec.json", "runc-1.5-spec.json"} {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat("/usr/sbin/dockerd"); err != nil && name == "docker-20.10.json" {
				t.Skipf("Docker's hook names /usr/sbin/dockerd, absent here: %v", err)
			}
			data, err := os.ReadFile(filepath.Join("../confine/testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			// root.path is judged on the directory it resolves to: give
			// the golden spec a real one, as the engine's would be.
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			bundle := t.TempDir()
			if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
				t.Fatal(err)
			}
			raw["root"].(map[string]any)["path"] = "rootfs"
			// The goldens were taken where AppArmor is enabled; engines
			// name a profile only there, and runc refuses one elsewhere.
			if _, err := os.Stat("/sys/module/apparmor/parameters/enabled"); err != nil {
				delete(raw["process"].(map[string]any), "apparmorProfile")
			}
			// A namespace path must name a live namespace: the goldens'
			// CNI namespaces are gone, so they get private ones here
			// (joining a live one: integration TestUsernsPodJoins).
			linux := raw["linux"].(map[string]any)
			for _, n := range linux["namespaces"].([]any) {
				delete(n.(map[string]any), "path")
			}
			// So are bind sources: each moves under the bundle, as a file
			// where the engine binds a file.
			mounts, _ := raw["mounts"].([]any)
			for _, m := range mounts {
				mt := m.(map[string]any)
				src, _ := mt["source"].(string)
				if !strings.HasPrefix(src, "/") || (mt["type"] != "bind" && !slices.Contains(toStrings(mt["options"]), "bind") && !slices.Contains(toStrings(mt["options"]), "rbind")) {
					continue
				}
				host := filepath.Join(bundle, "host", src)
				if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
					t.Fatal(err)
				}
				if isFileMount(mt["destination"].(string)) {
					err = os.WriteFile(host, nil, 0o644)
				} else {
					err = os.MkdirAll(host, 0o755)
				}
				if err != nil {
					t.Fatal(err)
				}
				mt["source"] = host
			}
			if data, err = json.Marshal(raw); err != nil {
				t.Fatal(err)
			}
			if _, _, err := hardenIn(t, p, data, bundle, t.TempDir()); err != nil {
				t.Fatalf("ordinary engine spec denied: %v", err)
			}
		})
	}
}
