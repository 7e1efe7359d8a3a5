// Package argv reads a runc command line the way runc reads it, so that the
// runtime can tell which verb runs, on which container and bundle, with which
// flags, without ever matching bare strings (a container named "create" is a
// container id, not a verb).
//
// runc parses its arguments with urfave/cli v1 on top of Go's flag package;
// this package reproduces that grammar, not an approximation of it:
//
//   - Global flags come before the verb and stop at the first non-flag
//     argument or "--" (Go flag): `--root DIR`, `--root=DIR`, `-root DIR`,
//     `--debug`, `--debug=false`. A value flag takes the next argument
//     whatever it looks like.
//   - The verb's flags follow. For every verb but exec and ps, urfave/cli
//     first moves each known flag (with the argument after it) in front of the
//     positional arguments, so `runc delete ctr --force` works; exec and ps set
//     SkipArgReorder, so in `runc exec ctr ls -l` and `runc ps ctr -ef` the
//     flags after the container id belong to the command. "--" ends flags.
//   - String flags keep their last occurrence, slice flags (--cap, --env,
//     --additional-gids, --cgroup, --empty-ns) every one; writing both
//     spellings of one flag (-b and --bundle) is an error, as in runc.
//
// The flag table (table.go) is the union of runc 1.1 and runc 1.5. A flag it
// does not know is passed through untouched and reported by Unknown. Its
// arity has to be guessed: "--x=y" carries its value; a bare unknown flag is
// taken as boolean, because that guess never swallows the argument after it
// (the verb, the container id, or a known flag that must still be seen). The
// one exception is a global flag followed by a non-verb and then a verb, which
// is read as "--flag VALUE verb" (see unknownTakesValue). Because runc
// reorders known flags before parsing, an unknown flag cannot hide -b/--bundle
// from this parser for create, run or restore; for exec an unknown value flag
// could, so callers hardening exec should refuse a command line with Unknown
// verb flags.
package argv

import "slices"

// GlobalFlags are runc's global options. Empty strings mean "not given"; the
// caller applies runc's defaults (/run/runc, text, …) where it needs them.
type GlobalFlags struct {
	Root          string
	Log           string
	LogFormat     string
	Debug         bool
	SystemdCgroup bool
	Rootless      string
	Criu          string
	Help          bool
	Version       bool
}

// Invocation is a parsed runc command line. It keeps the original arguments
// and never changes them; methods that edit return a new slice.
type Invocation struct {
	args       []string
	global     GlobalFlags
	verb       string
	verbAt     int       // index of the verb argument, -1 when there is none
	spec       *verbSpec // nil when there is no verb or runc does not know it
	flags      []occurrence
	positional []string
	unknown    []string
}

// Parse reads args (the command line without argv[0]) as runc does. On a
// command line runc itself would reject before doing anything it returns a
// *UsageError together with the Invocation parsed so far; unknown flags and
// verbs are not errors (see Unknown and VerbKnown).
func Parse(args []string) (*Invocation, error) {
	inv := &Invocation{args: slices.Clone(args), verbAt: -1}
	c := cursor{n: len(inv.args)}
	global := scope{global: true}
	globals := make([]occurrence, 0, 6)
	if err := inv.scan(&c, global, &globals); err != nil {
		return inv, err
	}
	if err := inv.checkTwoForms(globals, global); err != nil {
		return inv, err
	}
	inv.applyGlobals(globals)
	if c.k >= c.n || inv.global.Help || inv.global.Version {
		// runc prints its help or version and dispatches no verb.
		return inv, nil
	}
	return inv, inv.parseVerb(c.index(c.k))
}

func (inv *Invocation) applyGlobals(globals []occurrence) {
	g := &inv.global
	for i := range globals {
		o := &globals[i]
		switch o.name {
		case "root":
			g.Root = o.value
		case "log":
			g.Log = o.value
		case "log-format":
			g.LogFormat = o.value
		case "rootless":
			g.Rootless = o.value
		case "criu":
			g.Criu = o.value
		case "debug":
			g.Debug = o.boolValue()
		case "systemd-cgroup":
			g.SystemdCgroup = o.boolValue()
		case "help":
			g.Help = o.boolValue()
		case "version":
			g.Version = o.boolValue()
		}
	}
}

func (inv *Invocation) parseVerb(at int) error {
	inv.verb, inv.verbAt = inv.args[at], at
	inv.spec = lookupVerb(inv.verb)
	sc := scope{verb: inv.verb, spec: inv.spec}
	c := cursor{base: at + 1, n: len(inv.args) - at - 1}
	if inv.spec != nil {
		inv.verb = inv.spec.name
		sc.verb = inv.verb
		if !inv.spec.skipArgReorder {
			c.order = reorder(inv.args, at+1, inv.spec)
		}
	}
	inv.flags = make([]occurrence, 0, 8)
	if err := inv.scan(&c, sc, &inv.flags); err != nil {
		return err
	}
	inv.positional = make([]string, 0, c.n-c.k)
	for k := c.k; k < c.n; k++ {
		inv.positional = append(inv.positional, inv.args[c.index(k)])
	}
	return inv.checkTwoForms(inv.flags, sc)
}
