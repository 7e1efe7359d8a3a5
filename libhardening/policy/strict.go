package policy

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
)

// AtLeastAsStrict reports whether p enforces at least what base does, key
// by key; when it does not, key names the first setting where p is weaker
// or cannot be shown not to be. Keys with a known order (an allow list that
// is a subset, a deny list that is a superset, a lower limit, an on/off
// control that is on) are compared by it; every other key, including keys
// added later, must be equal, so an unknown difference counts as weaker.
func AtLeastAsStrict(p, base *Profile) (ok bool, key string) {
	return stricterStruct(reflect.ValueOf(*p), reflect.ValueOf(*base), "")
}

// strictOrder reports whether a is at least as strict as b for one key.
type strictOrder func(a, b reflect.Value) bool

// strictOrders are the keys whose values are ordered; the rest must match.
func strictOrders() map[string]strictOrder {
	fewer, more := subset, func(a, b reflect.Value) bool { return subset(b, a) }
	on, off := wantBool(true), wantBool(false)
	mac := rank(string(MACRequired), string(MACIfAvailable), string(MACOff))
	control := rank(string(ControlEnforce), string(ControlAudit), string(ControlOff))
	// drop keeps the container running without what it asked for; deny
	// refuses it. Neither grants the request, so both are as strict.
	request := rank(string(RequestDeny), string(RequestDrop))
	return map[string]strictOrder{
		"mode":                            rank(string(ModeEnforce), string(ModeAudit), string(ModeOff)),
		"capabilities.allow":              fewer,
		"capabilities.allow_privileged":   off,
		"privileges.no_new_privileges":    on,
		"rootfs":                          rootfsOrder,
		"seccomp":                         seccompOrder,
		"capabilities.reduce":             control,
		"capabilities.on_request":         request,
		"seccomp.attack_surface":          control,
		"seccomp.strict":                  control,
		"seccomp.on_request":              request,
		"paths.masked":                    more,
		"paths.readonly":                  more,
		"namespaces.required":             more,
		"namespaces.allow_host":           fewer,
		"mounts.deny_sources":             more,
		"mounts.deny_writable_sources":    more,
		"mounts.allow_sources":            fewer,
		"mounts.allow_shared_propagation": off,
		"mounts.engine_sockets":           more,
		"mounts.allow_kernel_fs":          fewer,
		"mounts.allow_types":              fewer,
		"spec.allow_fields":               fewer,
		"hooks.allow":                     fewer,
		"hooks.docker":                    fewer,
		"devices.allow":                   fewer,
		"sysctls.allow":                   fewer,
		"process.require_non_root":        on,
		"process.nofile":                  limit,
		"process.nproc":                   limit,
		"process.min_oom_score_adj":       atLeast,
		"cgroups.pids_limit":              limit,
		"cgroups.pids_max":                limit,
		"cgroups.memory":                  byteLimit,
		"cgroups.memory_max":              byteLimit,
		"cgroups.cpu_quota":               limit,
		"seccomp.allow":                   fewer, // compared in seccompOrder
		"seccomp.deny":                    more,
		"seccomp.compat_arches":           off,
		"userns.mode":                     rank(string(UsernsEnabled), string(UsernsDisabled)),
		"userns.idmap_volumes":            fewer,
		"apparmor.mode":                   mac,
		"selinux.mode":                    mac,
		"forensics.on_failure":            rank("fail-closed", "fail-open"),
		"forensics.redact":                more,
		"forensics.syslog":                on,
	}
}

// rootfsOrder compares the root filesystem as a whole, because its tmpfs
// paths matter only together with readonly: they are the writable places of
// a read-only root, and add nothing writable to a base whose root is
// writable or only audited. So a per-image profile that enforces a
// read-only root with the tmpfs paths the image needs is stricter than
// `default`, whose root is writable.
func rootfsOrder(a, b reflect.Value) bool {
	ar, br := a.Interface().(Rootfs), b.Interface().(Rootfs)
	control := rank(string(ControlEnforce), string(ControlAudit), string(ControlOff))
	if !control(reflect.ValueOf(ar.Readonly), reflect.ValueOf(br.Readonly)) ||
		!control(reflect.ValueOf(ar.TmpfsNoexec), reflect.ValueOf(br.TmpfsNoexec)) {
		return false
	}
	if br.Readonly != ControlEnforce {
		return true
	}
	return subset(reflect.ValueOf(ar.Tmpfs), reflect.ValueOf(br.Tmpfs)) &&
		subset(reflect.ValueOf(br.TmpfsOptions), reflect.ValueOf(ar.TmpfsOptions)) &&
		byteLimit(reflect.ValueOf(ar.TmpfsSize), reflect.ValueOf(br.TmpfsSize))
}

