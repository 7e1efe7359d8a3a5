package userns

import (
	"encoding/json"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// AnnotationOriginal records, in a spec this modifier rewrote, what it
// replaced: the original root path and the sources of bind mounts it swapped
// for idmapped copies. A bundle is often run more than once (plain runc
// users re-run the same config.json after delete); the rewritten paths point
// into the run directory and are gone by then, so the next create puts the
// originals back and starts over with a fresh range.
const AnnotationOriginal = "run.hardened-runc.userns.original"

type original struct {
	Root string `json:"root"`
	// Sources maps a mount destination to the source it had.
	Sources map[string]string `json:"sources,omitempty"`
}

func readOriginal(s *specs.Spec) (original, bool) {
	var o original
	v, ok := s.Annotations[AnnotationOriginal]
	if !ok || json.Unmarshal([]byte(v), &o) != nil || o.Root == "" {
		return o, false
	}
	return o, true
}

func recordOriginal(s *specs.Spec, o original, r *modifier.Report) {
	data, _ := json.Marshal(o)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationOriginal] = string(data)
	r.Set("annotations["+AnnotationOriginal+"]", nil, string(data), ruleMode,
		"remembers the paths replaced by idmapped ones, so the bundle can be run again after delete", control)
}

// rerun handles a spec this modifier already rewrote. It returns done when
// the spec should be left as it is: in explain (the spec is hardened
// already), or while the rewritten root is still mounted (a retried create
// of a live container). Otherwise it restores the original paths and drops
// the old user namespace so Modify allocates afresh.
func rerun(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) (done bool) {
	o, ok := readOriginal(s)
	if !ok {
		return false
	}
	if !hostEffects(ctx) {
		ctx.Note("userns: the spec was rewritten by hardened-runc before (%s); kept as it is", AnnotationOriginal)
		return true
	}
	if s.Root != nil {
		if mounted, _ := mountinfo.Mounted(s.Root.Path); mounted {
			return true
		}
	}
	r.Set("root.path", s.Root.Path, o.Root, ruleMode, "restores the bundle's own root: the idmapped one from an earlier run is gone", control)
	s.Root.Path = o.Root
	for i := range s.Mounts {
		if src, ok := o.Sources[s.Mounts[i].Destination]; ok {
			r.Set("mounts["+s.Mounts[i].Destination+"].source", s.Mounts[i].Source, src, ruleVolumes, "restores the source an earlier run replaced", control)
			s.Mounts[i].Source = src
		}
	}
	if l := s.Linux; l != nil {
		kept := l.Namespaces[:0]
		for _, n := range l.Namespaces {
			if n.Type != specs.UserNamespace {
				kept = append(kept, n)
			}
		}
		l.Namespaces, l.UIDMappings, l.GIDMappings = kept, nil, nil
	}
	delete(s.Annotations, AnnotationOriginal)
	return false
}
