package argv

import (
	"slices"
	"strconv"
	"strings"
)

// Args returns a copy of the command line exactly as given to Parse.
func (inv *Invocation) Args() []string { return slices.Clone(inv.args) }

// Verb returns the runc command that runs, by its canonical name ("h" reads
// "help"), as written when runc does not know it, and "" when runc dispatches
// no command (no verb, or a global --help/--version).
func (inv *Invocation) Verb() string { return inv.verb }

// VerbKnown reports whether Verb is one of runc's commands.
func (inv *Invocation) VerbKnown() bool { return inv.spec != nil }

// Informational reports a command line on which runc only prints help or its
// version and touches no container: no verb, global --help or --version, the
// help verb, or a verb's own --help.
func (inv *Invocation) Informational() bool {
	if inv.verb == "" || inv.verb == "help" {
		return true
	}
	help, _ := inv.Bool("help")
	return help
}

// Global returns runc's global options.
func (inv *Invocation) Global() GlobalFlags { return inv.global }

// Flag returns the value runc reads for the verb's flag name, given by its
// long name or its short alias ("bundle" or "b"): the last occurrence, as
// runc's string flags do. A bool flag written bare has the value "" (use Bool).
func (inv *Invocation) Flag(name string) (value string, ok bool) {
	name = inv.canonical(name)
	for i := len(inv.flags) - 1; i >= 0; i-- {
		if inv.flags[i].name == name {
			return inv.flags[i].value, true
		}
	}
	return "", false
}

// Flags returns the value of every occurrence of the verb's flag name in
// command-line order, as runc's slice flags (--cap, --env, --additional-gids)
// collect them; nil when the flag is absent.
func (inv *Invocation) Flags(name string) []string {
	name = inv.canonical(name)
	var out []string
	for i := range inv.flags {
		if inv.flags[i].name == name {
			out = append(out, inv.flags[i].value)
		}
	}
	return out
}

// Bool returns the verb's bool flag name as runc reads it: true when written
// bare (--detach), the parsed value when written with "=" (--no-new-privs=false).
// set is false when the flag is absent.
func (inv *Invocation) Bool(name string) (value, set bool) {
	name = inv.canonical(name)
	for i := len(inv.flags) - 1; i >= 0; i-- {
		if inv.flags[i].name == name {
			return inv.flags[i].boolValue(), true
		}
	}
	return false, false
}

// Positional returns the verb's positional arguments in runc's order: the
// container id, then the command for exec, the signal for kill, the ps
// options for ps.
func (inv *Invocation) Positional() []string { return slices.Clone(inv.positional) }

// ContainerID returns the container id for a verb that takes one, and "" for
// list, features, spec, help, an unknown verb, or a missing id.
func (inv *Invocation) ContainerID() string {
	if inv.spec == nil || !inv.spec.takesID || len(inv.positional) == 0 {
		return ""
	}
	return inv.positional[0]
}

// Bundle returns the -b/--bundle value of create, run, restore and spec, ""
// when absent (runc then uses its working directory) or for other verbs.
func (inv *Invocation) Bundle() string {
	if inv.spec == nil || !inv.spec.hasBundle {
		return ""
	}
	v, _ := inv.Flag("bundle")
	return v
}

// Unknown returns, as written, the flags that runc's flag table does not
// know, global and verb ones alike; runc itself would reject them unless it
// is newer than this table.
func (inv *Invocation) Unknown() []string { return slices.Clone(inv.unknown) }

// canonical maps a flag name or alias of the current verb to its long name.
func (inv *Invocation) canonical(name string) string {
	name = strings.TrimLeft(name, "-")
	if inv.spec != nil {
		if f := inv.spec.lookup(name); f != nil {
			return f.name
		}
	}
	return name
}

// boolValue is how runc reads a bool flag occurrence.
func (o *occurrence) boolValue() bool {
	if o.bare() {
		return true
	}
	v, _ := strconv.ParseBool(o.value)
	return v
}
