//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCrunWithoutRoot: a caller that passes crun no --root, as Podman
// does. crun then keeps its state in $XDG_RUNTIME_DIR/crun (a private one
// here, so the host's /run/crun is not touched), and hardened-runc must
// find it there, not in runc's /run/runc. When it did not:
//   - an exec with -p was judged against an empty container spec, and
//     every capability was dropped as "above the container's bounding
//     set" (Podman over crun: container root could not write /);
//   - the next create's GC of ID ranges found no state for the live
//     container, released its range and gave it to the new container.
func TestCrunWithoutRoot(t *testing.T) {
	l := crunOnly(t)
	h := newHarness(t)
	xdg := filepath.Join(h.Dir, "xdg")
	if err := os.MkdirAll(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	noRoot := func(args ...string) Result {
		t.Helper()
		return h.hardenedRuncEnv(t, l, "default", []string{"XDG_RUNTIME_DIR=" + xdg}, args...)
	}
	bundle, id := h.newBundle(l, nil, "sleep", "300")
	if r := noRoot("create", "--bundle", bundle, id); r.Code != 0 {
		t.Fatalf("create without --root: %s", r)
	}
	t.Cleanup(func() { noRoot("delete", "--force", id) })
	if _, err := os.Stat(filepath.Join(xdg, "crun", id, "status")); err != nil {
		t.Fatalf("crun's state is not where crun keeps it without --root: %v", err)
	}
	if r := noRoot("start", id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}

	// exec -p with the process an engine sends: the container's own
	// capabilities, as the container's init holds them.
	s := readSpec(t, bundle)
	proc := specs.Process{Args: []string{"cat", "/proc/self/status", "/proc/1/status", "/proc/self/uid_map"}, Cwd: "/",
		Env: s.Process.Env, Capabilities: s.Process.Capabilities}
	data, err := json.Marshal(proc)
	if err != nil {
		t.Fatal(err)
	}
	pfile := filepath.Join(h.Dir, "process.json")
	if err := os.WriteFile(pfile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := noRoot("exec", "--process", pfile, id)
	if r.Code != 0 {
		t.Fatalf("exec -p without --root: %s", r)
	}
	self, init, _ := strings.Cut(r.Stdout, "Name:\tsleep")
	if got, want := statusField(self, "CapEff"), statusField(init, "CapEff"); got == "" || got == "0000000000000000" || got != want {
		t.Errorf("exec'd process CapEff %q, want the container's %q", got, want)
	}
	first := uidMapLine(r.Stdout)
	if len(first) != 3 {
		t.Fatalf("uid_map of the first container: %q", r.Stdout)
	}

	// Another container's create collects dead ranges: the live one keeps
	// its own, and the new container gets another.
	other := h.run(t, l, "default", nil, "cat", "/proc/self/uid_map")
	second := uidMapLine(other.Stdout)
	if other.Code != 0 || len(second) != 3 {
		t.Fatalf("second container: %s", other)
	}
	if first[1] == second[1] {
		t.Errorf("the second container got the live first container's range (host %s): the first's was released while it ran", first[1])
	}
	if r := noRoot("exec", "--process", pfile, id); r.Code != 0 || uidMapLine(r.Stdout) == nil || uidMapLine(r.Stdout)[1] != first[1] {
		t.Errorf("first container after the second's create: %s", r)
	}
}