// seccompOrder compares the seccomp section key by key, except that
// seccomp.allow is judged by what it grants over base: a name base allows
// already (in its own allow list, or in a class base does not enforce, e.g.
// sync_file_range while base's strict is "off") adds nothing, so a
// per-image profile that enforces strict and allows the two cuts its image
// calls is stricter than `default`.
func seccompOrder(a, b reflect.Value) bool {
	as, bs := a.Interface().(Seccomp), b.Interface().(Seccomp)
	grants := func(name string) bool {
		switch {
		case slices.Contains(bs.Deny, name):
			return true
		case slices.Contains(bs.Allow, name):
			return false
		case slices.Contains(StrictSyscalls(), name):
			return bs.Strict == ControlEnforce
		case slices.Contains(AttackSurfaceSyscalls(), name):
			return bs.AttackSurface == ControlEnforce
		}
		return true // beyond Docker's default: never shown harmless
	}
	if slices.ContainsFunc(as.Allow, grants) {
		return false
	}
	as.Allow, bs.Allow = nil, nil
	ok, _ := stricterStruct(reflect.ValueOf(as), reflect.ValueOf(bs), "seccomp.")
	return ok
}

// notPolicy are keys that say nothing about what is enforced.
func notPolicy(key string) bool { return key == "extends" || key == "description" }

func stricterStruct(a, b reflect.Value, prefix string) (bool, string) {
	orders := strictOrders()
	for i := 0; i < a.NumField(); i++ {
		f := a.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		key := prefix + name
		av, bv := a.Field(i), b.Field(i)
		switch order, ordered := orders[key]; {
		case notPolicy(key):
		case ordered:
			if !order(av, bv) {
				return false, key
			}
		case f.Type.Kind() == reflect.Struct:
			if ok, k := stricterStruct(av, bv, key+"."); !ok {
				return false, k
			}
		case !sameValue(av, bv):
			return false, key
		}
	}
	return true, ""
}

// sameValue is reflect.DeepEqual with an empty list equal to an absent one.
func sameValue(a, b reflect.Value) bool {
	if (a.Kind() == reflect.Slice || a.Kind() == reflect.Map) && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// subset: every entry of a is in b (an allow list that grants no more).
func subset(a, b reflect.Value) bool {
	bs, ok := b.Interface().([]string)
	as, ok2 := a.Interface().([]string)
	if !ok || !ok2 {
		return sameValue(a, b)
	}
	for _, s := range as {
		if !slices.Contains(bs, s) {
			return false
		}
	}
	return true
}

// rank: values listed strictest first; a value not listed is never shown
// to be as strict.
func rank(values ...string) strictOrder {
	return func(a, b reflect.Value) bool {
		ia, ib := slices.Index(values, a.String()), slices.Index(values, b.String())
		return ia >= 0 && ib >= 0 && ia <= ib
	}
}

// wantBool: the strict setting of an on/off control.
func wantBool(strict bool) strictOrder {
	return func(a, b reflect.Value) bool { return a.Bool() == strict || b.Bool() != strict }
}

// limit: a number where 0 means "no limit" and lower is stricter.
func limit(a, b reflect.Value) bool {
	return b.IsZero() || (!a.IsZero() && compareNumbers(a, b) <= 0)
}

// atLeast: a number where higher is stricter.
func atLeast(a, b reflect.Value) bool { return compareNumbers(a, b) >= 0 }

// byteLimit: a size such as "2g", where "" means "no limit".
func byteLimit(a, b reflect.Value) bool {
	if b.String() == "" {
		return true
	}
	av, aerr := ParseBytes(a.String())
	bv, berr := ParseBytes(b.String())
	return a.String() != "" && aerr == nil && berr == nil && av <= bv
}

// compareNumbers compares two values of the same integer type.
func compareNumbers(a, b reflect.Value) int {
	if a.CanInt() {
		return cmp.Compare(a.Int(), b.Int())
	}
	return cmp.Compare(a.Uint(), b.Uint())
}
