// Package provenance says which OCI annotations a container engine writes
// itself, after everything its user or pod author may supply, so that their
// values can be believed; any other annotation may be forged. Which engine
// made a container is decided by forensics.Identify from the engine's own
// process, never from annotations. Selection rules (policy) and the
// forensic record (forensics) both trust only these keys.
package provenance

import "slices"

// Engines, as forensics.Identify names them.
const (
	// Docker: dockerd through containerd's runc shim, namespace "moby".
	// Docker ≥ 24 lets its user set any annotation (--annotation).
	Docker = "docker"
	// Containerd: a plain containerd client (ctr, nerdctl): its user
	// sets any annotation.
	Containerd = "containerd"
	// ContainerdCRI: containerd's CRI plugin (Kubernetes), namespace
	// "k8s.io".
	ContainerdCRI = "containerd-cri"
	// CRIO: CRI-O, through conmon.
	CRIO = "cri-o"
	// Podman, through conmon: its user sets any annotation.
	Podman = "podman"
)

// Keys containerd's CRI plugin writes after the pod and container
// annotations it passes through (pod_annotations, container_annotations),
// so a pod cannot override them (containerd 1.6:
// pkg/cri/server/container_create_linux.go and sandbox_run_linux.go apply
// the pass-through annotations first).
const (
	CRIContainerType    = "io.kubernetes.cri.container-type"
	CRISandboxID        = "io.kubernetes.cri.sandbox-id"
	CRISandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	CRISandboxName      = "io.kubernetes.cri.sandbox-name"
	// Only on containers (container-type "container").
	CRIContainerName = "io.kubernetes.cri.container-name"
	CRIImageName     = "io.kubernetes.cri.image-name"
	// Only on the pod sandbox (container-type "sandbox").
	CRISandboxLogDir = "io.kubernetes.cri.sandbox-log-directory"
)

// Keys CRI-O writes last: the kubelet's labels, which the kubelet sets after
// copying the pod's own labels, and which CRI-O adds to the spec after the
// pod's annotations. CRI-O's own io.kubernetes.cri-o.* keys are not among
// them: on the sandbox spec the pod's annotations are added after them and
// replace them.
const (
	PodNamespace  = "io.kubernetes.pod.namespace"
	PodName       = "io.kubernetes.pod.name"
	PodUID        = "io.kubernetes.pod.uid"
	ContainerName = "io.kubernetes.container.name"
)

// TrustedKeys returns the annotation keys that engine wrote itself in a
// spec whose annotations are ann: present, and out of reach of the user
// and the pod author. An engine whose user sets annotations freely (Docker,
// plain containerd, Podman) or an unknown one vouches for none.
func TrustedKeys(engine string, ann map[string]string) map[string]bool {
	var keys []string
	switch engine {
	case ContainerdCRI:
		keys = []string{CRIContainerType, CRISandboxID, CRISandboxNamespace, CRISandboxName}
		switch ann[CRIContainerType] {
		case "container":
			keys = append(keys, CRIContainerName, CRIImageName)
		case "sandbox":
			keys = append(keys, CRISandboxLogDir)
		}
	case CRIO:
		keys = []string{PodNamespace, PodName, PodUID, ContainerName}
	}
	out := map[string]bool{}
	for _, k := range keys {
		if _, ok := ann[k]; ok {
			out[k] = true
		}
	}
	return out
}

// EngineSetKeys lists, sorted, the keys some engine writes itself.
func EngineSetKeys() []string {
	return []string{
		ContainerName, CRIContainerName, CRIContainerType, CRIImageName,
		CRISandboxID, CRISandboxLogDir, CRISandboxName, CRISandboxNamespace,
		PodName, PodNamespace, PodUID,
	}
}

// EngineSet reports whether some engine writes key itself, so that a value
// for it can be trusted when that engine made the container.
func EngineSet(key string) bool { return slices.Contains(EngineSetKeys(), key) }
