package confine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// ProcessModifier checks the container's process: its working directory
// is not under /proc, RLIMIT_NOFILE/RLIMIT_NPROC are set, oomScoreAdj is
// not below the host default, and (when the profile says so) it is not root.
type ProcessModifier struct {
	// hardLimit returns the runtime's own hard limit of an rlimit; tests
	// replace it.
	hardLimit func(typ string) (uint64, bool)
	p         *policy.Profile
}

// Process returns the "process" control of profile p.
func Process(p *policy.Profile) *ProcessModifier {
	return &ProcessModifier{hardLimit: ownHardLimit, p: p}
}

// Name implements modifier.Modifier.
func (*ProcessModifier) Name() string { return "process" }

// Modify implements modifier.Modifier.
func (m *ProcessModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	proc := spec.EnsureProcess(s)
	if err := checkCwd(ctx, rootfsPath(ctx, s), proc.Cwd); err != nil {
		return err
	}
	if err := checkNonRoot(ctx, m.p, proc.User.UID, "process.user.uid"); err != nil {
		return err
	}
	m.ensureRlimit(proc, "RLIMIT_NOFILE", m.p.Process.Nofile, "process.nofile", r)
	m.ensureRlimit(proc, "RLIMIT_NPROC", m.p.Process.Nproc, "process.nproc", r)
	raiseOOMScoreAdj(proc, m.p.Process.MinOOMScoreAdj, r)
	return nil
}

// ModifyProcess implements modifier.ProcessModifier for `runc exec`: the
// same cwd and non-root rules as for the container's own process, and the
// container's RLIMIT_NOFILE/RLIMIT_NPROC where process.json sets none (runc
// would otherwise leave the exec'd process with the engine shim's limits).
func (m *ProcessModifier) ModifyProcess(ctx *modifier.Context, container *specs.Spec, proc *specs.Process, r *modifier.Report) error {
	if err := checkCwd(ctx, rootfsPath(ctx, container), proc.Cwd); err != nil {
		return err
	}
	if err := checkNonRoot(ctx, m.p, proc.User.UID, "process.user.uid"); err != nil {
		return err
	}
	if container == nil || container.Process == nil {
		return nil
	}
	for _, typ := range []string{"RLIMIT_NOFILE", "RLIMIT_NPROC"} {
		i := slices.IndexFunc(container.Process.Rlimits, func(l specs.POSIXRlimit) bool { return l.Type == typ })
		if i < 0 || slices.ContainsFunc(proc.Rlimits, func(l specs.POSIXRlimit) bool { return l.Type == typ }) {
			continue
		}
		l := container.Process.Rlimits[i]
		proc.Rlimits = append(proc.Rlimits, l)
		r.Set("process.rlimits["+typ+"]", nil, l, "process."+strings.ToLower(strings.TrimPrefix(typ, "RLIMIT_")),
			"the exec'd process gets the container's limit", ctlRlimits)
	}
	return nil
}

// procAliases are the symlinks runc itself creates in the container's /dev
// (setupDevSymlinks) that lead into /proc: a cwd beneath them is a cwd in
// /proc that no rootfs check can see, since they do not exist before runc
// makes /dev.
var procAliases = []string{"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/core"}

// checkCwd denies a working directory under /proc, directly, through a
// symlink in the rootfs, or through runc's /dev/fd-style links: runc <=
// 1.1.11 leaked a host fd that /proc/self/fd/N reached (CVE-2024-21626),
// via an image's WORKDIR or `exec --cwd`. No legitimate workload runs from
// /proc.
func checkCwd(ctx *modifier.Context, rootfs, cwd string) error {
	if cwd == "" {
		return nil
	}
	resolved := "/" + cwd
	if rootfs != "" {
		resolved = resolveInRoot(rootfs, resolved)
	}
	for _, c := range []string{"/" + cwd, resolved} {
		if p, ok := reachesProc(c); ok {
			return deny("process.cwd",
				fmt.Sprintf("working directory %s is under /proc (resolves to %s)", cwd, p),
				"set the image's WORKDIR or --cwd to a directory outside /proc and /dev/fd (no profile setting allows this)", ctlCwd)
		}
	}
	return nil
}

// inProc reports whether a cleaned container path is in /proc or beneath
// one of runc's /dev links into it.
func inProc(p string) bool {
	return under(p, "/proc") || slices.ContainsFunc(procAliases, func(a string) bool { return under(p, a) })
}

