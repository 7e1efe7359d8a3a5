//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// serverWorkload does what issue 13's broken images did at start: nginx
// creates its temp directories under /var/lib/nginx and /var/cache/nginx,
// writes /var/log/nginx and /run/nginx.pid; postgres flushes with
// sync_file_range; a `docker build` step adds a user (useradd's lock file
// and /etc/passwd: busybox-static has no adduser) and writes under /usr.
// It also calls get_robust_list, a seccomp cut the default still enforces.
const serverWorkload = `set -e
mkdir -p /var/lib/nginx/body /var/cache/nginx/proxy /var/log/nginx
echo started > /var/log/nginx/error.log
echo 1 > /run/nginx.pid
ln /etc/passwd /etc/passwd.lock && echo web:x:1001:1001::/:/bin/sh >> /etc/passwd && rm /etc/passwd.lock
echo x > /usr/share-written
/auditcall sync_file_range get_robust_list
echo workload-done`

// checkServerWorkload asserts the workload ran through and the kept cut
// still answers EPERM.
func checkServerWorkload(t *testing.T, r Result) {
	t.Helper()
	if r.Code != 0 || !strings.Contains(r.Stdout, "workload-done") {
		t.Fatalf("ordinary server workload failed under the default profile: %s", r)
	}
	if !strings.Contains(r.Stdout, "sync_file_range: ok") {
		t.Errorf("sync_file_range must be allowed (postgres' checkpointer): %s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "get_robust_list: EPERM") {
		t.Errorf("get_robust_list must stay cut under seccomp.strict = \"enforce\": %s", r.Stdout)
	}
}

// TestDefaultRunsServerWorkloads: the built-in default profile, through
// each lower runc, on an overlay root as engines give one, runs what broke
// in issue 13, and its delete record lists what it wrote to its root.
func TestDefaultRunsServerWorkloads(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		root := overlayRoot(t, h)
		r := h.run(t, l, "default", func(s *specs.Spec) { s.Root.Path, s.Root.Readonly = root, false }, "sh", "-c", serverWorkload)
		checkServerWorkload(t, r)
		cs := parseWhy(t, h.hardenctl(t, l, "why", r.ID, "--output", "json", "--dir", h.Forensics))
		c := cause(t, cs, "rootfs.readonly", "audit")
		for _, want := range []string{"/var/lib/nginx (created directory)", "/var/cache (created directory)", "/usr/share-written (created)", "/etc/passwd (modified)"} {
			if !hasEvidence(c, want) {
				t.Errorf("default's rootfs audit lacks %q: %v", want, c.Evidence)
			}
		}
	})
}

// TestDefaultDocker runs the default profile as dockerd's default runtime:
// the server workload, a legacy `docker build` whose RUN steps add a user
// and write under /usr, and the explicit requests the policy refuses
// (--cap-add beyond the allow list, --security-opt seccomp=unconfined),
// each with a one-line message naming the rule, which `hardenctl why`
// names again from the container id.
func TestDefaultDocker(t *testing.T) {
	d := docker(t)
	const image = "hr-default:1" // not hr-audit: its launches would count in TestAuditToEnforceDocker's image report
	auditImage(t, d, image)
	for _, l := range lowers(t) {
		_, r := dockerRunID(t, d, d.runtimeFor(l), image, "sh", "-c", serverWorkload)
		checkServerWorkload(t, r)
	}

	t.Run("docker build", func(t *testing.T) {
		dir := t.TempDir()
		df := "FROM " + Image + "\nRUN ln /etc/passwd /etc/passwd.lock && echo app:x:1001:1001::/:/bin/sh >> /etc/passwd && rm /etc/passwd.lock && mkdir -p /usr/local/share/app\nRUN echo built > /usr/local/share/app/x && chown app /usr/local/share/app/x\nRUN cat /usr/local/share/app/x\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("h5-build:%d", env.seq.Add(1))
		r := runCmd(t, 5*time.Minute, []string{"DOCKER_HOST=" + d.Host, "DOCKER_BUILDKIT=0"}, nil, "docker", "build", "-t", tag, dir)
		if r.Code != 0 {
			t.Fatalf("legacy docker build with hardened-runc as the default runtime: %s", r)
		}
		t.Cleanup(func() { d.Run(t, "rmi", "-f", tag) })
		out := d.Run(t, "run", "--rm", tag, "cat", "/usr/local/share/app/x")
		if strings.TrimSpace(out.Stdout) != "built" {
			t.Fatalf("built image: %s", out)
		}
	})

	for _, tc := range []struct {
		name  string
		flags []string
		rule  string
		names string
	}{
		{"cap-add beyond the allow list", []string{"--cap-add", "NET_ADMIN"}, "capabilities.allow", "CAP_NET_ADMIN"},
		{"cap-add of a Docker default capability the allow list lacks", []string{"--cap-add", "NET_RAW"}, "capabilities.allow", "CAP_NET_RAW"},
		{"seccomp=unconfined", []string{"--security-opt", "seccomp=unconfined"}, "seccomp.mode", "seccomp=unconfined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.flags...), Image, "true")
			id, r := dockerRunID(t, d, "hardened", args...)
			msg := r.Stderr + r.Stdout
			if r.Code == 0 || !strings.Contains(msg, "denied by policy rule "+tc.rule) || !strings.Contains(msg, tc.names) {
				t.Fatalf("want a one-line denial naming %s and %s: %s", tc.rule, tc.names, r)
			}
			cs := parseWhy(t, dockerHardenctl(t, d, "why", id, "--output", "json"))
			if c := cause(t, cs, tc.rule, "denied"); !strings.Contains(c.Effect, tc.names) {
				t.Errorf("why: %+v", c)
			}
		})
	}
	t.Run("Docker's default capabilities are not a request", func(t *testing.T) {
		if _, r := dockerRunID(t, d, "hardened", Image, "true"); r.Code != 0 {
			t.Fatalf("plain docker run: %s", r)
		}
	})
}
