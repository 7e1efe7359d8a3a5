package seccomp

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// maxSyscallNr bounds the walk over an architecture's syscall table.
const maxSyscallNr = 1024

// Stats summarises a profile for one architecture (the native one).
type Stats struct {
	Profile       string   `json:"profile"`
	DefaultAction string   `json:"defaultAction"`
	Arches        []string `json:"arches"`
	// Allowed are the native syscalls allowed whatever their arguments
	// (SCMP_ACT_ALLOW or SCMP_ACT_LOG, by a rule or by the default action).
	Allowed []string `json:"allowed"`
	// Conditional are allowed only for some argument values.
	Conditional []string `json:"conditional"`
	// Notified go to a seccomp agent (learning mode).
	Notified []string `json:"notified,omitempty"`
	// Denied are the native syscalls the profile does not allow at all.
	Denied []string `json:"denied"`
	// Unsupported are real syscalls this libseccomp does not know: runc
	// drops them, so they get the default action (or ENOSYS).
	Unsupported []string `json:"unsupported,omitempty"`
	// BPFInstructions is the size of the compiled filter (before runc's
	// ENOSYS stub, which adds a few instructions per architecture).
	BPFInstructions int    `json:"bpfInstructions"`
	Libseccomp      string `json:"libseccomp"`
}

// ValidationError names the profile and the entry that failed. Callers show
// it as is; the entry is a JSON path into the profile.
type ValidationError struct {
	Profile string
	Entry   string
	Err     error
}

func (e *ValidationError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("seccomp profile %q: %v", e.Profile, e.Err)
	}
	return fmt.Sprintf("seccomp profile %q: %s: %v", e.Profile, e.Entry, e.Err)
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Errors a ValidationError wraps, for callers that branch on the cause.
var (
	ErrUnknownSyscall  = errors.New("unknown syscall")
	ErrUnknownAction   = errors.New("unknown action")
	ErrUnknownArch     = errors.New("unknown architecture")
	ErrUnknownOperator = errors.New("unknown operator")
	ErrNotifyMisuse    = errors.New("SCMP_ACT_NOTIFY not usable here")
	ErrCompile         = errors.New("profile does not compile")
)

// Validate resolves every syscall name against libseccomp for every listed
// architecture, checks actions, operators and runc's own constraints, and
// compiles the profile to BPF the way runc does. Unlike runc, an unknown name
// is an error. name identifies the profile in errors.
func Validate(name string, p *specs.LinuxSeccomp) (*Stats, error) {
	if p == nil {
		return nil, &ValidationError{Profile: name, Err: errors.New("no profile")}
	}
	arches, err := resolveArches(name, p.Architectures)
	if err != nil {
		return nil, err
	}
	st := &Stats{Profile: name, DefaultAction: string(p.DefaultAction), Libseccomp: libseccompVersion()}
	st.Arches = archNames(p.Architectures)
	if err := checkEntries(name, p, arches, st); err != nil {
		return nil, err
	}
	n, err := compile(name, p, arches)
	if err != nil {
		return nil, err
	}
	st.BPFInstructions = n
	if err := classify(p, st); err != nil {
		return nil, &ValidationError{Profile: name, Err: err}
	}
	return st, nil
}

// archNames lists the architectures the filter covers, native first, in
// the spec's spelling.
func archNames(listed []specs.Arch) []string {
	out := []string{}
	for _, a := range append(Arches(false), listed...) {
		if !slices.Contains(out, string(a)) {
			out = append(out, string(a))
		}
	}
	return out
}

func libseccompVersion() string {
	ma, mi, mc := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", ma, mi, mc)
}

// nativeArch is the architecture of this build, as libseccomp names it.
func nativeArch() (libseccomp.ScmpArch, error) {
	return libseccomp.GetArchFromString(runtime.GOARCH)
}

// resolveArches returns the native arch followed by the listed ones.
func resolveArches(name string, list []specs.Arch) ([]libseccomp.ScmpArch, error) {
	native, err := nativeArch()
	if err != nil {
		return nil, &ValidationError{Profile: name, Err: fmt.Errorf("native arch %s: %w", runtime.GOARCH, err)}
	}
	out := []libseccomp.ScmpArch{native}
	for i, a := range list {
		sa, err := libseccomp.GetArchFromString(strings.TrimPrefix(string(a), "SCMP_ARCH_"))
		if err != nil || !strings.HasPrefix(string(a), "SCMP_ARCH_") {
			return nil, &ValidationError{Profile: name, Entry: fmt.Sprintf("architectures[%d] %q", i, a), Err: ErrUnknownArch}
		}
		if !slices.Contains(out, sa) {
			out = append(out, sa)
		}
	}
	return out, nil
}

