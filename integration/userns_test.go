//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// uidMapBase returns the host ID container uid 0 maps to in pid's user
// namespace, read from the host.
func uidMapBase(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatalf("uid_map of %d: %v", pid, err)
	}
	f := strings.Fields(string(data))
	if len(f) < 3 || f[0] != "0" {
		t.Fatalf("uid_map of %d: %q", pid, data)
	}
	return f[1]
}

// hostUID is the real uid of pid as the host sees it.
func hostUID(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(statusField(string(data), "Uid") + " ?")[0]
}

// assertReleased checks that nothing of container id is left: no mounts
// under the run directory's userns/<id>, no range table entry.
func assertReleased(t *testing.T, runDir string, ids ...string) {
	t.Helper()
	tab, err := userns.ReadTable(runDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n, _ := userns.MountsUnder(filepath.Join(runDir, "userns", id)); n != 0 {
			t.Errorf("%s: %d mounts left after delete", id, n)
		}
		if e, ok := tab.Lookup(id); ok {
			t.Errorf("%s: range %d still allocated after delete", id, e.HostUID)
		}
	}
}

// TestUsernsRunc: containers launched through hardened-runc directly get
// their own ranges, image ownership inside, mapped IDs outside.
func TestUsernsRunc(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		r := h.run(t, l, "default", nil, "sh", "-c", "cat /proc/self/uid_map; stat -c %u:%g /root/secret; cat /root/secret; id -u; echo ok > /tmp/w && cat /tmp/w")
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		f := strings.Fields(r.Stdout)
		if len(f) != 7 || f[0] != "0" || f[1] == "0" || f[2] != "65536" {
			t.Fatalf("uid_map: want 0 <non-zero> 65536, got %q", r.Stdout)
		}
		if got := strings.Join(f[3:], " "); got != "0:0 root-only 0 ok" {
			t.Errorf("inside: got %q, want %q (0600 root file readable and uid 0, tmpfs writable)", got, "0:0 root-only 0 ok")
		}
		assertReleased(t, h.RunDir, r.ID)

		// Two containers at once: different ranges, processes run as the
		// mapped IDs on the host.
		var ids []string
		bases := map[string]bool{}
		for i := 0; i < 2; i++ {
			bundle, id := h.newBundle(l, nil, "sleep", "60")
			if c := h.hardenedRunc(t, l, "--root", h.StateRoot, "create", "--bundle", bundle, id); c.Code != 0 {
				t.Fatalf("create: %s", c)
			}
			ids = append(ids, id)
			defer h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id)
			st := h.hardenedRunc(t, l, "--root", h.StateRoot, "state", id)
			var state struct{ Pid int }
			if err := json.Unmarshal([]byte(st.Stdout), &state); err != nil || state.Pid == 0 {
				t.Fatalf("state: %v %s", err, st)
			}
			base := uidMapBase(t, state.Pid)
			if bases[base] {
				t.Errorf("two containers share range %s", base)
			}
			bases[base] = true
			if u := hostUID(t, state.Pid); u != base || u == "0" {
				t.Errorf("host sees the container's process as uid %s, want the mapped %s", u, base)
			}
		}
		for _, id := range ids {
			if c := h.hardenedRunc(t, l, "--root", h.StateRoot, "delete", "--force", id); c.Code != 0 {
				t.Errorf("delete: %s", c)
			}
		}
		assertReleased(t, h.RunDir, ids...)
	})
}

