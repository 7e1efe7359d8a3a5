// Package wrapper is hardened-runc's wrapper around the lower runtime: it
// parses runc's command line, hardens what the verb is about to run
// (config.json for create/run/restore, the process for exec, the resources
// for update), records the launch, and ends in execve of the real runc so
// exit codes, signals, stdio, terminals and --console-socket behave exactly
// as with runc. Verbs it does not manage pass straight through, and a broken
// policy never blocks them.
package wrapper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hardened-runc/hardened-runc/libhardening/argv"
	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/version"
)

// Execer replaces the current process with the lower runtime. The real one is
// syscall.Exec; tests use a fake that records the call.
type Execer interface {
	Exec(path string, argv []string, env []string) error
}

// SyscallExec is the production Execer.
type SyscallExec struct{}

// Exec calls execve(2); it only returns on failure.
func (SyscallExec) Exec(path string, argv []string, env []string) error {
	return syscall.Exec(path, argv, env)
}

// Runtime holds everything one invocation needs. It is built by
// cmd/hardened-runc-go (and cmd/hardened-runc-delete) from the process's
// environment; nothing here is global.
type Runtime struct {
	// ConfigPath is config.toml ($HARDENED_RUNC_CONFIG or the default).
	ConfigPath string
	// Self is this binary's path. hardened-runc (the C program that runs
	// it) and the delete helper are beside it (package fastpath); none of
	// the three may be the lower runtime (it would run itself).
	Self   string
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Exec   Execer
	// Pipeline builds the modifier list for a profile.
	Pipeline func(*policy.Profile) modifier.List
	// Cleaners is what releases the host state the pipeline's effects set
	// up for a container (cleanup.Cleaners), at delete and after a failed
	// launch; nil releases nothing.
	Cleaners func() modifier.Cleaners
	// Recorder stores forensic records; nil means the forensic store in
	// the config's forensics_dir.
	Recorder Recorder
	// FastPathDir is where pass-through decisions are recorded for the
	// C fast path (fastpath.Dir); empty records nothing.
	FastPathDir string
	// Mark, when set, is called as each phase of an invocation ends
	// (MarkWriter, for scripts/breakdown); nil in production.
	Mark func(phase string)
	// Started is the lower runtime the C fast path already started with
	// this invocation's command line (an overlapped verb: delete): a
	// *Started or a *Release; nil when it started none.
	Started Running
}

// inv is one invocation's state, passed between the verb handlers.
type invocation struct {
	rt    *Runtime
	args  *argv.Invocation
	cfg   *policy.Config
	log   *logrus.Logger
	lower string
	// root is lowerRoot's answer, once found.
	root string
}

// Run handles one invocation (args without argv[0]) and returns the exit
// status to use when it did not exec the lower runtime. When the fast path
// started the lower runtime already, that status is always the lower
// runtime's: whatever the invocation did or failed to do, it waits for it.
func (rt *Runtime) Run(args []string) int {
	code := rt.run(args)
	if rt.Started != nil {
		// Every path that runs the lower runtime waits for the started
		// one; this catches the paths that fail before they get there.
		return rt.Started.Finish(rt.Stderr)
	}
	return code
}

