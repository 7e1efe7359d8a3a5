package argv

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The fuzzer's input is one string holding the arguments separated by NUL,
// which no argument can contain.
func joinArgs(args []string) string { return strings.Join(args, "\x00") }

func FuzzParse(f *testing.F) {
	for _, set := range [][]parseCase{callerCases, adversarialCases} {
		for _, tc := range set {
			f.Add(joinArgs(tc.args))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		if s != "" {
			args = strings.Split(s, "\x00")
		}
		inv, err := Parse(args)
		if inv == nil {
			t.Fatalf("Parse(%q) returned no Invocation (err %v)", args, err)
		}
		if !slices.Equal(inv.Args(), args) {
			t.Fatalf("Args() = %q, want %q", inv.Args(), args)
		}
		var ue *UsageError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("Parse(%q) error %v is not a *UsageError", args, err)
		}
		if id := inv.ContainerID(); id != "" && id != inv.Positional()[0] {
			t.Fatalf("ContainerID() = %q, not the first positional of %q", id, inv.Positional())
		}
		if err != nil {
			return
		}
		for _, name := range replaceableFlags(inv) {
			checkReplace(t, inv, args, name)
		}
		checkInsert(t, inv, args)
	})
}

// checkInsert: InsertFlag adds one argument right after the verb and leaves
// every other one as it was.
func checkInsert(t *testing.T, inv *Invocation, args []string) {
	t.Helper()
	if inv.spec == nil {
		return
	}
	for _, f := range inv.spec.flags {
		if f.kind != kindString {
			continue
		}
		if _, set := inv.Flag(f.name); set {
			continue
		}
		out, err := inv.InsertFlag(f.name, "/fuzz")
		if err != nil {
			if !errors.Is(err, ErrNotReplaceable) {
				t.Fatalf("InsertFlag(%q) on %q: unexpected error %v", f.name, args, err)
			}
			return
		}
		at := inv.verbAt + 1
		if !slices.Equal(out[:at], args[:at]) || !slices.Equal(out[at+1:], args[at:]) || out[at] != "--"+f.name+"=/fuzz" {
			t.Fatalf("InsertFlag(%q) on %q gave %q", f.name, args, out)
		}
		return
	}
}

// replaceableFlags returns the known value flags present, once each.
func replaceableFlags(inv *Invocation) []string {
	var names []string
	for i := range inv.flags {
		o := &inv.flags[i]
		if o.spec != nil && o.spec.kind == kindString && !slices.Contains(names, o.name) {
			names = append(names, o.name)
		}
	}
	return names
}

// checkReplace: ReplaceFlagValue changes only the value arguments of that
// flag, and runc would read the new value.
func checkReplace(t *testing.T, inv *Invocation, args []string, name string) {
	t.Helper()
	const value = "/run/hardened-runc/fuzz.json"
	out, err := inv.ReplaceFlagValue(name, value)
	if err != nil {
		if !errors.Is(err, ErrNotReplaceable) {
			t.Fatalf("ReplaceFlagValue(%q) on %q: unexpected error %v", name, args, err)
		}
		return
	}
	if len(out) != len(args) {
		t.Fatalf("ReplaceFlagValue(%q) on %q changed the number of arguments: %q", name, args, out)
	}
	for i := range out {
		if out[i] != args[i] && !isValueOf(inv, name, i) {
			t.Fatalf("ReplaceFlagValue(%q) on %q changed argument %d (%q → %q), not a value of that flag", name, args, i, args[i], out[i])
		}
	}
	re, err := Parse(out)
	if err != nil {
		t.Fatalf("ReplaceFlagValue(%q) on %q gave %q, which does not parse: %v", name, args, out, err)
	}
	for _, v := range re.Flags(name) {
		if v != value {
			t.Fatalf("ReplaceFlagValue(%q) on %q gave %q, read back as %q", name, args, out, re.Flags(name))
		}
	}
}

// isValueOf reports whether argument i holds a value of flag name: its
// separate value argument, or the flag argument itself when written "--x=v".
func isValueOf(inv *Invocation, name string, i int) bool {
	for j := range inv.flags {
		o := &inv.flags[j]
		if o.name == name && (o.valueAt == i || o.inline && o.at == i) {
			return true
		}
	}
	return false
}
