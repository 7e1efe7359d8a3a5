//go:build integration

package integration

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
)

// Docker's default capability set (14 caps) as CapEff.
const dockerDefaultCapEff = "00000000a80425fb"

// TestDockerRun: `docker run` through hardened-runc (as --runtime and as
// Docker's default-runtime) on both lower runtimes, checked from inside.
func TestDockerRun(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		r := d.Run(t, "run", "--rm", "--runtime", d.runtimeFor(l), Image, "cat", "/proc/self/status")
		if r.Code != 0 {
			t.Fatalf("docker run: %s", r)
		}
		assertHardenedStatus(t, r.Stdout)
	})
	t.Run("default-runtime", func(t *testing.T) {
		r := d.Run(t, "run", "--rm", Image, "cat", "/proc/self/status")
		if r.Code != 0 {
			t.Fatalf("docker run: %s", r)
		}
		assertHardenedStatus(t, r.Stdout)
	})
	t.Run("docker-defaults-for-comparison", func(t *testing.T) {
		r := d.Run(t, "run", "--rm", "--runtime", "runc", Image, "cat", "/proc/self/status")
		if r.Code != 0 || statusField(r.Stdout, "CapEff") != dockerDefaultCapEff {
			t.Fatalf("plain runc should show Docker's defaults: %s", r)
		}
	})
}

func assertHardenedStatus(t *testing.T, status string) {
	t.Helper()
	if v := statusField(status, "NoNewPrivs"); v != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", v)
	}
	if v := statusField(status, "CapEff"); v == dockerDefaultCapEff || v == "" {
		t.Errorf("CapEff = %q: Docker's default capabilities were not reduced", v)
	}
	if v := statusField(status, "Seccomp"); v != "2" {
		t.Errorf("Seccomp = %q, want 2 (filter mode)", v)
	}
}

// TestDockerExecUpdateStopRm covers the management verbs Docker sends
// through the runtime: exec (also --privileged), update, stop, rm.
func TestDockerExecUpdateStopRm(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		r := d.Run(t, "run", "-d", "--runtime", d.runtimeFor(l), Image, "sleep", "300")
		if r.Code != 0 {
			t.Fatalf("docker run -d: %s", r)
		}
		id := strings.TrimSpace(r.Stdout)
		defer d.Run(t, "rm", "-f", id)
		init := d.Run(t, "exec", id, "cat", "/proc/1/status")
		exec := d.Run(t, "exec", id, "cat", "/proc/self/status")
		priv := d.Run(t, "exec", "--privileged", id, "cat", "/proc/self/status")
		for _, x := range []Result{init, exec, priv} {
			if x.Code != 0 {
				t.Fatalf("docker exec: %s", x)
			}
		}
		assertHardenedStatus(t, exec.Stdout)
		want := statusField(init.Stdout, "CapBnd")
		if got := statusField(priv.Stdout, "CapEff"); got != statusField(init.Stdout, "CapEff") || statusField(priv.Stdout, "CapBnd") != want {
			t.Errorf("docker exec --privileged got CapEff %s CapBnd %s; the container has CapEff %s CapBnd %s",
				got, statusField(priv.Stdout, "CapBnd"), statusField(init.Stdout, "CapEff"), want)
		}
		// Removing the pids limit the policy requires is refused.
		if u := d.Run(t, "update", "--pids-limit", "-1", id); u.Code == 0 || !strings.Contains(u.Stdout+u.Stderr, "hardened-runc") {
			t.Errorf("docker update --pids-limit -1 should be refused by hardened-runc: %s", u)
		}
		if u := d.Run(t, "update", "--memory", "256m", "--memory-swap", "256m", id); u.Code != 0 {
			t.Errorf("docker update within policy: %s", u)
		}
		if s := d.Run(t, "stop", "-t", "2", id); s.Code != 0 {
			t.Fatalf("docker stop: %s", s)
		}
		if s := d.Run(t, "rm", id); s.Code != 0 {
			t.Fatalf("docker rm: %s", s)
		}
	})
}

// TestDockerDeniedLaunch: a launch the policy denies fails `docker run` with
// hardened-runc's one-line reason, not a generic runtime error.
func TestDockerDeniedLaunch(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		r := d.Run(t, "run", "--rm", "--runtime", d.runtimeFor(l), "--pid", "host", Image, "true")
		if r.Code == 0 {
			t.Fatalf("--pid=host was allowed: %s", r)
		}
		msg := r.Stdout + r.Stderr
		if !strings.Contains(msg, "hardened-runc: container ") || !strings.Contains(msg, "namespaces") {
			t.Errorf("docker did not show hardened-runc's reason: %s", msg)
		}
	})
}

// TestDockerStopRecorded: every runtime call of a docker run and docker
// stop is on the record chain, in order: create and the delete that
// releases the container through the Go side, start, kill and the second
// delete (runc no longer has the container) spooled by the C fast path
// once the first call of that engine recorded the decision, and the chain
// verifies. Inside the container the stop is the SIGTERM its PID 1 traps.
func TestDockerStopRecorded(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		cfg := filepath.Join(d.Dir, "config-"+l.Name+".toml")
		hardenctl := func(args ...string) Result {
			return runCmd(t, time.Minute, []string{"HARDENED_RUNC_CONFIG=" + cfg}, nil, filepath.Join(env.bin, "hardenctl"), args...)
		}
		var id string
		// The first container's calls record the fast path's decision
		// for dockerd's PATH; the second's take it.
		for i := 0; i < 2; i++ {
			r := d.Run(t, "run", "-d", "--runtime", d.runtimeFor(l), Image, "sh", "-c", "trap 'echo got TERM; exit 0' TERM; sleep 300 & wait")
			if r.Code != 0 {
				t.Fatalf("docker run -d: %s", r)
			}
			id = strings.TrimSpace(r.Stdout)
			defer d.Run(t, "rm", "-f", id)
			waitRunning(t, d, id)
			time.Sleep(fastpath.MinAge)
			if s := d.Run(t, "stop", "-t", "10", id); s.Code != 0 {
				t.Fatalf("docker stop: %s", s)
			}
			if logs := d.Run(t, "logs", id); !strings.Contains(logs.Stdout, "got TERM") {
				t.Fatalf("the container's PID 1 did not see the SIGTERM: %s", logs)
			}
		}
		show := hardenctl("forensics", "show", id, "--dir", d.Forensics, "--output", "json")
		var recs []forensicRecord
		if err := json.Unmarshal([]byte(show.Stdout), &recs); err != nil {
			t.Fatalf("forensics show: %v\n%s", err, show)
		}
		var got []string
		for i := len(recs) - 1; i >= 0; i-- { // oldest first
			r := recs[i]
			if r.Verb == "exec" {
				continue // waitRunning's probes
			}
			name := r.Verb
			if slices.Contains(r.Argv, "--force") {
				name += " --force"
			}
			if r.Spool != "" {
				name += " (spooled)"
			}
			got = append(got, name)
		}
		want := []string{"create", "start (spooled)", "kill (spooled)", "delete", "delete --force (spooled)"}
		if !slices.Equal(got, want) {
			t.Errorf("records of the second container %v, want %v", got, want)
		}
		v := hardenctl("forensics", "verify", "--dir", d.Forensics)
		if v.Code != 0 {
			t.Errorf("forensics verify: %s", v)
		}
	})
}
