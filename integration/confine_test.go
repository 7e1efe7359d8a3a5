//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// The confinement controls of the default profile, checked from inside real
// containers on both lower runtimes. The config starts from `runc spec`, so
// every control has to act on what runc itself generates.

// capMask is the /proc/self/status hex mask of the default profile's
// capability allow list.
func capMask(t *testing.T, profile string) string {
	t.Helper()
	p, err := policy.Store{}.Load(profile)
	if err != nil {
		t.Fatal(err)
	}
	return maskOf(t, p.Capabilities.Allow)
}

// maskOf is the /proc/self/status hex mask of capability names.
func maskOf(t *testing.T, names []string) string {
	t.Helper()
	var mask uint64
	for _, name := range names {
		name = strings.TrimPrefix(strings.ToUpper(name), "CAP_")
		i := slices.IndexFunc(capability.ListKnown(), func(c capability.Cap) bool { return strings.EqualFold(c.String(), name) })
		if i < 0 {
			t.Fatalf("unknown capability %s", name)
		}
		mask |= 1 << uint(capability.ListKnown()[i])
	}
	return fmt.Sprintf("%016x", mask)
}

// confineScript prints one "KEY=value" line per fact the test checks, after
// the process's status.
const confineScript = `
cat /proc/self/status
touch /rootfs-write 2>/dev/null && echo ROOT=writable || echo ROOT=ro
touch /tmp/x && echo TMP=ok || echo TMP=fail
echo INTERRUPTS=$(stat -c '%F %t:%T' /proc/interrupts)
[ -e /proc/kcore ] && echo KCORE=$(stat -c '%F %t:%T' /proc/kcore)
echo PROCSYS=$(awk '$5=="/proc/sys"{print $6}' /proc/self/mountinfo | head -n1)
awk '$5 ~ "^/sys(/|$)" {for (i = 7; i < NF; i++) if ($i == "-") {print "SYSMNT=" $5 " " $6 " " $(i+1); break}}' /proc/self/mountinfo
if [ -d /sys/fs/cgroup/pids ]; then pids=/sys/fs/cgroup/pids mem=/sys/fs/cgroup/memory/memory.limit_in_bytes; else pids=/sys/fs/cgroup mem=/sys/fs/cgroup/memory.max; fi
echo PIDSMAX=$(cat $pids/pids.max)
echo MEMMAX=$(cat $mem)
echo max 2>/dev/null > $pids/pids.max && echo CGWRITE=ok || echo CGWRITE=denied
echo APPUID=$(su -s /bin/sh app -c 'id -u')
su -s /bin/sh app -c 'cat /root/secret' >/dev/null 2>&1 && echo APPSECRET=read || echo APPSECRET=denied
`

func facts(out string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == strings.ToUpper(k) && !strings.Contains(k, " ") {
			m[k] = append(m[k], strings.TrimSpace(v))
		}
	}
	return m
}

func TestConfineInside(t *testing.T) {
	want := capMask(t, "default")
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		// default, with the root read-only and the capabilities asked for
		// by name (SYS_ADMIN, SYS_PTRACE) dropped rather than refused.
		h.writeProfile("confine", "[capabilities]\non_request = \"drop\"\n[rootfs]\nreadonly = \"enforce\"\n")
		r := h.run(t, l, "confine", func(s *specs.Spec) {
			// Start from what a careless engine sends: writable root,
			// no-new-privileges off, every capability Docker grants.
			s.Root.Readonly = false
			s.Process.NoNewPrivileges = false
			all := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
				"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
				"CAP_KILL", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all, Inheritable: all}
		}, "sh", "-c", confineScript)
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		f := facts(r.Stdout)
		for _, field := range []string{"CapBnd", "CapEff", "CapPrm"} {
			if got := statusField(r.Stdout, field); got != want {
				t.Errorf("%s = %s, want %s (the default allow list)", field, got, want)
			}
		}
		if got := statusField(r.Stdout, "CapInh"); got != "0000000000000000" {
			t.Errorf("CapInh = %s, want none", got)
		}
		if got := statusField(r.Stdout, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs = %q, want 1", got)
		}
		expect := map[string]string{
			"ROOT":       "ro",
			"TMP":        "ok",
			"INTERRUPTS": "character special file 1:3", // masked (Docker's list, not runc's): /dev/null bound over it
			"CGWRITE":    "denied",
			"PIDSMAX":    "4096",
			"MEMMAX":     "2147483648",
			"APPUID":     "1000",
			"APPSECRET":  "denied",
		}
		for k, v := range expect {
			if got := strings.Join(f[k], ","); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if k := f["KCORE"]; len(k) > 0 && k[0] != "character special file 1:3" {
			t.Errorf("/proc/kcore is %q, not masked", k[0])
		}
		if opts := strings.Join(f["PROCSYS"], ""); !slices.Contains(strings.Split(opts, ","), "ro") {
			t.Errorf("/proc/sys mount options %q: not read-only", opts)
		}
		kernelFS := 0
		for _, m := range f["SYSMNT"] {
			fields := strings.Fields(m)
			if len(fields) != 3 || (fields[2] != "sysfs" && fields[2] != "cgroup" && fields[2] != "cgroup2") {
				// runc's own tmpfs holding the v1 hierarchies is private
				// to the container.
				continue
			}
			kernelFS++
			if !slices.Contains(strings.Split(fields[1], ","), "ro") {
				t.Errorf("%s (%s) is mounted %s: /sys and the cgroup mounts must be read-only", fields[0], fields[2], fields[1])
			}
		}
		if kernelFS < 2 {
			t.Errorf("expected /sys and cgroup mounts, saw %v", f["SYSMNT"])
		}
	})
}

