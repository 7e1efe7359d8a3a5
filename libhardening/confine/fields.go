package confine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// A class says how the pipeline decides one field of the OCI spec.
type class uint8

const (
	// managed: a named control of the pipeline reads the field and
	// rewrites or denies it.
	managed class = iota + 1
	// harmless: passed as given; it only shapes the container itself
	// (its own program, limits of its own cgroup, its own hostname).
	harmless
	// ignored: runc does not act on it on Linux (other platforms' sections);
	// it covers everything below it.
	ignored
	// denied: the launch is denied when the field is present, unless
	// spec.allow_fields lists it; it covers everything below it.
	denied
)

// fieldRule classifies one JSON path of the spec.
type fieldRule struct {
	class class
	// why names the control for managed fields, and says what the field
	// does for the others (the denial's reason).
	why string
}

func by(control string) fieldRule { return fieldRule{managed, control} }
func safe(why string) fieldRule   { return fieldRule{harmless, why} }
func refuse(why string) fieldRule { return fieldRule{denied, why} }

// fieldTable is the classification of every field of runtime-spec's Spec
// that runc 1.1 and 1.5 act on, by JSON path ("[]" stands for every element
// of an array or value of a map). TestFieldTableCoversSpec walks the Go types
// by reflection and fails on a path that is neither here nor below an
// ignored or denied entry, so a runtime-spec upgrade cannot add a field the
// policy never decided.
var fieldTable = sync.OnceValue(func() map[string]fieldRule {
	const (
		ownCgroup = "a limit of the container's own cgroup"
		ownProc   = "the container's own process"
		otherOS   = "a section for another platform; runc on Linux ignores it"
	)
	t := map[string]fieldRule{
		"ociVersion": safe("the spec version"),
		"hostname":   safe("the container's own UTS namespace"),
		"domainname": safe("the container's own UTS namespace"),
		// annotations are metadata; the keys runc itself acts on are
		// classified by riskyAnnotation.
		"annotations": safe("metadata; runc's own keys are checked separately"),

		"process.terminal":                 safe(ownProc),
		"process.consoleSize.height":       safe(ownProc),
		"process.consoleSize.width":        safe(ownProc),
		"process.user.uid":                 by("process, userns"),
		"process.user.gid":                 by("userns"),
		"process.user.umask":               safe(ownProc),
		"process.user.additionalGids":      by("userns"),
		"process.user.username":            {ignored, otherOS},
		"process.args":                     safe(ownProc),
		"process.commandLine":              {ignored, otherOS},
		"process.env":                      safe(ownProc),
		"process.cwd":                      by("process"),
		"process.capabilities.bounding":    by("capabilities"),
		"process.capabilities.effective":   by("capabilities"),
		"process.capabilities.inheritable": by("capabilities"),
		"process.capabilities.permitted":   by("capabilities"),
		"process.capabilities.ambient":     by("capabilities"),
		"process.rlimits[].type":           by("process"),
		"process.rlimits[].hard":           by("process"),
		"process.rlimits[].soft":           by("process"),
		"process.noNewPrivileges":          by("no-new-privileges"),
		"process.apparmorProfile":          by("apparmor"),
		"process.oomScoreAdj":              by("process"),
		"process.scheduler":                refuse("sets a real-time or deadline scheduling policy, which can starve the host's CPUs"),
		"process.selinuxLabel":             by("selinux"),
		"process.ioPriority":               refuse("sets the I/O scheduling class (real-time I/O can starve the host's disks)"),
		"process.execCPUAffinity.initial":  safe("CPU affinity of exec'd processes, within the container's cpuset"),
		"process.execCPUAffinity.final":    safe("CPU affinity of exec'd processes, within the container's cpuset"),

		"root.path":     by("rootfs, userns"),
		"root.readonly": by("rootfs"),

		"mounts[].destination":               by("mounts"),
		"mounts[].type":                      by("mounts"),
		"mounts[].source":                    by("mounts"),
		"mounts[].options":                   by("mounts"),
		"mounts[].uidMappings[].containerID": by("userns"),
		"mounts[].uidMappings[].hostID":      by("userns"),
		"mounts[].uidMappings[].size":        by("userns"),
		"mounts[].gidMappings[].containerID": by("userns"),
		"mounts[].gidMappings[].hostID":      by("userns"),
		"mounts[].gidMappings[].size":        by("userns"),

		"linux.uidMappings[].containerID": by("userns"),
		"linux.uidMappings[].hostID":      by("userns"),
		"linux.uidMappings[].size":        by("userns"),
		"linux.gidMappings[].containerID": by("userns"),
		"linux.gidMappings[].hostID":      by("userns"),
		"linux.gidMappings[].size":        by("userns"),
		"linux.sysctl":                    by("sysctls"),
		"linux.cgroupsPath":               by("cgroups"),
		"linux.namespaces[].type":         by("namespaces"),
		"linux.namespaces[].path":         by("namespaces, userns"),
		"linux.devices[].path":            by("devices"),
		"linux.devices[].type":            by("devices"),
		"linux.devices[].major":           by("devices"),
		"linux.devices[].minor":           by("devices"),
		"linux.devices[].fileMode":        by("devices"),
		"linux.devices[].uid":             by("devices"),
		"linux.devices[].gid":             by("devices"),
		"linux.netDevices":                refuse("moves a network interface of the host into the container"),
		"linux.rootfsPropagation":         by("mounts"),
		"linux.maskedPaths":               by("paths"),
		"linux.readonlyPaths":             by("paths"),
		"linux.mountLabel":                by("selinux"),
		"linux.intelRdt":                  refuse("assigns the container to a host resctrl group (Intel RDT), which may be shared with the host"),
		"linux.memoryPolicy.mode":         safe("NUMA placement of the container's own memory"),
		"linux.memoryPolicy.nodes":        safe("NUMA placement of the container's own memory"),
		"linux.memoryPolicy.flags":        safe("NUMA placement of the container's own memory"),
		"linux.personality.domain":        safe("execution domain of the container's own processes"),
		"linux.personality.flags":         safe("execution domain of the container's own processes"),
		"linux.timeOffsets[].secs":        safe("clock offsets of the container's own time namespace"),
		"linux.timeOffsets[].nanosecs":    safe("clock offsets of the container's own time namespace"),

		"linux.resources.devices[].allow":  by("devices"),
		"linux.resources.devices[].type":   by("devices"),
		"linux.resources.devices[].major":  by("devices"),
		"linux.resources.devices[].minor":  by("devices"),
		"linux.resources.devices[].access": by("devices"),
		"linux.resources.memory.limit":     by("cgroups"),
		"linux.resources.memory.swap":      by("cgroups"),
		"linux.resources.pids.limit":       by("cgroups"),
		"linux.resources.cpu.shares":       by("cgroups"),
		"linux.resources.cpu.quota":        by("cgroups"),
		"linux.resources.cpu.period":       by("cgroups"),
		"linux.resources.blockIO.weight":   by("cgroups"),
		"linux.resources.unified":          by("cgroups"),

		"linux.seccomp.defaultAction":              by("seccomp"),
		"linux.seccomp.defaultErrnoRet":            by("seccomp"),
		"linux.seccomp.architectures":              by("seccomp"),
		"linux.seccomp.flags":                      by("seccomp"),
		"linux.seccomp.listenerPath":               by("seccomp"),
		"linux.seccomp.listenerMetadata":           by("seccomp"),
		"linux.seccomp.syscalls[].names":           by("seccomp"),
		"linux.seccomp.syscalls[].action":          by("seccomp"),
		"linux.seccomp.syscalls[].errnoRet":        by("seccomp"),
		"linux.seccomp.syscalls[].args[].index":    by("seccomp"),
		"linux.seccomp.syscalls[].args[].value":    by("seccomp"),
		"linux.seccomp.syscalls[].args[].valueTwo": by("seccomp"),
		"linux.seccomp.syscalls[].args[].op":       by("seccomp"),

		"vm":      refuse("configures a virtual machine (hypervisor, kernel, image paths on the host) that runc ignores but a VM runtime below it would start"),
		"solaris": {ignored, otherOS},
		"windows": {ignored, otherOS},
		"zos":     {ignored, otherOS},
		"freebsd": {ignored, otherOS},
	}
	for _, k := range []string{"reservation", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"} {
		t["linux.resources.memory."+k] = safe(ownCgroup)
	}
	for _, k := range []string{"burst", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"} {
		t["linux.resources.cpu."+k] = safe(ownCgroup)
	}
	t["linux.resources.blockIO.leafWeight"] = safe(ownCgroup)
	for _, k := range []string{"weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"} {
		t["linux.resources.blockIO."+k+"[].major"] = safe(ownCgroup)
		t["linux.resources.blockIO."+k+"[].minor"] = safe(ownCgroup)
	}
	for _, k := range []string{"weight", "leafWeight"} {
		t["linux.resources.blockIO.weightDevice[]."+k] = safe(ownCgroup)
	}
	for _, k := range []string{"throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"} {
		t["linux.resources.blockIO."+k+"[].rate"] = safe(ownCgroup)
	}
	for _, k := range []string{"hugepageLimits[].pageSize", "hugepageLimits[].limit", "network.classID",
		"network.priorities[].name", "network.priorities[].priority", "rdma[].hcaHandles", "rdma[].hcaObjects"} {
		t["linux.resources."+k] = safe(ownCgroup)
	}
	for _, kind := range hookKinds {
		for _, k := range []string{"path", "args", "env", "timeout"} {
			t["hooks."+kind+"[]."+k] = by("hooks")
		}
	}
	return t
})

