package forensics

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
)

// Identity annotations other than the ones provenance trusts: engines set
// them too, but so can a user or a pod author, so the record keeps them as
// claims only.
const (
	annCRISandboxUID     = "io.kubernetes.cri.sandbox-uid"
	annCRIOImageName     = "io.kubernetes.cri-o.ImageName"
	annCRIOImageRef      = "io.kubernetes.cri-o.ImageRef"
	annCRIOContainerType = "io.kubernetes.cri-o.ContainerType"
	annCRIOSandboxID     = "io.kubernetes.cri-o.SandboxID"
	annContainerManager  = "io.container.manager"
	annOCIImageRef       = "org.opencontainers.image.ref.name"
)

// identityKeys are the annotations that name a pod, a container or an image.
func identityKeys() []string {
	return append(provenance.EngineSetKeys(), annCRISandboxUID, annCRIOImageName, annCRIOImageRef,
		annCRIOContainerType, annCRIOSandboxID, annContainerManager, annOCIImageRef)
}

// containerd's shims create bundles in <dir>/<namespace>/<id>, v2 shims in
// the first of these directories, v1 shims in the second.
const (
	containerdTaskDir   = "io.containerd.runtime.v2.task"
	containerdTaskDirV1 = "io.containerd.runtime.v1.linux"
)

// EngineFrom records which engine launched the container and the identity
// it gave it. The engine is decided by Identify from the caller's process;
// the pod and container fields are taken only from the annotations that
// engine writes itself (provenance.TrustedKeys), and every other identity
// annotation present is kept in Claimed, so a forged one never puts a
// container under another pod. It returns nil when nothing is known.
func EngineFrom(ann map[string]string, bundle string, caller *Caller) *Engine {
	name, evidence := Identify(caller, bundle)
	trusted := provenance.TrustedKeys(name, ann)
	val := func(keys ...string) string {
		for _, k := range keys {
			if trusted[k] && ann[k] != "" {
				return ann[k]
			}
		}
		return ""
	}
	ns := containerdNamespace(bundle)
	if ns == "" && caller != nil && isContainerdShim(filepath.Base(strings.TrimSuffix(caller.Exe, " (deleted)"))) {
		ns = flagValue(caller.Cmdline, "namespace")
	}
	e := &Engine{
		Name:          name,
		Evidence:      evidence,
		Namespace:     ns,
		PodNamespace:  val(provenance.CRISandboxNamespace, provenance.PodNamespace),
		PodName:       val(provenance.CRISandboxName, provenance.PodName),
		PodUID:        val(provenance.PodUID),
		SandboxID:     val(provenance.CRISandboxID),
		ContainerName: val(provenance.CRIContainerName, provenance.ContainerName),
		ContainerType: val(provenance.CRIContainerType),
		Image:         val(provenance.CRIImageName),
	}
	if i := strings.Index(e.Image, "@sha256:"); i >= 0 {
		e.ImageDigest = e.Image[i+1:]
	}
	for _, k := range identityKeys() {
		if v, ok := ann[k]; ok {
			if trusted[k] {
				e.Trusted = append(e.Trusted, k)
				continue
			}
			if e.Claimed == nil {
				e.Claimed = map[string]string{}
			}
			e.Claimed[k] = v
		}
	}
	if caller == nil && e.Namespace == "" && e.Claimed == nil {
		return nil
	}
	return e
}

// Identify decides which engine launched the container from facts that
// neither the engine's user nor the container can forge: the real
// executable of hardened-runc's parent (the engine's shim or monitor, read
// from /proc/<ppid>/exe, not its name), the arguments the engine started it
// with, and the bundle directory the engine chose. Annotations never decide
// it. evidence says what was seen, for the record.
func Identify(c *Caller, bundle string) (name, evidence string) {
	if c == nil || c.Exe == "" {
		return "", "parent process unknown"
	}
	exe := strings.TrimSuffix(c.Exe, " (deleted)")
	switch base := filepath.Base(exe); {
	case isContainerdShim(base):
		ns := flagValue(c.Cmdline, "namespace")
		evidence = fmt.Sprintf("parent %s -namespace %s", exe, ns)
		if bns := containerdNamespace(bundle); bns != "" && bns != ns {
			// The shim creates bundles under its own namespace; a
			// mismatch means the facts disagree: trust nothing. Verbs
			// without a bundle (delete, kill) have only the shim's word.
			return provenance.Containerd, evidence + fmt.Sprintf(", bundle in namespace %q", bns)
		}
		switch ns {
		case "k8s.io":
			return provenance.ContainerdCRI, evidence
		case "moby":
			return provenance.Docker, evidence
		}
		return provenance.Containerd, evidence
	case base == "conmon":
		return identifyConmon(c, exe)
	case base == "dockerd":
		return provenance.Docker, "parent " + exe
	case base == "podman":
		return provenance.Podman, "parent " + exe
	}
	return "", fmt.Sprintf("parent %s: not a container engine", exe)
}

// identifyConmon tells CRI-O's conmon from Podman's. conmon forks away
// from its starter, so crio is above it only where crio reaps orphans; the
// arguments tell them apart too: Podman always gives conmon an exit command
// (itself, to clean up), CRI-O never does and gives it its exits directory.
// Only root can start conmon with arguments of its choosing.
func identifyConmon(c *Caller, exe string) (name, evidence string) {
	exitCommand, exitDir := flagValue(c.Cmdline, "exit-command"), flagValue(c.Cmdline, "exit-dir")
	switch {
	case c.ancestorExe("crio") != "":
		return provenance.CRIO, fmt.Sprintf("parent %s under %s", exe, c.ancestorExe("crio"))
	case c.ancestorExe("podman") != "" || filepath.Base(exitCommand) == "podman":
		return provenance.Podman, fmt.Sprintf("parent %s run by podman", exe)
	case exitCommand == "" && exitDir != "":
		return provenance.CRIO, fmt.Sprintf("parent %s --exit-dir %s, no exit command", exe, exitDir)
	}
	return "", fmt.Sprintf("parent %s, neither CRI-O's nor Podman's", exe)
}

// isContainerdShim reports whether base is one of containerd's runc shims
// (v2, v1, and the v1 shim Docker shipped as docker-containerd-shim).
func isContainerdShim(base string) bool {
	switch base {
	case "containerd-shim-runc-v2", "containerd-shim-runc-v1", "containerd-shim", "docker-containerd-shim":
		return true
	}
	return false
}

// flagValue returns the value of -name or --name (as "-name v" or
// "-name=v") in a command line.
func flagValue(argv []string, name string) string {
	for i, a := range argv {
		flag := strings.TrimLeft(a, "-")
		if flag == a {
			continue
		}
		if flag == name && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(flag, name+"="); ok {
			return v
		}
	}
	return ""
}

// containerdNamespace returns <ns> of .../io.containerd.runtime.v2.task/<ns>/<id>.
func containerdNamespace(bundle string) string {
	dir := filepath.Dir(filepath.Clean(bundle))
	if tasks := filepath.Base(filepath.Dir(dir)); tasks != containerdTaskDir && tasks != containerdTaskDirV1 {
		return ""
	}
	return filepath.Base(dir)
}

// TrustedSet returns the annotation keys the engine wrote itself, for
// selection rules (policy.Target.Trusted).
func (e *Engine) TrustedSet() map[string]bool {
	out := map[string]bool{}
	if e != nil {
		for _, k := range e.Trusted {
			out[k] = true
		}
	}
	return out
}
