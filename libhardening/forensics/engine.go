package forensics

import (
	"path/filepath"
	"strings"
)

// Annotation keys the engines put into config.json.
const (
	// containerd's CRI plugin.
	annCRIContainerType    = "io.kubernetes.cri.container-type"
	annCRISandboxID        = "io.kubernetes.cri.sandbox-id"
	annCRISandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	annCRISandboxName      = "io.kubernetes.cri.sandbox-name"
	annCRISandboxUID       = "io.kubernetes.cri.sandbox-uid"
	annCRIContainerName    = "io.kubernetes.cri.container-name"
	annCRIImageName        = "io.kubernetes.cri.image-name"
	// CRI-O (and Podman, which shares its annotations).
	annPodNamespace      = "io.kubernetes.pod.namespace"
	annPodName           = "io.kubernetes.pod.name"
	annPodUID            = "io.kubernetes.pod.uid"
	annContainerName     = "io.kubernetes.container.name"
	annCRIOImageName     = "io.kubernetes.cri-o.ImageName"
	annCRIOImageRef      = "io.kubernetes.cri-o.ImageRef"
	annCRIOContainerType = "io.kubernetes.cri-o.ContainerType"
	annCRIOSandboxID     = "io.kubernetes.cri-o.SandboxID"
	annContainerManager  = "io.container.manager"
	// OCI image annotations some engines copy into the spec.
	annOCIImageRef = "org.opencontainers.image.ref.name"
)

// containerdTaskDir is where containerd's v2 shims create bundles:
// <dir>/<namespace>/<id>.
const containerdTaskDir = "io.containerd.runtime.v2.task"

// EngineFrom derives the engine's identifiers from the spec's annotations,
// the bundle path and the caller chain. It returns nil when nothing is known.
func EngineFrom(ann map[string]string, bundle string, caller *Caller) *Engine {
	e := &Engine{
		PodNamespace:  first(ann, annCRISandboxNamespace, annPodNamespace),
		PodName:       first(ann, annCRISandboxName, annPodName),
		PodUID:        first(ann, annCRISandboxUID, annPodUID),
		SandboxID:     first(ann, annCRISandboxID, annCRIOSandboxID),
		ContainerName: first(ann, annCRIContainerName, annContainerName),
		ContainerType: first(ann, annCRIContainerType, annCRIOContainerType),
		Image:         first(ann, annCRIImageName, annCRIOImageName, annOCIImageRef),
	}
	if ref := ann[annCRIOImageRef]; strings.Contains(ref, "sha256:") {
		e.ImageDigest = ref[strings.Index(ref, "sha256:"):]
	} else if i := strings.Index(e.Image, "@sha256:"); i >= 0 {
		e.ImageDigest = e.Image[i+1:]
	}
	e.Namespace = containerdNamespace(bundle)
	e.Name = engineName(ann, e, caller)
	if *e == (Engine{}) {
		return nil
	}
	return e
}

// engineName tells which engine launched the container. Docker runs its
// containers in containerd's "moby" namespace; CRI uses "k8s.io".
func engineName(ann map[string]string, e *Engine, caller *Caller) string {
	switch {
	case ann[annContainerManager] == "libpod":
		return "podman"
	case ann[annCRIOImageName] != "" || ann[annCRIOSandboxID] != "":
		return "cri-o"
	case ann[annCRISandboxID] != "" || e.Namespace == "k8s.io":
		return "containerd-cri"
	case e.Namespace == "moby":
		return "docker"
	case e.Namespace != "":
		return "containerd"
	}
	if caller != nil {
		switch {
		case strings.HasPrefix(caller.Manager, "dockerd"):
			return "docker"
		case strings.HasPrefix(caller.Manager, "containerd"):
			return "containerd"
		case caller.Manager == "conmon" || caller.Manager == "crio":
			return "cri-o"
		case caller.Manager == "podman":
			return "podman"
		}
	}
	return ""
}

// containerdNamespace returns <ns> of .../io.containerd.runtime.v2.task/<ns>/<id>.
func containerdNamespace(bundle string) string {
	dir := filepath.Dir(filepath.Clean(bundle))
	if filepath.Base(filepath.Dir(dir)) != containerdTaskDir {
		return ""
	}
	return filepath.Base(dir)
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
