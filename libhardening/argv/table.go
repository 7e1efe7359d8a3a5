package argv

// kind is how runc's flag package reads a flag: whether it takes a value and
// which values it accepts. It mirrors the urfave/cli v1 flag types runc uses.
type kind uint8

const (
	kindBool        kind = iota // cli.BoolFlag: never consumes the next argument; "=value" must parse as a bool
	kindString                  // cli.StringFlag: last occurrence wins
	kindInt                     // cli.IntFlag: Go flag int, base prefix allowed ("0x10")
	kindDuration                // cli.DurationFlag: time.ParseDuration
	kindStringSlice             // cli.StringSliceFlag: every occurrence kept, no comma splitting
	kindInt64Slice              // cli.Int64SliceFlag: every occurrence kept, base 10
)

// takesValue reports whether the flag consumes the next argument when it is
// written without "=value".
func (k kind) takesValue() bool { return k != kindBool }

// flagSpec is one flag as runc declares it: `Name: "bundle, b"` becomes
// {name: "bundle", alias: "b"}.
type flagSpec struct {
	name  string
	alias string
	kind  kind
}

func (f *flagSpec) is(name string) bool {
	return name == f.name || (f.alias != "" && name == f.alias)
}

// verbSpec is one runc command.
type verbSpec struct {
	name  string
	alias string // only urfave/cli's own "help" command has one ("h")
	flags []flagSpec
	// skipArgReorder is runc's SkipArgReorder: without it urfave/cli moves
	// every known flag in front of the positional arguments before parsing,
	// so `runc delete ctr --force` works; with it (exec, ps) parsing stops at
	// the first positional, so `runc exec ctr ls -l` passes -l to ls.
	skipArgReorder bool
	// takesID: the first positional argument is a container id.
	takesID bool
	// hasBundle: the verb reads -b/--bundle.
	hasBundle bool
}

func (v *verbSpec) lookup(name string) *flagSpec {
	for i := range v.flags {
		if v.flags[i].is(name) {
			return &v.flags[i]
		}
	}
	if helpFlag.is(name) {
		return &helpFlag
	}
	return nil
}

// helpFlag is appended by urfave/cli to the global flags and to every command
// (HideHelp is false in runc).
var helpFlag = flagSpec{name: "help", alias: "h", kind: kindBool}

// globalFlags is runc's app.Flags plus urfave/cli's help and version flags.
// --criu exists up to runc 1.1 (ignored, then removed later); keeping it means
// `--criu PATH` still consumes its value when the lower runc is an old one.
var globalFlags = []flagSpec{
	{name: "debug", kind: kindBool},
	{name: "log", kind: kindString},
	{name: "log-format", kind: kindString},
	{name: "root", kind: kindString},
	{name: "criu", kind: kindString},
	{name: "systemd-cgroup", kind: kindBool},
	{name: "rootless", kind: kindString},
	helpFlag,
	{name: "version", alias: "v", kind: kindBool},
}

func lookupGlobal(name string) *flagSpec {
	for i := range globalFlags {
		if globalFlags[i].is(name) {
			return &globalFlags[i]
		}
	}
	return nil
}

// Flags shared by several verbs, declared once so the table stays readable.
var (
	fBundle        = flagSpec{name: "bundle", alias: "b", kind: kindString}
	fConsoleSocket = flagSpec{name: "console-socket", kind: kindString}
	fPidfdSocket   = flagSpec{name: "pidfd-socket", kind: kindString}
	fPidFile       = flagSpec{name: "pid-file", kind: kindString}
	fNoPivot       = flagSpec{name: "no-pivot", kind: kindBool}
	fNoNewKeyring  = flagSpec{name: "no-new-keyring", kind: kindBool}
	fNoSubreaper   = flagSpec{name: "no-subreaper", kind: kindBool}
	fPreserveFDs   = flagSpec{name: "preserve-fds", kind: kindInt}
	fDetach        = flagSpec{name: "detach", alias: "d", kind: kindBool}
	fFormat        = flagSpec{name: "format", alias: "f", kind: kindString}
	fImagePath     = flagSpec{name: "image-path", kind: kindString}
	fWorkPath      = flagSpec{name: "work-path", kind: kindString}
	fTCPEstab      = flagSpec{name: "tcp-established", kind: kindBool}
	fExtUnixSk     = flagSpec{name: "ext-unix-sk", kind: kindBool}
	fShellJob      = flagSpec{name: "shell-job", kind: kindBool}
	fFileLocks     = flagSpec{name: "file-locks", kind: kindBool}
	fLazyPages     = flagSpec{name: "lazy-pages", kind: kindBool}
	fCgroupsMode   = flagSpec{name: "manage-cgroups-mode", kind: kindString}
	fEmptyNS       = flagSpec{name: "empty-ns", kind: kindStringSlice}
	fAutoDedup     = flagSpec{name: "auto-dedup", kind: kindBool}
)

