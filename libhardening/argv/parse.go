package argv

import (
	"strconv"
	"strings"
	"time"
)

// occurrence is one flag as it appears on the command line.
type occurrence struct {
	spec    *flagSpec // nil for a flag runc's table does not know
	name    string    // canonical long name; the written name for an unknown flag
	at      int       // index of the flag argument
	valueAt int       // index of a separate value argument, -1 when there is none
	value   string    // the value runc reads; "" for a bool flag written bare
	inline  bool      // written as name=value
	alias   bool      // written with the short spelling ("-b" for bundle)
}

// bare reports a flag written without any value (a bool, or an unknown flag
// guessed to be one).
func (o *occurrence) bare() bool { return !o.inline && o.valueAt < 0 }

// scope is the flag set being parsed: the global one or a verb's.
type scope struct {
	verb   string    // "" for global flags
	spec   *verbSpec // nil for global flags and for an unknown verb
	global bool
}

func (s scope) lookup(name string) *flagSpec {
	switch {
	case s.global:
		return lookupGlobal(name)
	case s.spec != nil:
		return s.spec.lookup(name)
	}
	return nil
}

// cursor walks arguments in the order runc's flag package sees them: order
// (after urfave/cli's reordering) when set, otherwise args[base:] as given.
type cursor struct {
	order []int
	base  int
	n     int
	k     int
}

func (c *cursor) index(k int) int {
	if c.order != nil {
		return c.order[k]
	}
	return c.base + k
}

// scan is Go's flag.FlagSet.Parse as urfave/cli drives it: flags until the
// first non-flag argument or "--", a value flag takes the next argument
// whatever it looks like, a bool flag takes a value only as "=value".
// Unknown flags, which runc would reject, are recorded and skipped (see
// unknownTakesValue) so that a newer runc's flags pass through.
func (inv *Invocation) scan(c *cursor, sc scope, out *[]occurrence) error {
	for c.k < c.n {
		i := c.index(c.k)
		a := inv.args[i]
		if len(a) < 2 || a[0] != '-' {
			return nil
		}
		dashes := 1
		if a[1] == '-' {
			dashes = 2
			if len(a) == 2 {
				c.k++
				return nil
			}
		}
		name := a[dashes:]
		if name[0] == '-' || name[0] == '=' {
			return inv.usage(ErrBadSyntax, sc, i)
		}
		c.k++
		o := occurrence{name: name, at: i, valueAt: -1}
		if eq := strings.IndexByte(name[1:], '='); eq >= 0 {
			o.name, o.value, o.inline = name[:eq+1], name[eq+2:], true
		}
		o.spec = sc.lookup(o.name)
		if err := inv.takeValue(c, sc, &o); err != nil {
			return err
		}
		*out = append(*out, o)
	}
	return nil
}

// takeValue completes o with its value per the flag's kind and checks it.
func (inv *Invocation) takeValue(c *cursor, sc scope, o *occurrence) error {
	f := o.spec
	if f == nil {
		inv.unknown = append(inv.unknown, inv.args[o.at])
		if !o.inline && sc.global && inv.unknownTakesValue(c) {
			o.valueAt, o.value = c.index(c.k), inv.args[c.index(c.k)]
			c.k++
		}
		return nil
	}
	o.alias = o.name == f.alias
	o.name = f.name
	if f.kind.takesValue() && !o.inline {
		if c.k >= c.n {
			return inv.usage(ErrMissingValue, sc, o.at)
		}
		o.valueAt = c.index(c.k)
		o.value = inv.args[o.valueAt]
		c.k++
	}
	if o.bare() {
		return nil
	}
	if !validValue(f.kind, o.value) {
		return inv.usage(ErrBadValue, sc, o.at)
	}
	return nil
}

// unknownTakesValue guesses the arity of a global flag runc's table does not
// know, written bare. A bare unknown flag is a boolean (it never swallows the
// argument after it), except when that argument is not a runc verb while the
// one after it is: `--new-flag VALUE create …` from a newer runc or a
// runtimeArgs entry. Getting the verb right matters more than anything else
// here; a wrong guess the other way would make "VALUE" the verb and let a
// `create` pass through unhardened.
func (inv *Invocation) unknownTakesValue(c *cursor) bool {
	if c.k+1 >= c.n {
		return false
	}
	next := inv.args[c.index(c.k)]
	if next == "" || next[0] == '-' || lookupVerb(next) != nil {
		return false
	}
	return lookupVerb(inv.args[c.index(c.k+1)]) != nil
}

func validValue(k kind, v string) bool {
	var err error
	switch k {
	case kindBool:
		_, err = strconv.ParseBool(v)
	case kindInt:
		_, err = strconv.ParseInt(v, 0, strconv.IntSize)
	case kindInt64Slice:
		_, err = strconv.ParseInt(v, 10, 64)
	case kindDuration:
		_, err = time.ParseDuration(v)
	}
	return err == nil
}

func (inv *Invocation) usage(kind error, sc scope, i int) error {
	return &UsageError{Err: kind, Verb: sc.verb, Arg: inv.args[i], Index: i}
}

// checkTwoForms is urfave/cli's normalizeFlags: writing both spellings of one
// flag (-b and --bundle) is an error, however often each appears.
func (inv *Invocation) checkTwoForms(occ []occurrence, sc scope) error {
	for j := range occ {
		if occ[j].spec == nil || occ[j].spec.alias == "" {
			continue
		}
		for k := 0; k < j; k++ {
			if occ[k].spec == occ[j].spec && occ[k].alias != occ[j].alias {
				return inv.usage(ErrTwoForms, sc, occ[j].at)
			}
		}
	}
	return nil
}

// reorder is urfave/cli v1's reorderArgs for a command without
// SkipArgReorder: every argument that names one of the verb's flags moves in
// front of the others, each taking the argument after it along (as a possible
// value) unless it is written with "=" or that argument is itself a known
// flag; "--" ends the reordering and stays in front of the positional
// arguments. It returns argument indices so values can be found in place.
func reorder(args []string, from int, spec *verbSpec) []int {
	n := len(args) - from
	buf := make([]int, 0, 2*n)
	flags, rest := buf[:0:n], buf[n:n:2*n]
	mayBeValue := false
	for i := from; i < len(args); i++ {
		a := args[i]
		isFlag := namesKnownFlag(spec, a)
		switch {
		case mayBeValue && !isFlag:
			mayBeValue = false
			flags = append(flags, i)
		case a == "--":
			tail := make([]int, 0, len(rest)+len(args)-i)
			tail = append(tail, i)
			tail = append(tail, rest...)
			for j := i + 1; j < len(args); j++ {
				tail = append(tail, j)
			}
			return append(flags, tail...)
		case isFlag:
			flags = append(flags, i)
			mayBeValue = !strings.Contains(a, "=")
		default:
			rest = append(rest, i)
		}
	}
	return append(flags, rest...)
}

// namesKnownFlag is urfave/cli's argIsFlag: strip up to three leading dashes
// and anything from the first "=", then look the name up.
func namesKnownFlag(spec *verbSpec, a string) bool {
	if a == "-" || a == "--" || !strings.HasPrefix(a, "-") {
		return false
	}
	a = strings.TrimPrefix(a, "--")
	a = strings.TrimPrefix(a, "-")
	if eq := strings.IndexByte(a, '='); eq >= 0 {
		a = a[:eq]
	}
	return spec.lookup(a) != nil
}
