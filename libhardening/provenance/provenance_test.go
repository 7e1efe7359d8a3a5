package provenance

import (
	"maps"
	"slices"
	"sort"
	"testing"
)

func TestTrustedKeys(t *testing.T) {
	criContainer := map[string]string{
		CRIContainerType: "container", CRISandboxID: "s", CRISandboxNamespace: "prod", CRISandboxName: "web",
		CRIContainerName: "app", CRIImageName: "nginx", "io.kubernetes.cri.sandbox-uid": "u",
		PodNamespace: "kube-system", "hardened-runc.io/profile": "x",
	}
	criSandbox := map[string]string{
		CRIContainerType: "sandbox", CRISandboxID: "s", CRISandboxNamespace: "prod", CRISandboxName: "web",
		CRISandboxLogDir: "/var/log/pods/x", CRIImageName: "forged-by-a-pod-annotation",
	}
	crio := map[string]string{
		PodNamespace: "prod", PodName: "web", PodUID: "u", ContainerName: "app",
		CRISandboxNamespace: "kube-system", "io.kubernetes.cri-o.ImageName": "x",
	}
	for _, tc := range []struct {
		name, engine string
		ann          map[string]string
		want         []string
	}{
		// sandbox-uid is not written on containers by containerd 1.6, so a
		// pod annotation passed through could supply it.
		{"containerd CRI container", ContainerdCRI, criContainer,
			[]string{CRIContainerName, CRIContainerType, CRIImageName, CRISandboxID, CRISandboxName, CRISandboxNamespace}},
		// image-name is not written on the pause container: a value there
		// came from a pod annotation.
		{"containerd CRI sandbox", ContainerdCRI, criSandbox,
			[]string{CRIContainerType, CRISandboxID, CRISandboxLogDir, CRISandboxName, CRISandboxNamespace}},
		{"CRI-O: only the kubelet's labels", CRIO, crio, []string{ContainerName, PodName, PodNamespace, PodUID}},
		{"docker: the user sets any annotation", Docker, criContainer, nil},
		{"ctr", Containerd, criContainer, nil},
		{"podman", Podman, crio, nil},
		{"unknown", "", criContainer, nil},
		{"absent keys are not trusted", ContainerdCRI, map[string]string{CRIContainerType: "container"}, []string{CRIContainerType}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(TrustedKeys(tc.engine, tc.ann)))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("trusted %v, want %v", got, tc.want)
			}
			for _, k := range got {
				if !EngineSet(k) {
					t.Errorf("trusted key %s is not in EngineSetKeys", k)
				}
			}
		})
	}
	if !sort.StringsAreSorted(EngineSetKeys()) || EngineSet("hardened-runc.io/profile") || EngineSet("io.kubernetes.cri.sandbox-uid") {
		t.Fatalf("EngineSetKeys: %v", EngineSetKeys())
	}
}