// TestConfineWebServer: an ordinary workload still runs under default: a
// busybox httpd on port 80 serves a page over the container's loopback.
func TestConfineWebServer(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		r := h.run(t, l, "default", nil, "sh", "-c",
			"httpd -p 80 -h /www && for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1/index.html && exit 0; sleep 0.1; done; exit 1")
		if r.Code != 0 || !strings.Contains(r.Stdout, "hello from hardened-runc") {
			t.Fatalf("httpd under default: %s", r)
		}
	})
}

// TestConfineDenied: a host namespace and an engine socket are refused
// before runc runs, with one line naming the rule, the offending thing and
// the fix; the container's process never starts.
func TestConfineDenied(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*specs.Spec)
		want []string
	}{
		{"host network", func(s *specs.Spec) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
		}, []string{"namespaces.allow_host", "network", `allow_host = ["network"]`}},
		{"host pid by path", func(s *specs.Spec) {
			for i := range s.Linux.Namespaces {
				if s.Linux.Namespaces[i].Type == specs.PIDNamespace {
					s.Linux.Namespaces[i].Path = "/proc/1/ns/pid"
				}
			}
		}, []string{"namespaces.allow_host", "/proc/1/ns/pid"}},
		{"docker.sock", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/var/run/docker.sock", Type: "bind", Source: "/var/run/docker.sock", Options: []string{"rbind", "ro"}})
		}, []string{"mounts.deny_sources", "/var/run/docker.sock → /var/run/docker.sock", "mounts.allow_sources"}},
		{"privileged", func(s *specs.Spec) {
			var all []string
			for _, c := range capability.ListKnown() {
				all = append(all, "CAP_"+strings.ToUpper(c.String()))
			}
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
			s.Linux.MaskedPaths, s.Linux.Seccomp = nil, nil
			s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		}, []string{"capabilities.allow_privileged"}},
	}
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		for _, tc := range cases {
			r := h.run(t, l, "default", tc.mod, "sh", "-c", "echo CONTAINER-RAN")
			if r.Code == 0 || strings.Contains(r.Stdout, "CONTAINER-RAN") {
				t.Errorf("%s: not denied: %s", tc.name, r)
				continue
			}
			for _, w := range append([]string{"hardened-runc"}, tc.want...) {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("%s: stderr does not name %q: %s", tc.name, w, r.Stderr)
				}
			}
		}
	})
}