// action maps a spec action to libseccomp's, with the errno runc would use.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
	case specs.ActErrno, specs.ActTrace:
		code := errnoEPERM
		if errnoRet != nil {
			code = *errnoRet
		}
		if code > 4095 {
			return libseccomp.ActInvalid, fmt.Errorf("errnoRet %d out of range", code)
		}
		if a == specs.ActTrace {
			return libseccomp.ActTrace.SetReturnCode(int16(code)), nil
		}
		return libseccomp.ActErrno.SetReturnCode(int16(code)), nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("%w %q", ErrUnknownAction, a)
}

func operator(op specs.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, error) {
	switch op {
	case specs.OpEqualTo:
		return libseccomp.CompareEqual, nil
	case specs.OpNotEqual:
		return libseccomp.CompareNotEqual, nil
	case specs.OpGreaterThan:
		return libseccomp.CompareGreater, nil
	case specs.OpGreaterEqual:
		return libseccomp.CompareGreaterEqual, nil
	case specs.OpLessThan:
		return libseccomp.CompareLess, nil
	case specs.OpLessEqual:
		return libseccomp.CompareLessOrEqual, nil
	case specs.OpMaskedEqual:
		return libseccomp.CompareMaskedEqual, nil
	}
	return libseccomp.CompareInvalid, fmt.Errorf("%w %q", ErrUnknownOperator, op)
}

// checkEntries checks the default action, each rule's action, operators and
// names, and runc's NOTIFY constraints.
func checkEntries(name string, p *specs.LinuxSeccomp, arches []libseccomp.ScmpArch, st *Stats) error {
	if _, err := action(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return &ValidationError{Profile: name, Entry: "defaultAction", Err: err}
	}
	if p.DefaultAction == specs.ActNotify {
		return &ValidationError{Profile: name, Entry: "defaultAction", Err: fmt.Errorf("%w: runc refuses it as the default action", ErrNotifyMisuse)}
	}
	notify := false
	for i, r := range p.Syscalls {
		entry := fmt.Sprintf("syscalls[%d]", i)
		if _, err := action(r.Action, r.ErrnoRet); err != nil {
			return &ValidationError{Profile: name, Entry: entry + ".action", Err: err}
		}
		if len(r.Names) == 0 {
			return &ValidationError{Profile: name, Entry: entry + ".names", Err: errors.New("empty")}
		}
		for j, a := range r.Args {
			if _, err := operator(a.Op); err != nil {
				return &ValidationError{Profile: name, Entry: fmt.Sprintf("%s.args[%d].op", entry, j), Err: err}
			}
			if a.Index > 5 {
				return &ValidationError{Profile: name, Entry: fmt.Sprintf("%s.args[%d].index", entry, j), Err: fmt.Errorf("index %d: syscalls have 6 arguments", a.Index)}
			}
		}
		if r.Action == specs.ActNotify {
			notify = true
			if slices.Contains(r.Names, "write") {
				return &ValidationError{Profile: name, Entry: entry, Err: fmt.Errorf("%w: runc refuses it for write (it must write the notify fd to its parent)", ErrNotifyMisuse)}
			}
		}
		for j, n := range r.Names {
			if err := resolveName(n, arches); err != nil {
				if isNewerThanLibseccomp(n) {
					st.Unsupported = appendUnique(st.Unsupported, n)
					continue
				}
				return &ValidationError{Profile: name, Entry: fmt.Sprintf("%s.names[%d] %q", entry, j, n), Err: err}
			}
		}
	}
	if notify && p.ListenerPath == "" {
		return &ValidationError{Profile: name, Entry: "listenerPath", Err: fmt.Errorf("%w: SCMP_ACT_NOTIFY needs a listenerPath", ErrNotifyMisuse)}
	}
	return nil
}

func resolveName(n string, arches []libseccomp.ScmpArch) error {
	for _, a := range arches {
		if _, err := libseccomp.GetSyscallFromNameByArch(n, a); err != nil {
			return fmt.Errorf("%w on %s (libseccomp %s)", ErrUnknownSyscall, a, libseccompVersion())
		}
	}
	return nil
}

func appendUnique(l []string, s string) []string {
	if slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}

// compile builds the filter as runc does (rules equal to the default action
// skipped, repeated argument indexes split into separate rules, binary tree
// above 32 rules) and returns its size in BPF instructions.
func compile(name string, p *specs.LinuxSeccomp, arches []libseccomp.ScmpArch) (int, error) {
	fail := func(entry string, err error) (int, error) {
		return 0, &ValidationError{Profile: name, Entry: entry, Err: fmt.Errorf("%w: %w", ErrCompile, err)}
	}
	def, _ := action(p.DefaultAction, p.DefaultErrnoRet)
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return fail("defaultAction", err)
	}
	defer f.Release()
	for _, a := range arches[1:] {
		if err := f.AddArch(a); err != nil {
			return fail("architectures", err)
		}
	}
	if len(p.Syscalls) > 32 {
		// Not fatal, as in runc: older libseccomp has no binary tree.
		_ = f.SetOptimize(2)
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return fail("", err)
	}
	for i, r := range p.Syscalls {
		act, _ := action(r.Action, r.ErrnoRet)
		if act == def {
			continue
		}
		for _, n := range r.Names {
			nr, err := libseccomp.GetSyscallFromName(n)
			if err != nil {
				continue // unsupported names were reported by checkEntries
			}
			if err := addRule(f, nr, act, r.Args); err != nil {
				return fail(fmt.Sprintf("syscalls[%d] %q", i, n), err)
			}
		}
	}
	return exportedInstructions(f)
}