// hookKinds are the hook arrays of the spec, in the order runc runs them.
var hookKinds = []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// unknownDenied are the top-level sections under which a key the vendored
// runtime-spec does not know is denied: a newer runc may act on it. Unknown
// keys elsewhere (top level, other platforms) are kept.
var unknownDenied = []string{"process", "root", "mounts", "hooks", "linux"}

// FieldsModifier is the classification of the spec's fields put to work: it
// denies a launch whose spec sets a field classified as denied (and not
// allowed by spec.allow_fields), a key the vendored runtime-spec does not
// know under process, root, mounts, hooks or linux, or an annotation runc
// itself acts on. It changes nothing; it runs first, on the spec as the
// engine wrote it.
type FieldsModifier struct{ p *policy.Profile }

// Fields returns the "fields" control of profile p.
func Fields(p *policy.Profile) *FieldsModifier { return &FieldsModifier{p: p} }

// Name implements modifier.Modifier.
func (*FieldsModifier) Name() string { return "fields" }

// Modify implements modifier.Modifier.
func (m *FieldsModifier) Modify(ctx *modifier.Context, s *specs.Spec, _ *modifier.Report) error {
	if err := checkUnknown(ctx, m.p, ctx.UnknownFields); err != nil {
		return err
	}
	if err := checkFields(ctx, m.p, reflect.ValueOf(s).Elem(), ""); err != nil {
		return err
	}
	return checkAnnotations(ctx, m.p, s.Annotations)
}

