package fastpath

// Verb is what hardened-runc does with one runc verb. This is the one table
// of verb properties: the runtime (which verbs run policy), the forensic
// record (which verbs are recorded, in full, and which a failed record must
// never stop) and the fast path read it, and TestPreexecTables checks the C
// program's copy (cmd/hardened-runc/main.c) against it.
type Verb struct {
	Name string
	// Managed verbs run policy (a spec, a process or resources are
	// hardened or checked) and fail closed: a broken config stops them.
	Managed bool
	// Recorded verbs write a forensic record.
	Recorded bool
	// Full records carry the documents' host facts too (the launches).
	Full bool
	// NeverBlocks verbs are never stopped by a record that could not be
	// written: refusing them would leave containers that cannot be
	// inspected, stopped or removed.
	NeverBlocks bool
	// Fast verbs are passed through verbatim, so the C fast path may exec
	// the lower runtime for them before the Go runtime starts.
	Fast bool
	// Spooled verbs take a short record and hand the lower runtime the
	// command line verbatim: the C fast path writes the record's facts to
	// the forensic spool, syncs them and execs the lower runtime, and the
	// Go side puts them on the record chain later (forensics/spool.go).
	// delete is spooled only when the container holds nothing hardened-runc
	// releases (none of Entry.Held exists); else it is overlapped.
	Spooled bool
	// Overlap verbs are recorded but never blocked by their record, and
	// hand the lower runtime the command line verbatim: the C fast path
	// starts the lower runtime for them before the Go runtime starts, and
	// the Go side writes the record (and releases what the container
	// held) while it runs, then waits for it. Waiting for the record first
	// would only make the verb slower: it runs whatever the record's
	// fate.
	Overlap bool
}

// Verbs returns the table: every runc verb hardened-runc knows of. Verbs not
// in it (runc's future ones) pass through like spec and checkpoint.
func Verbs() []Verb {
	return []Verb{
		{Name: "create", Managed: true, Recorded: true, Full: true},
		{Name: "run", Managed: true, Recorded: true, Full: true},
		{Name: "restore", Managed: true, Recorded: true, Full: true},
		{Name: "exec", Managed: true, Recorded: true, Full: true},
		{Name: "update", Managed: true, Recorded: true},
		{Name: "start", Recorded: true, Spooled: true},
		{Name: "kill", Recorded: true, NeverBlocks: true, Spooled: true},
		{Name: "delete", Recorded: true, NeverBlocks: true, Spooled: true, Overlap: true},
		{Name: "state", NeverBlocks: true, Fast: true},
		{Name: "list", NeverBlocks: true, Fast: true},
		{Name: "ps", NeverBlocks: true, Fast: true},
		{Name: "events", NeverBlocks: true, Fast: true},
		{Name: "pause", Fast: true},
		{Name: "resume", Fast: true},
		{Name: "features", Fast: true},
		{Name: "checkpoint"},
		{Name: "spec"},
	}
}

// Lookup returns the properties of verb; an unknown verb has none (it is
// passed through on the Go side).
func Lookup(verb string) Verb {
	for _, v := range Verbs() {
		if v.Name == verb {
			return v
		}
	}
	return Verb{Name: verb}
}

// FastVerbs are the verbs the fast path execs the lower runtime for, in
// the table's order.
func FastVerbs() []string { return verbsWhere(func(v Verb) bool { return v.Fast }) }

// SpooledVerbs are the verbs the fast path records into the spool and
// execs the lower runtime for, in the table's order.
func SpooledVerbs() []string { return verbsWhere(func(v Verb) bool { return v.Spooled }) }

// OverlapVerbs are the verbs the fast path starts the lower runtime for
// and hands on to the Go side, in the table's order.
func OverlapVerbs() []string { return verbsWhere(func(v Verb) bool { return v.Overlap }) }

func verbsWhere(keep func(Verb) bool) []string {
	var out []string
	for _, v := range Verbs() {
		if keep(v) {
			out = append(out, v.Name)
		}
	}
	return out
}