// reachesProc walks p one component at a time, as the kernel does, and
// returns the first prefix in /proc: "/dev/stdin/.." is /proc/self/fd in
// the container although it cleans to "/dev".
func reachesProc(p string) (string, bool) {
	cur := "/"
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." {
			continue
		}
		cur = path.Join(cur, part)
		if inProc(cur) {
			return cur, true
		}
	}
	return cur, false
}

// resolveInRoot follows symlinks of p inside rootfs (never outside it, like
// runc's securejoin) and returns the container path it names. It only reads
// the rootfs; a component that does not exist ends the walk.
func resolveInRoot(rootfs, p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0 && hops < 255; hops++ {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		next := path.Join(cur, part)
		if inProc(next) {
			// runc's /dev links and /proc do not exist in the rootfs:
			// what follows is resolved in /proc, not here.
			return next
		}
		fi, err := os.Lstat(filepath.Join(rootfs, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			if err != nil {
				// Unresolved rest, uncleaned: checkCwd walks it.
				return cur + "/" + strings.Join(parts, "/")
			}
			continue
		}
		target, err := os.Readlink(filepath.Join(rootfs, next))
		if err != nil {
			return path.Join(append([]string{next}, parts...)...)
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		parts = append(strings.Split(strings.TrimPrefix(target, "/"), "/"), parts...)
	}
	return cur
}

func rootfsPath(ctx *modifier.Context, s *specs.Spec) string {
	if s == nil || s.Root == nil || s.Root.Path == "" {
		return ""
	}
	if filepath.IsAbs(s.Root.Path) || ctx.Bundle == "" {
		return s.Root.Path
	}
	return filepath.Join(ctx.Bundle, s.Root.Path)
}

func checkNonRoot(ctx *modifier.Context, p *policy.Profile, uid uint32, path string) error {
	if !p.Process.RequireNonRoot || uid != 0 {
		return nil
	}
	return deny("process.require_non_root",
		fmt.Sprintf("%s is 0 (root)", path),
		fix(ctx, "run the image as a non-root user (USER, --user, runAsUser), or set process.require_non_root = false"), ctlNonRoot)
}

// ensureRlimit sets an rlimit that is absent; an engine's own value is
// kept. The value is capped at the runtime's own hard limit, which runc's
// init inherits from the engine's shim: in a user namespace it cannot raise
// a hard limit (setrlimit needs CAP_SYS_RESOURCE in the host's namespace),
// and the container would fail to start.
func (m *ProcessModifier) ensureRlimit(proc *specs.Process, typ string, v uint64, rule string, r *modifier.Report) {
	if v == 0 || slices.ContainsFunc(proc.Rlimits, func(l specs.POSIXRlimit) bool { return l.Type == typ }) {
		return
	}
	reason := "a limit the container does not inherit from the runtime"
	if hard, ok := m.hardLimit(typ); ok && hard < v {
		v = hard
		reason += fmt.Sprintf(" (the profile's value capped at the runtime's own hard limit %d)", hard)
	}
	l := specs.POSIXRlimit{Type: typ, Hard: v, Soft: v}
	proc.Rlimits = append(proc.Rlimits, l)
	r.Set("process.rlimits["+typ+"]", nil, l, rule, reason, ctlRlimits)
}

// ownHardLimit reads this process's hard limit; reading changes nothing,
// so it runs in DryRun too.
func ownHardLimit(typ string) (uint64, bool) {
	res, ok := map[string]int{"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC}[typ]
	if !ok {
		return 0, false
	}
	var l unix.Rlimit
	if err := unix.Getrlimit(res, &l); err != nil || l.Max == unix.RLIM_INFINITY {
		return 0, false
	}
	return l.Max, true
}

// raiseOOMScoreAdj keeps the container at least as killable as host
// processes. An absent value is set too: the process would inherit the
// engine shim's (often negative) score.
func raiseOOMScoreAdj(proc *specs.Process, floor int, r *modifier.Report) {
	if proc.OOMScoreAdj != nil && *proc.OOMScoreAdj >= floor {
		return
	}
	before := deref(proc.OOMScoreAdj)
	proc.OOMScoreAdj = ptr(floor)
	r.Set("process.oomScoreAdj", before, floor, "process.min_oom_score_adj",
		"the container must not be less likely to be OOM-killed than host processes", "")
}
