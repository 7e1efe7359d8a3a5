//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The three critest specs that fail over runc 1.1 only, under the default
// profile, on containerd 1.6 and 2.x: "should support seccomp localhost
// profile on the container", "runtime should support ReadonlyPaths" and
// "runtime should support dropping capability". Each starts a pod
// container and checks its confinement with ExecSync; the spec asserts
// only that the exec failed and then reads its output, so a refused exec
// shows as empty output, never as the refusal. The containerd log of the
// run holds one refusal per spec ("runc 1.1.5 cannot exec into this
// container").
//
// The confinement itself holds on runc 1.1: the same check as the pod
// container's own process gives the spec's answer over every runc. The
// exec does not, and not because of hardened-runc: runc 1.1, handed the
// container hardened-runc created, fails the same exec itself (it joins
// the container's user namespace first, and then may not join the pod's
// network namespace, which the host's user namespace owns), where runc
// 1.5 runs it.

// criExecSpec is one critest spec as a plain bundle in a pod.
type criExecSpec struct {
	name string
	mod  func(*specs.Spec) // the container's security context
	argv []string          // what the spec runs through ExecSync
	want string            // what its stderr must contain
}

var criRunc11ExecSpecs = []criExecSpec{
	{
		// critest: "should support seccomp localhost profile on the
		// container" (block-chmod.json; containerd copies it into the
		// spec as is).
		name: "seccomp-localhost",
		mod: func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"chmod", "fchmodat"}, Action: specs.ActErrno}},
			}
		},
		argv: []string{"chmod", "400", "/"},
		want: "Operation not permitted",
	},
	{
		// critest: "runtime should support ReadonlyPaths" (["/tmp"]).
		name: "readonly-paths",
		mod:  func(s *specs.Spec) { s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/tmp") },
		argv: []string{"touch", "/tmp/test"},
		want: "touch: /tmp/test: Read-only file system",
	},
	{
		// critest: "runtime should support dropping capability" (NET_RAW).
		name: "drop-capability",
		mod: func(s *specs.Spec) {
			c := s.Process.Capabilities
			for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Inheritable, &c.Ambient} {
				*set = withoutCap(*set, "CAP_NET_RAW")
			}
		},
		argv: []string{"ping", "-c", "1", "127.0.0.1"},
		want: "permission denied",
	},
}

func withoutCap(list []string, drop string) []string {
	var out []string
	for _, v := range list {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

func TestCRIRunc11ExecSpecs(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		if l.Name == "crun" {
			t.Skip("SKIP: these are the runc 1.1-only critest failures; exec into a pod container over crun is not part of them")
		}
		h := newHarness(t)
		pause := podSandbox(t, h, l)
		pod := joinPod(pause, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace)
		for _, c := range criRunc11ExecSpecs {
			t.Run(c.name, func(t *testing.T) {
				mod := func(s *specs.Spec) { pod(s); c.mod(s) }
				// The confinement, as the pod container's own process:
				// the spec's answer over runc 1.1 and 1.5.
				r := h.run(t, l, "default", mod, c.argv...)
				if r.Code == 0 || !strings.Contains(r.Stderr+r.Stdout, c.want) {
					t.Errorf("%v as the pod container's process: %s, want it refused with %q", c.argv, r, c.want)
				}

				id, _ := createSleeper(t, h, l, mod)
				if r := h.hardenedRunc(t, l, "--root", h.StateRoot, "start", id); r.Code != 0 {
					t.Fatalf("start: %s", r)
				}
				viaHR := h.hardenedRunc(t, l, append([]string{"--root", h.StateRoot, "exec", id}, c.argv...)...)
				// The same exec straight to the lower runc, on the container
				// hardened-runc created: what the lower runtime itself can do.
				direct := runCmd(t, time.Minute, nil, nil, l.Path, append([]string{"--root", h.StateRoot, "exec", id}, c.argv...)...)
				if l.Name == "runc-1.1" {
					if viaHR.Code == 0 || !strings.Contains(viaHR.Stderr, "cannot exec into this container") {
						t.Errorf("runc 1.1: exec through hardened-runc: %s, want the limitation named", viaHR)
					}
					if direct.Code == 0 || !strings.Contains(direct.Stderr, "error executing setns process") {
						t.Errorf("runc 1.1 alone: exec into the pod container: %s, want runc's own setns failure (the limitation is runc 1.1's)", direct)
					}
					t.Logf("runc 1.1 alone, exec %v: exit %d: %s", c.argv, direct.Code, strings.TrimSpace(direct.Stderr))
					return
				}
				for way, r := range map[string]Result{"through hardened-runc": viaHR, "straight to runc": direct} {
					if r.Code == 0 || !strings.Contains(r.Stderr+r.Stdout, c.want) {
						t.Errorf("exec %v %s: %s, want it refused with %q", c.argv, way, r, c.want)
					}
				}
			})
		}
	})
}
