package forensics

import (
	"slices"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
)

func shim(ns string) *Caller {
	return &Caller{PID: 300, Exe: "/usr/bin/containerd-shim-runc-v2",
		Cmdline: []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", ns, "-id", "abc", "-address", "/run/containerd/containerd.sock"}}
}

const (
	criBundle    = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc"
	dockerBundle = "/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/abc"
)

func TestIdentify(t *testing.T) {
	conmon := &Caller{Exe: "/usr/libexec/crio/conmon", ManagerExes: []string{"100:/usr/bin/crio"}}
	for _, tc := range []struct {
		name   string
		caller *Caller
		bundle string
		want   string
	}{
		{"containerd CRI", shim("k8s.io"), criBundle, provenance.ContainerdCRI},
		{"docker", shim("moby"), dockerBundle, provenance.Docker},
		{"ctr", shim("default"), "/run/containerd/io.containerd.runtime.v2.task/default/abc", provenance.Containerd},
		{"shim upgraded under its feet", &Caller{Exe: "/usr/bin/containerd-shim-runc-v2 (deleted)", Cmdline: []string{"x", "--namespace=k8s.io"}}, criBundle, provenance.ContainerdCRI},
		// delete, kill: no bundle, the shim's namespace decides.
		{"docker delete", shim("moby"), "", provenance.Docker},
		// The shim's namespace and the bundle's disagree: trust nothing.
		{"namespace mismatch", shim("k8s.io"), dockerBundle, provenance.Containerd},
		{"cri-o", conmon, "/run/containers/storage/overlay-containers/abc/userdata", provenance.CRIO},
		{"cri-o, conmon reparented to init", &Caller{Exe: "/usr/bin/conmon", Cmdline: []string{"/usr/bin/conmon", "-b", "/run/containers/storage/overlay-containers/abc/userdata", "--exit-dir", "/var/run/crio/exits", "-r", "/usr/local/bin/hardened-runc"}}, "/b", provenance.CRIO},
		{"podman", &Caller{Exe: "/usr/bin/conmon", Cmdline: []string{"conmon", "--exit-dir", "/run/libpod/exits", "--exit-command", "/usr/bin/podman"}}, "/b", provenance.Podman},
		{"conmon with no engine above", &Caller{Exe: "/usr/bin/conmon"}, "/b", ""},
		// A process named like an engine is not one: the executable decides.
		{"a shell named crio", &Caller{Exe: "/bin/bash", Manager: "crio", ManagerExes: []string{"5:/bin/bash"}}, criBundle, ""},
		{"by hand", &Caller{Exe: "/usr/bin/bash"}, criBundle, ""},
		{"no caller", nil, criBundle, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, evidence := Identify(tc.caller, tc.bundle)
			if got != tc.want || evidence == "" {
				t.Fatalf("Identify = %q (%s), want %q", got, evidence, tc.want)
			}
		})
	}
}

// TestEngineFromForgedKeys is bypass #11: annotations a pod or a user can
// set never name the pod a container is listed under.
func TestEngineFromForgedKeys(t *testing.T) {
	cri := map[string]string{
		"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-namespace": "prod",
		"io.kubernetes.cri.sandbox-name": "web", "io.kubernetes.cri.container-name": "app",
		"io.kubernetes.cri.image-name": "nginx@sha256:aa",
		// Passed through by pod_annotations: containerd does not write it.
		"io.kubernetes.pod.namespace": "kube-system",
	}
	crio := map[string]string{
		"io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.name": "web", "io.kubernetes.container.name": "app",
		// A pod annotation next to CRI-O's own keys.
		"io.kubernetes.cri.sandbox-namespace": "kube-system", "io.kubernetes.cri.sandbox-name": "coredns",
		"io.kubernetes.cri-o.ImageName": "quay.io/x:1",
	}
	conmon := &Caller{Exe: "/usr/bin/conmon", ManagerExes: []string{"100:/usr/bin/crio"}}
	for _, tc := range []struct {
		name         string
		ann          map[string]string
		bundle       string
		caller       *Caller
		pod, image   string
		claimed      string
		trustedCount int
	}{
		{"containerd CRI", cri, criBundle, shim("k8s.io"), "prod/web", "nginx@sha256:aa", "io.kubernetes.pod.namespace", 5},
		{"CRI-O with forged containerd keys", crio, "/b", conmon, "prod/web", "", "io.kubernetes.cri.sandbox-namespace", 3},
		{"docker --annotation", cri, dockerBundle, shim("moby"), "", "", "io.kubernetes.cri.sandbox-namespace", 0},
		{"unknown caller", crio, "/b", &Caller{Exe: "/bin/sh"}, "", "", "io.kubernetes.pod.namespace", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := EngineFrom(tc.ann, tc.bundle, tc.caller)
			r := &Record{Engine: e}
			if r.Pod() != tc.pod || r.ImageName() != tc.image || len(e.Trusted) != tc.trustedCount || e.Claimed[tc.claimed] != tc.ann[tc.claimed] {
				t.Fatalf("pod %q image %q trusted %v claimed %v, want pod %q image %q, %d trusted, %s claimed",
					r.Pod(), r.ImageName(), e.Trusted, e.Claimed, tc.pod, tc.image, tc.trustedCount, tc.claimed)
			}
			for _, k := range e.Trusted {
				if _, claimed := e.Claimed[k]; claimed || !e.TrustedSet()[k] {
					t.Fatalf("key %s both trusted and claimed", k)
				}
			}
		})
	}
	if e := EngineFrom(cri, criBundle, shim("k8s.io")); e.ImageDigest != "sha256:aa" || !slices.Contains(e.Trusted, "io.kubernetes.cri.image-name") {
		t.Fatalf("digest %+v", e)
	}
	if EngineFrom(nil, "/b", nil) != nil {
		t.Fatal("nothing known: want nil")
	}
	// A record written before the engine was decided from its process
	// names no pod, whatever its annotations said.
	old := &Record{Engine: &Engine{Name: "containerd-cri", PodNamespace: "prod", PodName: "web"}}
	if old.Pod() != "" {
		t.Fatalf("legacy record listed under %q", old.Pod())
	}
}

func TestEngineNamespaceWithoutBundle(t *testing.T) {
	if e := EngineFrom(nil, "", shim("moby")); e.Name != provenance.Docker || e.Namespace != "moby" {
		t.Fatalf("%+v", e)
	}
}
