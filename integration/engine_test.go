//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// installTree is a fake host root for install.sh: every path it writes is
// redirected here through PREFIX, SYSCONFDIR and LOCALSTATEDIR, so the test
// never touches the real /etc or /usr/local.
type installTree struct {
	root, prefix, etc, varlib string
	// profiles is a private copy of the shipped profiles, so the test sees
	// one set of them from start to end.
	profiles string
}

func newInstallTree(t *testing.T) installTree {
	t.Helper()
	root := t.TempDir()
	tr := installTree{root: root, prefix: filepath.Join(root, "usr/local"), etc: filepath.Join(root, "etc"), varlib: filepath.Join(root, "var/lib")}
	tr.profiles = filepath.Join(t.TempDir(), "profiles")
	if out, err := exec.Command("cp", "-a", filepath.Join(repoRoot(), "profiles"), tr.profiles).CombinedOutput(); err != nil {
		t.Fatalf("copy profiles: %v: %s", err, out)
	}
	fixtures := filepath.Join(repoRoot(), "libhardening/engine/testdata")
	files := map[string]string{
		"docker/daemon.json":     readFixture(t, filepath.Join(fixtures, "daemon.json")),
		"containerd/config.toml": readFixture(t, filepath.Join(fixtures, "containerd-1.6.toml")),
		// Existing ranges the new one must not overlap: Docker's userns-remap,
		// Podman's "containers" and a login user.
		"subuid": "dockremap:100000:65536\ncontainers:1048576:1048576\nalice:165536:65536\n",
		"subgid": "dockremap:100000:65536\ncontainers:1048576:1048576\n",
		"passwd": "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
	}
	for p, c := range files {
		full := filepath.Join(tr.etc, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func readFixture(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (tr installTree) install(t *testing.T, args ...string) Result {
	t.Helper()
	args = append([]string{"--no-deps", "--no-build", "--no-restart", "--no-doctor"}, args...)
	return runCmd(t, 2*time.Minute, []string{
		"PREFIX=" + tr.prefix, "SYSCONFDIR=" + tr.etc, "LOCALSTATEDIR=" + tr.varlib, "SRC_BIN=" + env.bin, "SRC_PROFILES=" + tr.profiles,
	}, nil, filepath.Join(repoRoot(), "install.sh"), args...)
}

// snapshotTree maps every file under dir to its content and mode.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			out[rel+"/"] = fi.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = fi.Mode().String() + " " + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "removed "+k)
		} else if v != w {
			d = append(d, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	return d
}

func TestInstallScript(t *testing.T) {
	tr := newInstallTree(t)
	pristine := snapshotTree(t, tr.root)

	// --dry-run changes nothing.
	if r := tr.install(t, "--dry-run", "--configure", "docker,containerd", "--set-default"); r.Code != 0 {
		t.Fatalf("dry run: %s", r)
	} else if d := diffTrees(pristine, snapshotTree(t, tr.root)); len(d) > 0 {
		t.Fatalf("--dry-run changed files: %v", d)
	}

	r := tr.install(t, "--configure", "docker,containerd", "--set-default")
	if r.Code != 0 {
		t.Fatalf("install: %s", r)
	}
	for _, b := range []string{"hardened-runc", "hardenctl"} {
		if fi, err := os.Stat(filepath.Join(tr.prefix, "bin", b)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", b, fi, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(tr.varlib, "hardened-runc/forensics")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("forensics dir: %v %v", fi, err)
	}
	cfg := readFixture(t, filepath.Join(tr.etc, "hardened-runc/config.toml"))
	if !strings.Contains(cfg, `profiles_dir = "`+filepath.Join(tr.etc, "hardened-runc/profiles")+`"`) {
		t.Errorf("config.toml:\n%s", cfg)
	}
	for _, p := range []string{"default.toml", "baseline.toml", "restricted.toml"} {
		got := readFixture(t, filepath.Join(tr.etc, "hardened-runc/profiles", p))
		if got != readFixture(t, filepath.Join(tr.profiles, p)) {
			t.Errorf("profile %s not installed as shipped", p)
		}
	}

	// Subordinate IDs: 65536-aligned, 65536*4096 long, past every other
	// range and login UID, identical in subuid and subgid.
	const size = 65536 * 4096
	for _, f := range []string{"subuid", "subgid"} {
		content := readFixture(t, filepath.Join(tr.etc, f))
		var start, count uint64
		found := false
		for _, line := range strings.Split(content, "\n") {
			if strings.HasPrefix(line, "hardened-runc:") {
				parts := strings.Split(line, ":")
				start, count = atou(parts[1]), atou(parts[2])
				found = true
			}
		}
		if !found || start%65536 != 0 || count != size || start < 2097152 {
			t.Errorf("%s: hardened-runc range start=%d count=%d found=%v (must start at or after 2097152, past containers:1048576+1048576):\n%s", f, start, count, found, content)
		}
	}

	// Docker: our runtime is the default, every other key kept.
	var daemon map[string]any
	if err := json.Unmarshal([]byte(readFixture(t, filepath.Join(tr.etc, "docker/daemon.json"))), &daemon); err != nil {
		t.Fatal(err)
	}
	rt, _ := daemon["runtimes"].(map[string]any)
	hardened, _ := rt["hardened"].(map[string]any)
	if daemon["default-runtime"] != "hardened" || hardened["path"] != filepath.Join(tr.prefix, "bin/hardened-runc") || rt["runsc"] == nil || daemon["mtu"] == nil {
		t.Errorf("daemon.json: %v", daemon)
	}
	ctrd := readFixture(t, filepath.Join(tr.etc, "containerd/config.toml"))
	if !strings.Contains(ctrd, "BinaryName = '"+filepath.Join(tr.prefix, "bin/hardened-runc")+"'") || !strings.Contains(ctrd, "default_runtime_name = 'hardened'") {
		t.Errorf("containerd config:\n%s", ctrd)
	}

	// Idempotent: a second run changes no byte.
	installed := snapshotTree(t, tr.root)
	if r := tr.install(t, "--configure", "docker,containerd", "--set-default"); r.Code != 0 {
		t.Fatalf("second install: %s", r)
	} else if strings.Contains(r.Stdout, "installing") || strings.Contains(r.Stdout, "adding") {
		t.Errorf("second install did work again:\n%s", r.Stdout)
	}
	if d := diffTrees(installed, snapshotTree(t, tr.root)); len(d) > 0 {
		t.Errorf("second install changed files: %v", d)
	}

	// An edited profile is kept; the shipped one lands beside it.
	edited := filepath.Join(tr.etc, "hardened-runc/profiles/default.toml")
	if err := os.WriteFile(edited, []byte("# site policy\nmode = \"audit\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := tr.install(t); r.Code != 0 {
		t.Fatalf("install over an edited profile: %s", r)
	}
	if got := readFixture(t, edited); !strings.Contains(got, "site policy") {
		t.Errorf("edited profile overwritten:\n%s", got)
	}
	if got := readFixture(t, edited+".dist"); got != readFixture(t, filepath.Join(tr.profiles, "default.toml")) {
		t.Errorf("default.toml.dist is not the shipped profile")
	}

	// Uninstall: binaries and engine configuration go, the engines' files
	// are byte-identical to before, profiles and forensics stay.
	if r := tr.install(t, "--uninstall"); r.Code != 0 {
		t.Fatalf("uninstall: %s", r)
	}
	now := snapshotTree(t, tr.root)
	for _, f := range []string{"etc/docker/daemon.json", "etc/containerd/config.toml"} {
		if now[f] != pristine[f] {
			t.Errorf("%s not restored to its original bytes", f)
		}
		if _, ok := now[f+".hardened-runc.bak"]; ok {
			t.Errorf("%s backup left behind", f)
		}
	}
	if _, ok := now["usr/local/bin/hardened-runc"]; ok {
		t.Errorf("binary not removed")
	}
	if _, ok := now["etc/hardened-runc/profiles/default.toml"]; !ok {
		t.Errorf("uninstall without --purge removed the edited profile")
	}

	// Purge: back to the pristine tree (directories created on the way aside).
	if r := tr.install(t, "--uninstall", "--purge"); r.Code != 0 {
		t.Fatalf("purge: %s", r)
	}
	for _, d := range diffTrees(pristine, snapshotTree(t, tr.root)) {
		if !strings.HasSuffix(d, "/") {
			t.Errorf("after --purge: %s", d)
		}
	}
}

func atou(s string) uint64 {
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