func (rt *Runtime) run(args []string) int {
	inv, perr := argv.Parse(args)
	if rt.Started != nil && (inv == nil || !fastpath.Lookup(inv.Verb()).Overlap) {
		// The C side read an overlapped verb where Go's grammar reads
		// something else: nothing is known for sure but that the lower
		// runtime is running the command line it was given.
		fmt.Fprintf(rt.Stderr, "hardened-runc: the fast path started %s for a command line it read as delete, and the Go side does not (%v): not recorded\n", rt.Started.LowerPath(), perr)
		return 1
	}
	if perr != nil && (inv == nil || !managedVerb(inv.Verb())) {
		// runc rejects this command line before doing anything: hand it
		// over verbatim so it reports the usage error in its own words.
		return rt.passThroughRaw(args, perr)
	}
	g := inv.Global()
	// The fast path's record needs the config's identity from before it
	// was read, so that an edit during the read shows up as a change.
	var cfgID fastpath.Identity
	var cfgChanged time.Time
	fast := rt.FastPathDir != "" && rt.Started == nil && fastpath.Eligible(inv.Verb()) && !g.Debug && !inv.Informational()
	if fast {
		var err error
		if cfgID, cfgChanged, err = fastpath.Identify(rt.ConfigPath); err != nil {
			fast = false
		}
	}
	cfg, cfgErr := policy.LoadConfig(rt.ConfigPath)
	level := "warn"
	if cfg != nil {
		level = cfg.LogLevel
	}
	log, closeLog := newLogger(g.Log, g.LogFormat, level, g.Debug, rt.Stderr)
	defer closeLog()
	iv := &invocation{rt: rt, args: inv, cfg: cfg, log: log}
	if perr != nil {
		// A managed verb we cannot parse is never run unhardened.
		return iv.fail(fmt.Errorf("command line: %w", perr))
	}

	managed := managedVerb(inv.Verb())
	if cfgErr != nil {
		if managed {
			return iv.fail(fmt.Errorf("config %s: %w: fix the file or move it away to run with the built-in default profile", rt.ConfigPath, cfgErr))
		}
		// A broken policy must never block delete, kill, state, list...
		log.WithError(cfgErr).Warn("hardened-runc: config unreadable; passing through to the default runc")
		iv.cfg = policy.DefaultConfig()
		fast = false
	}
	var path string
	var err error
	if rt.Started != nil {
		// Decided by the fast path's record, from this same config.
		path = rt.Started.LowerPath()
	} else {
		path, err = resolveLower(iv.cfg.Runtime, rt.selves()...)
	}
	if err != nil {
		fast = false
		if managed || errors.Is(err, lower.ErrIsSelf) {
			return iv.fail(err)
		}
		// For pass-through verbs fall back to runc from PATH rather than
		// leaving containers unmanageable.
		if path, err = resolveLower("runc", rt.selves()...); err != nil {
			return iv.fail(err)
		}
	}
	iv.lower = path
	iv.mark("config")

	if g.Version && inv.Verb() == "" {
		fmt.Fprintf(rt.Stdout, "hardened-runc version %s\n", version.Version)
		return iv.exec(inv.Args())
	}
	if inv.Informational() {
		// `runc create --help` prints usage and runs nothing.
		return iv.exec(inv.Args())
	}
	if fast {
		iv.recordFastPath(cfgID, cfgChanged)
	}
	switch inv.Verb() {
	case "create", "run", "restore":
		return iv.create()
	case "exec":
		return iv.execVerb()
	case "update":
		return iv.update()
	case "delete":
		return iv.delete()
	case "start", "kill":
		iv.recordShort()
	}
	return iv.exec(inv.Args())
}

// recordFastPath lets the next call of a pass-through verb skip the Go
// runtime (package fastpath). It is best effort: the record is an
// optimisation, and this call goes on to exec the lower runtime either way.
func (iv *invocation) recordFastPath(cfgID fastpath.Identity, cfgChanged time.Time) {
	// PATH is the process's own: it is what resolveLower searched.
	e := fastpath.Entry{
		ConfigPath: iv.rt.ConfigPath, ConfigID: cfgID, ConfigChanged: cfgChanged,
		PathEnv: os.Getenv("PATH"), Runtime: lower.Name(iv.cfg.Runtime), Self: iv.rt.beside(fastpath.FrontName), Go: iv.rt.Self, Lower: iv.lower,
		ForensicsDir: iv.cfg.ForensicsDir, Held: iv.heldPaths(), DeleteHelper: iv.rt.beside(fastpath.DeleteHelperName),
	}
	if e.Held != nil {
		e.ReleaseLock = inflight.Path(iv.cfg.RunDir, fastpath.IDPlaceholder)
	}
	err := fastpath.Refresh(iv.rt.FastPathDir, e, time.Now())
	if err != nil && !errors.Is(err, fastpath.ErrTooFresh) {
		iv.log.WithError(err).Debug("hardened-runc: fast path not recorded")
	}
}

// heldPaths are the paths the C fast path checks before it spools a
// delete (fastpath.Entry.Held): none may exist. nil, never spooling a
// delete, when the cleaners cannot name their state by paths or a path
// cannot be recorded.
func (iv *invocation) heldPaths() []string {
	if iv.rt.Cleaners == nil {
		return nil
	}
	ctx := &modifier.Context{ContainerID: fastpath.IDPlaceholder, RunDir: iv.cfg.RunDir}
	paths, ok := iv.rt.Cleaners().HoldPaths(ctx)
	if !ok {
		return nil
	}
	for _, p := range paths {
		if !fastpath.ValidHeld(p) {
			return nil
		}
	}
	return paths
}

