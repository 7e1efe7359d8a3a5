package argv

import (
	"fmt"
	"slices"
	"strings"
)

// ReplaceFlagValue returns a new command line in which every occurrence of the
// verb's flag name (long name or alias) carries value, each in the spelling it
// was written with ("-p X", "-process X", "--process=X"); every other
// argument is byte-identical. It is how the runtime substitutes a hardened
// process.json (exec -p) or resources file (update -r). Every occurrence is
// replaced, not only the last one runc reads, so no stale path is left in the
// command line.
//
// A value starting with "-" is written as "--flag=value" in place of the
// separate value argument, since urfave/cli would otherwise take a value like
// "--bundle" for a flag when it reorders arguments. The result is parsed again
// and refused with ErrNotReplaceable if runc would read anything else in it
// differently; the flag being absent or unknown to runc's table is refused the
// same way.
func (inv *Invocation) ReplaceFlagValue(name, value string) ([]string, error) {
	name = inv.canonical(name)
	out := slices.Clone(inv.args)
	var drop []int
	found := false
	for i := range inv.flags {
		o := &inv.flags[i]
		if o.name != name {
			continue
		}
		arg := inv.args[o.at]
		if o.spec == nil {
			return nil, fmt.Errorf("%w: %s is not a flag of runc %s", ErrNotReplaceable, arg, inv.verb)
		}
		found = true
		switch {
		case o.inline:
			out[o.at] = arg[:strings.IndexByte(arg, '=')+1] + value
		case o.bare():
			out[o.at] = arg + "=" + value
		case strings.HasPrefix(value, "-"):
			out[o.at] = arg + "=" + value
			drop = append(drop, o.valueAt)
		default:
			out[o.valueAt] = value
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: --%s is not set on runc %s", ErrNotReplaceable, name, inv.verb)
	}
	out = dropIndices(out, drop)
	if !inv.sameExcept(out, name, value) {
		return nil, fmt.Errorf("%w: runc would read the new --%s value differently", ErrNotReplaceable, name)
	}
	return out, nil
}

// InsertFlag returns a new command line with "--name=value" inserted right
// after the verb, where runc reads it as the verb's flag whatever follows
// (for exec too, whose flags must precede the container id). It is for a
// flag the command line does not carry yet; use ReplaceFlagValue for one it
// does. It fails with ErrNotReplaceable when the flag is already there, is
// not one of the verb's flags, or the result would read differently.
func (inv *Invocation) InsertFlag(name, value string) ([]string, error) {
	name = inv.canonical(name)
	if inv.spec == nil || inv.spec.lookup(name) == nil {
		return nil, fmt.Errorf("%w: --%s is not a flag of runc %s", ErrNotReplaceable, name, inv.verb)
	}
	if _, ok := inv.Flag(name); ok {
		return nil, fmt.Errorf("%w: --%s is already set on runc %s", ErrNotReplaceable, name, inv.verb)
	}
	out := make([]string, 0, len(inv.args)+1)
	out = append(out, inv.args[:inv.verbAt+1]...)
	out = append(out, "--"+name+"="+value)
	out = append(out, inv.args[inv.verbAt+1:]...)
	re, err := Parse(out)
	if err != nil || len(re.flags) != len(inv.flags)+1 || re.flags[0].name != name || re.flags[0].value != value {
		return nil, fmt.Errorf("%w: runc would not read --%s=%s as given", ErrNotReplaceable, name, value)
	}
	re.flags = re.flags[1:]
	if !re.sameAs(inv) {
		return nil, fmt.Errorf("%w: inserting --%s would change how runc reads the rest", ErrNotReplaceable, name)
	}
	return out, nil
}

func dropIndices(args []string, drop []int) []string {
	if len(drop) == 0 {
		return args
	}
	out := args[:0:0]
	for i, a := range args {
		if !slices.Contains(drop, i) {
			out = append(out, a)
		}
	}
	return out
}

// sameExcept reports whether args parses exactly as inv does, except that
// every occurrence of flag name has value.
func (inv *Invocation) sameExcept(args []string, name, value string) bool {
	re, err := Parse(args)
	if err != nil || !re.sameAs(inv) {
		return false
	}
	for i := range re.flags {
		got, want := &re.flags[i], &inv.flags[i]
		if got.name == name {
			if got.value != value {
				return false
			}
		} else if got.value != want.value || got.bare() != want.bare() {
			return false
		}
	}
	return true
}

// sameAs compares everything but flag values: verb, global options,
// positional arguments, unknown flags and which flags occur in which order.
func (inv *Invocation) sameAs(other *Invocation) bool {
	if inv.verb != other.verb || inv.global != other.global || len(inv.flags) != len(other.flags) ||
		!slices.Equal(inv.positional, other.positional) || !slices.Equal(inv.unknown, other.unknown) {
		return false
	}
	for i := range inv.flags {
		if inv.flags[i].name != other.flags[i].name {
			return false
		}
	}
	return true
}