// ModifyProcess implements modifier.ProcessModifier: an exec'd process
// gets the same decisions for the process fields (and process.json keys).
func (m *FieldsModifier) ModifyProcess(ctx *modifier.Context, _ *specs.Spec, proc *specs.Process, _ *modifier.Report) error {
	if err := checkUnknown(ctx, m.p, ctx.UnknownFields); err != nil {
		return err
	}
	return checkFields(ctx, m.p, reflect.ValueOf(proc).Elem(), "process")
}

// CheckUnknownFields judges the unknown keys of a document read outside a
// pipeline run (the resources JSON of `runc update --resources`) the way the
// fields control judges config.json's.
func CheckUnknownFields(p *policy.Profile, unknown []string) error {
	if p == nil {
		return fmt.Errorf("check unknown fields: no profile")
	}
	ctx := &modifier.Context{Verb: "update", ProfileName: p.Name}
	return as(Fields(p).Name(), checkUnknown(ctx, p, unknown))
}

// checkFields walks the set fields of v (at JSON path path) and denies the
// first one classified as denied that the profile does not allow, or that
// no entry classifies (fail closed: cannot happen while the table test
// passes).
func checkFields(ctx *modifier.Context, p *policy.Profile, v reflect.Value, path string) error {
	table := fieldTable()
	var walk func(v reflect.Value, path string) error
	walk = func(v reflect.Value, path string) error {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.IsZero() {
			return nil
		}
		if rule, ok := table[path]; ok {
			switch rule.class {
			case denied:
				if allowedField(p, path) {
					return nil
				}
				return deny("spec.allow_fields", fmt.Sprintf("%s is denied by default: it %s", path, rule.why),
					fix(ctx, "add %q to spec.allow_fields", path), "")
			case ignored:
				return nil
			}
			if isLeaf(v.Type()) {
				return nil
			}
		}
		switch {
		case isLeaf(v.Type()):
			if allowedField(p, path) {
				return nil
			}
			return deny("spec.unknown_fields", fmt.Sprintf("field %s is not classified by this build of hardened-runc", path),
				fix(ctx, "add %q to spec.allow_fields", path), "")
		case v.Kind() == reflect.Struct:
			for i, name := range jsonFields(v.Type()) {
				if name == "" {
					continue
				}
				if err := walk(v.Field(i), joinPath(path, name)); err != nil {
					return err
				}
			}
		case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
			for i := range v.Len() {
				if err := walk(v.Index(i), path+"[]"); err != nil {
					return err
				}
			}
		case v.Kind() == reflect.Map:
			for _, k := range v.MapKeys() {
				if err := walk(v.MapIndex(k), path+"[]"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(v, path)
}

// checkUnknown denies keys the vendored runtime-spec does not decode under
// the sections runc acts on.
func checkUnknown(ctx *modifier.Context, p *policy.Profile, unknown []string) error {
	var bad []string
	for _, f := range unknown {
		top := f
		if i := strings.IndexAny(f, ".["); i >= 0 {
			top = f[:i]
		}
		if slices.Contains(unknownDenied, top) && !allowedField(p, f) {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return deny("spec.unknown_fields",
		fmt.Sprintf("unknown field %s in the spec (not in the OCI runtime-spec this build knows; a newer runc may act on it)", strings.Join(bad, ", ")),
		fix(ctx, "add %q to spec.allow_fields", bad[0]), "")
}

// riskyAnnotation says why runc acting on annotation key k can weaken the
// container or reach the host, or "" for ordinary metadata.
func riskyAnnotation(k string) string {
	switch {
	case k == "org.criu.config":
		return "makes CRIU (host root, on checkpoint/restore) read a configuration file named by the caller"
	case k == "bundle":
		return "shadows the bundle path runc records, which hooks and hardened-runc's exec read back"
	case strings.HasPrefix(k, "org.systemd.property."):
		if slices.Contains(engineUnitProperties, strings.TrimPrefix(k, "org.systemd.property.")) {
			return ""
		}
		return "sets a systemd property of the container's unit (e.g. lifting its limits) under the systemd cgroup driver"
	}
	return ""
}

// engineUnitProperties are the systemd properties engines set on the
// container's scope themselves (Podman: stop signal and timeout; CRI-O: the
// pod's grace period, garbage collection and ordering after crio.service).
// They change when and how systemd stops the unit, not its limits or what
// it may reach.
var engineUnitProperties = []string{"TimeoutStopUSec", "TimeoutStopSec", "KillSignal", "CollectMode", "DefaultDependencies", "After"}

func checkAnnotations(ctx *modifier.Context, p *policy.Profile, ann map[string]string) error {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		why := riskyAnnotation(k)
		if why == "" || allowedField(p, "annotations."+k) {
			continue
		}
		return deny("spec.allow_fields", fmt.Sprintf("annotation %q is acted on by runc: it %s", k, why),
			fix(ctx, "add %q to spec.allow_fields", "annotations."+k), "")
	}
	return nil
}

// allowedField reports whether the profile's spec.allow_fields lists path or
// one of its ancestors ("linux.intelRdt" allows "linux.intelRdt.closID"); an
// entry ending in ".*" allows every path with that prefix.
func allowedField(p *policy.Profile, path string) bool {
	for _, a := range p.Spec.AllowFields {
		switch {
		case a == path, strings.HasPrefix(path, a+"."), strings.HasPrefix(path, a+"[]"):
			return true
		case strings.HasSuffix(a, ".*") && strings.HasPrefix(path, strings.TrimSuffix(a, "*")):
			return true
		}
	}
	return false
}

// isLeaf reports whether the table classifies values of t as a whole: a
// scalar, a list or map of scalars, or a type that encodes itself.
func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	m := reflect.TypeFor[json.Marshaler]()
	if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Slice, reflect.Array, reflect.Map:
		return !isContainer(t.Elem())
	}
	return true
}

// isContainer reports whether t (pointers followed) is a struct, slice or map.
func isContainer(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// jsonFields returns the JSON key of each field of struct type t ("" for a
// field encoding/json skips, embedded for an anonymous struct whose keys
// encoding/json promotes, as LinuxBlockIODevice's into LinuxWeightDevice).
func jsonFields(t reflect.Type) []string {
	out := make([]string, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && name == f.Name {
			name = embedded
		}
		out[i] = name
	}
	return out
}

// embedded marks an anonymous struct field whose keys are promoted into the
// enclosing object.
const embedded = "\x00embedded"

func joinPath(path, name string) string {
	switch {
	case name == embedded:
		return path
	case path == "":
		return name
	}
	return path + "." + name
}