// TestUsernsDocker: an unchanged Docker (overlay2, no userns-remap) with
// hardened-runc as its runtime.
func TestUsernsDocker(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		rt := d.runtimeFor(l)
		vol := "hr-userns-" + l.Name
		defer d.Run(t, "volume", "rm", "-f", vol)
		r := d.Run(t, "run", "--rm", "--runtime", rt, "-v", vol+":/data", Image, "sh", "-c",
			"cat /proc/self/uid_map; stat -c %u:%g /root/secret; cat /root/secret; echo t > /tmp/t && cat /tmp/t; echo v > /data/v && cat /data/v")
		if r.Code != 0 {
			t.Fatalf("docker run: %s", r)
		}
		f := strings.Fields(r.Stdout)
		if len(f) != 7 || f[0] != "0" || f[1] == "0" {
			t.Fatalf("uid_map: want 0 <non-zero> 65536, got %q", r.Stdout)
		}
		if got := strings.Join(f[3:], " "); got != "0:0 root-only t v" {
			t.Errorf("inside: got %q, want %q (image file as uid 0, tmpfs and named volume writable)", got, "0:0 root-only t v")
		}
		// Programs that reopen their stdio (nginx, many entrypoints) need the
		// engine's pipes to belong to the mapped root.
		if r := d.Run(t, "run", "--rm", "--runtime", rt, Image, "sh", "-c", "echo reopen > /dev/stderr"); r.Code != 0 || !strings.Contains(r.Stderr, "reopen") {
			t.Errorf("container root cannot reopen its stderr pipe (stdio not handed to the mapped root): %s", r)
		}

		run := d.Run(t, "run", "-d", "--runtime", rt, Image, "sleep", "300")
		if run.Code != 0 {
			t.Fatalf("docker run -d: %s", run)
		}
		id := strings.TrimSpace(run.Stdout)
		defer d.Run(t, "rm", "-f", id)
		if e := d.Run(t, "exec", id, "sh", "-c", "id -u; cat /root/secret"); e.Code != 0 || strings.Fields(e.Stdout)[0] != "0" {
			t.Errorf("docker exec as root: %s", e)
		}
		if e := d.Run(t, "exec", "-u", "1000", id, "sh", "-c", "id -u; touch /tmp/u && stat -c %u /tmp/u"); e.Code != 0 || strings.Join(strings.Fields(e.Stdout), " ") != "1000 1000" {
			t.Errorf("docker exec as user 1000: %s", e)
		}
		if e := d.Run(t, "exec", "-u", "70000", id, "true"); e.Code == 0 {
			t.Errorf("docker exec as uid 70000 (outside the mapping) was allowed: %s", e)
		}
		pid := dockerPid(t, d, id)
		base := uidMapBase(t, pid)
		if u := hostUID(t, pid); u != base || u == "0" {
			t.Errorf("host sees the container's process as uid %s, want the mapped %s", u, base)
		}
		if x := d.Run(t, "restart", "-t", "1", id); x.Code != 0 {
			t.Fatalf("docker restart: %s", x)
		}
		if e := d.Run(t, "exec", id, "cat", "/root/secret"); e.Code != 0 || strings.TrimSpace(e.Stdout) != "root-only" {
			t.Errorf("after restart: %s", e)
		}
		if x := d.Run(t, "stop", "-t", "1", id); x.Code != 0 {
			t.Fatalf("docker stop: %s", x)
		}
		if x := d.Run(t, "rm", id); x.Code != 0 {
			t.Fatalf("docker rm: %s", x)
		}
		assertReleased(t, d.RunDir, id)
	})
}

func dockerPid(t *testing.T, d *Docker, id string) int {
	t.Helper()
	r := d.Run(t, "inspect", "-f", "{{.State.Pid}}", id)
	var pid int
	if _, err := fmt.Sscan(r.Stdout, &pid); err != nil || pid == 0 {
		t.Fatalf("inspect pid: %v %s", err, r)
	}
	return pid
}

// TestUsernsDockerConcurrent: 30 containers started at once get 30 distinct
// ranges, and give them all back.
func TestUsernsDockerConcurrent(t *testing.T) {
	d := docker(t)
	const n = 30
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.Run(t, "run", "-d", Image, "sleep", "300")
			if r.Code != 0 {
				t.Errorf("docker run -d #%d: %s", i, r)
				return
			}
			ids[i] = strings.TrimSpace(r.Stdout)
		}()
	}
	wg.Wait()
	var started []string
	for _, id := range ids {
		if id != "" {
			started = append(started, id)
		}
	}
	defer d.Run(t, append([]string{"rm", "-f"}, started...)...)
	if len(started) != n {
		t.Fatalf("%d of %d containers started", len(started), n)
	}
	seen := map[string]string{}
	for _, id := range started {
		base := uidMapBase(t, dockerPid(t, d, id))
		if other, dup := seen[base]; dup {
			t.Errorf("containers %.12s and %.12s share range %s", other, id, base)
		}
		seen[base] = id
	}
	if r := d.Run(t, append([]string{"rm", "-f"}, started...)...); r.Code != 0 {
		t.Fatalf("docker rm -f: %s", r)
	}
	assertReleased(t, d.RunDir, started...)
}