// selves are the binaries of hardened-runc that the lower runtime must not
// be.
func (rt *Runtime) selves() []string {
	return []string{rt.Self, rt.beside(fastpath.FrontName), rt.beside(fastpath.DeleteHelperName)}
}

// beside is the path of hardened-runc's binary name beside this one.
func (rt *Runtime) beside(name string) string { return filepath.Join(filepath.Dir(rt.Self), name) }

// managedVerb reports whether the verb runs policy: only these fail closed.
func managedVerb(v string) bool { return fastpath.Lookup(v).Managed }

// exec replaces this process with the lower runtime. It returns only if
// execve failed, or, when the fast path started the lower runtime with
// these arguments already, with its status.
func (iv *invocation) exec(args []string) int {
	if iv.rt.Started != nil {
		code := iv.rt.Started.Finish(iv.rt.Stderr)
		iv.mark("lower")
		return code
	}
	argv := append([]string{iv.lower}, args...)
	iv.mark("exec")
	err := iv.rt.Exec.Exec(iv.lower, argv, iv.rt.Env)
	return iv.fail(fmt.Errorf("exec lower runtime %s: %w", iv.lower, err))
}

func (rt *Runtime) passThroughRaw(args []string, perr error) int {
	if rt.Started != nil {
		return rt.Started.Finish(rt.Stderr) // the lower runtime has these arguments already
	}
	cfg, err := policy.LoadConfig(rt.ConfigPath)
	if err != nil {
		cfg = policy.DefaultConfig()
	}
	lower, err := resolveLower(cfg.Runtime, rt.selves()...)
	if err != nil {
		fmt.Fprintf(rt.Stderr, "hardened-runc: %v (while passing through unparseable arguments: %v)\n", err, perr)
		return 1
	}
	err = rt.Exec.Exec(lower, append([]string{lower}, args...), rt.Env)
	fmt.Fprintf(rt.Stderr, "hardened-runc: exec %s: %v\n", lower, err)
	return 1
}

// fail reports err as one line naming hardened-runc and the container, to
// runc's --log (so docker/ctr show it) and to stderr, and returns runc's
// failure status.
func (iv *invocation) fail(err error) int {
	msg := iv.errorLine(err)
	iv.log.Error(msg)
	fmt.Fprintln(iv.rt.Stderr, msg)
	return 1
}

func (iv *invocation) errorLine(err error) string {
	var b strings.Builder
	b.WriteString("hardened-runc: ")
	if id := iv.containerID(); id != "" {
		fmt.Fprintf(&b, "container %s: ", id)
	}
	b.WriteString(strings.ReplaceAll(err.Error(), "\n", " "))
	return b.String()
}

func (iv *invocation) containerID() string {
	if iv.args == nil {
		return ""
	}
	return iv.args.ContainerID()
}

// recorder returns where this invocation's forensic records go.
func (iv *invocation) recorder() Recorder {
	if iv.rt.Recorder != nil {
		return iv.rt.Recorder
	}
	return StoreRecorder{Dir: iv.cfg.ForensicsDir, Retention: iv.cfg.ForensicsRetention, Witness: iv.cfg.ForensicsWitness,
		Warn: func(err error) { iv.log.WithError(err).Warn("hardened-runc: forensic witness") }, Mark: iv.rt.Mark}
}

// ProcessRuntime is a Runtime for this process: its config path, its
// binary's path, its environment and standard streams, execve(2), and the
// phase marks when MarksEnv asks for them (the "main" mark taken now). The
// commands add what they run: the pipeline, the cleaners, the fast path's
// record.
func ProcessRuntime() *Runtime {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	rt := &Runtime{
		ConfigPath: policy.ConfigPath(),
		Self:       self,
		Env:        os.Environ(),
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Exec:       SyscallExec{},
	}
	if os.Getenv(MarksEnv) != "" {
		rt.Mark = MarkWriter(os.Stderr)
		rt.Mark("main")
	}
	return rt
}