// verbs is every runc command with its flags: the union of runc 1.1 (Debian 12)
// and runc 1.5 (checkpoint.go, create.go, … in opencontainers/runc), hidden
// flags included (kill --all, update --kernel-memory). A flag only one version
// knows is harmless in the union: the other version rejects it itself.
var verbs = []verbSpec{
	{name: "checkpoint", takesID: true, flags: []flagSpec{
		fImagePath, fWorkPath,
		{name: "parent-path", kind: kindString},
		{name: "leave-running", kind: kindBool},
		fTCPEstab,
		{name: "tcp-skip-in-flight", kind: kindBool},
		{name: "link-remap", kind: kindBool},
		fExtUnixSk, fShellJob, fLazyPages,
		{name: "status-fd", kind: kindInt},
		{name: "page-server", kind: kindString},
		fFileLocks,
		{name: "pre-dump", kind: kindBool},
		fCgroupsMode, fEmptyNS, fAutoDedup,
	}},
	{name: "create", takesID: true, hasBundle: true, flags: []flagSpec{
		fBundle, fConsoleSocket, fPidfdSocket, fPidFile, fNoPivot, fNoNewKeyring, fPreserveFDs,
	}},
	{name: "delete", takesID: true, flags: []flagSpec{
		{name: "force", alias: "f", kind: kindBool},
	}},
	{name: "events", takesID: true, flags: []flagSpec{
		{name: "interval", kind: kindDuration},
		{name: "stats", kind: kindBool},
	}},
	{name: "exec", takesID: true, skipArgReorder: true, flags: []flagSpec{
		fConsoleSocket, fPidfdSocket,
		{name: "cwd", kind: kindString},
		{name: "env", alias: "e", kind: kindStringSlice},
		{name: "tty", alias: "t", kind: kindBool},
		{name: "user", alias: "u", kind: kindString},
		{name: "additional-gids", alias: "g", kind: kindInt64Slice},
		{name: "process", alias: "p", kind: kindString},
		fDetach, fPidFile,
		{name: "process-label", kind: kindString},
		{name: "apparmor", kind: kindString},
		{name: "no-new-privs", kind: kindBool},
		{name: "cap", alias: "c", kind: kindStringSlice},
		fPreserveFDs,
		{name: "cgroup", kind: kindStringSlice},
		{name: "ignore-paused", kind: kindBool},
	}},
	{name: "kill", takesID: true, flags: []flagSpec{
		{name: "all", alias: "a", kind: kindBool},
	}},
	{name: "list", flags: []flagSpec{
		fFormat,
		{name: "quiet", alias: "q", kind: kindBool},
	}},
	{name: "pause", takesID: true},
	{name: "ps", takesID: true, skipArgReorder: true, flags: []flagSpec{fFormat}},
	{name: "restore", takesID: true, hasBundle: true, flags: []flagSpec{
		fConsoleSocket, fImagePath, fWorkPath, fTCPEstab, fExtUnixSk, fShellJob, fFileLocks,
		fCgroupsMode, fBundle, fDetach, fPidFile, fNoSubreaper, fNoPivot, fEmptyNS, fAutoDedup,
		fLazyPages,
		{name: "lsm-profile", kind: kindString},
		{name: "lsm-mount-context", kind: kindString},
	}},
	{name: "resume", takesID: true},
	{name: "run", takesID: true, hasBundle: true, flags: []flagSpec{
		fBundle, fConsoleSocket, fPidfdSocket, fDetach,
		{name: "keep", kind: kindBool},
		fPidFile, fNoSubreaper, fNoPivot, fNoNewKeyring, fPreserveFDs,
	}},
	{name: "spec", hasBundle: true, flags: []flagSpec{
		fBundle,
		{name: "rootless", kind: kindBool},
	}},
	{name: "start", takesID: true},
	{name: "state", takesID: true},
	{name: "update", takesID: true, flags: []flagSpec{
		{name: "resources", alias: "r", kind: kindString},
		{name: "blkio-weight", kind: kindInt},
		{name: "cpu-period", kind: kindString},
		{name: "cpu-quota", kind: kindString},
		{name: "cpu-burst", kind: kindString},
		{name: "cpu-share", kind: kindString},
		{name: "cpu-rt-period", kind: kindString},
		{name: "cpu-rt-runtime", kind: kindString},
		{name: "cpuset-cpus", kind: kindString},
		{name: "cpuset-mems", kind: kindString},
		{name: "kernel-memory", kind: kindString},
		{name: "kernel-memory-tcp", kind: kindString},
		{name: "memory", kind: kindString},
		{name: "cpu-idle", kind: kindString},
		{name: "memory-reservation", kind: kindString},
		{name: "memory-swap", kind: kindString},
		{name: "pids-limit", kind: kindInt},
		{name: "l3-cache-schema", kind: kindString},
		{name: "mem-bw-schema", kind: kindString},
	}},
	{name: "features"},
	// urfave/cli adds "help, h" as a command of its own.
	{name: "help", alias: "h"},
}

func lookupVerb(name string) *verbSpec {
	for i := range verbs {
		if name == verbs[i].name || (verbs[i].alias != "" && name == verbs[i].alias) {
			return &verbs[i]
		}
	}
	return nil
}