func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	if len(args) == 0 {
		return f.AddRule(nr, act)
	}
	conds := make([]libseccomp.ScmpCondition, 0, len(args))
	seen := map[uint]bool{}
	split := false
	for _, a := range args {
		op, _ := operator(a.Op)
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return err
		}
		split = split || seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !split {
		return f.AddRuleConditional(nr, act, conds)
	}
	// runc turns conditions repeating an argument index into separate
	// rules (OR), and so do we, to count what runc loads.
	for _, c := range conds {
		if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
			return err
		}
	}
	return nil
}

// exportedInstructions exports the filter into a memfd (ExportBPFMem needs
// libseccomp 2.6) and counts sock_filter entries (8 bytes each).
func exportedInstructions(f *libseccomp.ScmpFilter) (int, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return 0, fmt.Errorf("memfd: %w", err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return 0, fmt.Errorf("%w: export: %w", ErrCompile, err)
	}
	fi, err := file.Stat()
	if err != nil {
		return 0, err
	}
	return int(fi.Size() / 8), nil
}

// verdict is what a profile does with one syscall on the native arch.
type verdict int

const (
	verdictDenied verdict = iota
	verdictAllowed
	verdictConditional
	verdictNotified
)

func verdictOf(a specs.LinuxSeccompAction) verdict {
	switch a {
	case specs.ActAllow, specs.ActLog:
		return verdictAllowed
	case specs.ActNotify:
		return verdictNotified
	}
	return verdictDenied
}

// classify walks the native syscall table and sorts every syscall into
// allowed, conditional, notified or denied.
func classify(p *specs.LinuxSeccomp, st *Stats) error {
	native, err := nativeArch()
	if err != nil {
		return err
	}
	table := nativeSyscalls(native)
	for _, n := range table {
		v := verdictFor(p, n)
		switch v {
		case verdictAllowed:
			st.Allowed = append(st.Allowed, n)
		case verdictConditional:
			st.Conditional = append(st.Conditional, n)
		case verdictNotified:
			st.Notified = append(st.Notified, n)
		default:
			st.Denied = append(st.Denied, n)
		}
	}
	return nil
}

// verdictFor mirrors libseccomp's precedence well enough for counting: an
// unconditional rule decides; argument rules that allow make it conditional.
func verdictFor(p *specs.LinuxSeccomp, n string) verdict {
	uncond, cond := -1, false
	for _, r := range p.Syscalls {
		if !slices.Contains(r.Names, n) {
			continue
		}
		if len(r.Args) == 0 {
			uncond = int(verdictOf(r.Action))
			continue
		}
		if verdictOf(r.Action) != verdictDenied {
			cond = true
		}
	}
	switch {
	case uncond >= 0:
		return verdict(uncond)
	case cond:
		return verdictConditional
	}
	return verdictOf(p.DefaultAction)
}

// nativeSyscalls lists the syscall names libseccomp knows for arch, sorted.
func nativeSyscalls(arch libseccomp.ScmpArch) []string {
	var out []string
	for nr := 0; nr < maxSyscallNr; nr++ {
		n, err := libseccomp.ScmpSyscall(nr).GetNameByArch(arch)
		if err == nil && n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// NativeSyscalls lists every syscall of the native architecture that this
// libseccomp knows.
func NativeSyscalls() ([]string, error) {
	a, err := nativeArch()
	if err != nil {
		return nil, err
	}
	return nativeSyscalls(a), nil
}

// SyscallNumber is the number of syscall name on the native architecture,
// as the kernel's audit records give it ("syscall=277").
func SyscallNumber(name string) (int, bool) {
	a, err := nativeArch()
	if err != nil {
		return 0, false
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, a)
	if err != nil || nr < 0 {
		return 0, false
	}
	return int(nr), true
}

// AuditSyscalls is what the audit package reads of a filter when it writes
// a container's evidence state (audit.Syscalls).
type AuditSyscalls struct{}

// LoggedNames implements audit.Syscalls.
func (AuditSyscalls) LoggedNames(p *specs.LinuxSeccomp) []string { return LoggedNames(p) }

// Number implements audit.Syscalls.
func (AuditSyscalls) Number(name string) (int, bool) { return SyscallNumber(name) }

// Control implements audit.Syscalls.
func (AuditSyscalls) Control(name string) string { return Control(name) }