// TestConfineExec: an exec'd process asking for every capability (what
// `docker exec --privileged` writes to process.json) gets no more than the
// container, keeps no-new-privileges, and an exec --cwd under /proc and an
// exec --cap beyond the container are refused.
func TestConfineExec(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		bundle, id := h.newBundle(l, nil, "sleep", "60")
		root := []string{"--root", h.StateRoot, "--log", filepath.Join(bundle, "log.json"), "--log-format", "json"}
		hr := func(args ...string) Result {
			return h.hardenedRunc(t, l, append(slices.Clone(root), args...)...)
		}
		if r := hr("create", "--bundle", bundle, id); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		defer hr("delete", "--force", id)
		if r := hr("start", id); r.Code != 0 {
			t.Fatalf("start: %s", r)
		}
		want := maskOf(t, readSpec(t, bundle).Process.Capabilities.Bounding)
		var all []string
		for _, c := range capability.ListKnown() {
			all = append(all, "CAP_"+strings.ToUpper(c.String()))
		}
		proc := specs.Process{
			Args: []string{"cat", "/proc/self/status"}, Cwd: "/", Env: []string{"PATH=/bin"},
			Capabilities: &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all, Inheritable: all},
		}
		data, _ := json.Marshal(proc)
		pj := filepath.Join(h.Dir, "process.json")
		if err := os.WriteFile(pj, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r := hr("exec", "--process", pj, id)
		if r.Code != 0 {
			t.Fatalf("exec -p: %s", r)
		}
		for _, field := range []string{"CapBnd", "CapEff"} {
			if got := statusField(r.Stdout, field); got != want {
				t.Errorf("exec'd %s = %s, want the container's %s", field, got, want)
			}
		}
		if got := statusField(r.Stdout, "NoNewPrivs"); got != "1" {
			t.Errorf("exec'd NoNewPrivs = %q", got)
		}
		if after, _ := os.ReadFile(pj); string(after) != string(data) {
			t.Error("the caller's process.json was edited in place")
		}
		for _, args := range [][]string{
			{"exec", "--cwd", "/proc/self/fd/3", id, "true"},
			{"exec", "--cap", "CAP_SYS_ADMIN", id, "true"},
			{"exec", "--no-new-privs=false", id, "true"},
		} {
			r := hr(args...)
			if r.Code == 0 || !strings.Contains(r.Stderr, "denied by policy") {
				t.Errorf("%v: not denied: %s", args, r)
			}
		}
	})
}

// TestConfineDocker runs the controls on the spec Docker itself generates
// (its binds, cgroup v1 paths, sysctls, 14 capabilities): Docker's extra
// capabilities are dropped, and --cap-add beyond the allow list, a mounted
// engine socket, an unsafe sysctl, a host device and --privileged are
// refused with hardened-runc's reason in `docker run`'s error.
func TestConfineDocker(t *testing.T) {
	d := docker(t)
	want := capMask(t, "default")
	sock := strings.TrimPrefix(d.Host, "unix://")
	forEachLower(t, func(t *testing.T, l Lower) {
		rt := d.runtimeFor(l)
		r := d.Run(t, "run", "--rm", "--runtime", rt, Image, "sh", "-c",
			"cat /proc/self/status; touch /tmp/x && echo TMP=ok; touch /x 2>/dev/null && echo ROOT=writable || echo ROOT=ro")
		if r.Code != 0 {
			t.Fatalf("docker run: %s", r)
		}
		if got := statusField(r.Stdout, "CapEff"); got != want {
			t.Errorf("CapEff = %s, want %s (Docker's extra capabilities dropped)", got, want)
		}
		if got := statusField(r.Stdout, "CapInh"); got != "0000000000000000" {
			t.Errorf("CapInh = %s, want none (CVE-2022-24769)", got)
		}
		// The default audits the root (issue 13): writable, recorded.
		if f := facts(r.Stdout); strings.Join(f["TMP"], "") != "ok" || strings.Join(f["ROOT"], "") != "writable" {
			t.Errorf("writable (audited) root and /tmp: %v", f)
		}
		// The denials happen in hardened-runc before runc runs; they are
		// independent, so they run concurrently to keep the test short.
		cases := []struct {
			args []string
			want []string
		}{
			{[]string{"-v", sock + ":/var/run/docker.sock"}, []string{"mounts.deny_sources", sock + " → /var/run/docker.sock"}},
			{[]string{"--sysctl", "kernel.msgmax=65536"}, []string{"sysctls.allow", "kernel.msgmax"}},
			{[]string{"--device", "/dev/kmsg"}, []string{"devices.allow", "/dev/kmsg"}},
			{[]string{"--privileged"}, []string{"capabilities.allow_privileged"}},
			{[]string{"--cap-add", "SYS_ADMIN"}, []string{"capabilities.allow", "CAP_SYS_ADMIN"}},
		}
		results := make([]Result, len(cases))
		var wg sync.WaitGroup
		for i, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := append(append([]string{"run", "--rm", "--runtime", rt}, tc.args...), Image, "echo", "CONTAINER-RAN")
				results[i] = d.Run(t, args...)
			}()
		}
		wg.Wait()
		for i, tc := range cases {
			r := results[i]
			msg := r.Stdout + r.Stderr
			if r.Code == 0 || strings.Contains(r.Stdout, "CONTAINER-RAN") {
				t.Errorf("%v: not denied: %s", tc.args, r)
				continue
			}
			for _, w := range append([]string{"hardened-runc"}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("%v: docker's error does not name %q: %s", tc.args, w, msg)
				}
			}
		}
	})
}
