package confine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// dockerSetkey is argv[0] of Docker's own prestart hook: dockerd re-executes
// itself under this name to hand the container's network namespace to
// libnetwork (moby daemon/oci_linux.go, withLibnetwork).
const dockerSetkey = "libnetwork-setkey"

// procExe matches /proc/<pid>/exe, the path Docker 20.10+ writes for its hook.
var procExe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/proc/[0-9]+/exe$`) })

// fileID identifies a file by device and inode: what a hook would run,
// whatever path or link named it.
type fileID struct{ dev, ino uint64 }

// HooksModifier denies OCI hooks whose executable is not one the profile
// allows. runc runs hooks as host root, with every capability, in the host's
// namespaces (createRuntime, prestart, poststart, poststop), so a hook is a
// host-root command chosen by whoever wrote the spec. The executable is
// decided on the real file: the hook's path is resolved (symlinks and the
// /proc/PID/exe magic link followed) and compared by device and inode with
// the files hooks.allow and hooks.docker name, never by its spelling or its
// argv.
type HooksModifier struct {
	// stat returns the identity of the file path resolves to; readlink
	// reads a link without following it. Tests replace both.
	stat     func(path string) (fileID, error)
	readlink func(path string) (string, error)
	p        *policy.Profile
}

// Hooks returns the "hooks" control of profile p.
func Hooks(p *policy.Profile) *HooksModifier {
	return &HooksModifier{stat: statID, readlink: os.Readlink, p: p}
}

// Name implements modifier.Modifier.
func (*HooksModifier) Name() string { return "hooks" }

// Modify implements modifier.Modifier.
func (m *HooksModifier) Modify(ctx *modifier.Context, s *specs.Spec, _ *modifier.Report) error {
	if s.Hooks == nil {
		return nil
	}
	if m.stat == nil || m.readlink == nil {
		m = Hooks(m.p)
	}
	allow, docker := m.ids(m.p.Hooks.Allow), m.ids(m.p.Hooks.Docker)
	for _, k := range hookList(s.Hooks) {
		for _, h := range k.hooks {
			why, err := m.check(ctx, m.p, k.kind, h, allow, docker)
			if err != nil {
				return err
			}
			ctx.Note("hooks: %s hook %s allowed: %s", k.kind, h.Path, why)
		}
	}
	return nil
}

type hookKind struct {
	kind  string
	hooks []specs.Hook
}

func hookList(h *specs.Hooks) []hookKind {
	return []hookKind{
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
}

// check decides one hook and returns why it may run.
func (m *HooksModifier) check(ctx *modifier.Context, p *policy.Profile, kind string, h specs.Hook, allow, docker map[fileID]string) (string, error) {
	if !filepath.IsAbs(h.Path) {
		return "", deny("hooks.allow", fmt.Sprintf("hook path %q is not absolute", h.Path),
			fix(ctx, "give the hook's absolute path and add it to hooks.allow"), "")
	}
	if strings.HasPrefix(path.Clean(h.Path), "/proc/") && !runsAtCreate(kind) {
		// Checked now, run at start or delete: by then the pid may be
		// another process, e.g. one of a container's, whose binary would
		// run as host root.
		return "", deny("hooks.allow", fmt.Sprintf("%s hook %s names a process's file, and runs after create when the pid may be another process", kind, h.Path),
			fix(ctx, "name the executable by its own path and add it to hooks.allow"), "")
	}
	if env := loaderEnv(h.Env); env != "" {
		return "", deny("hooks.allow", fmt.Sprintf("hook %s sets %s, which makes any executable run the caller's code as host root", h.Path, env),
			fix(ctx, "remove %s from the hook's env (no profile setting allows it)", env), "")
	}
	id, err := m.stat(h.Path)
	if err != nil {
		return "", deny("hooks.allow", fmt.Sprintf("hook %s cannot be resolved to a file: %v", h.Path, err),
			fix(ctx, "install the hook's executable and add its path to hooks.allow"), "")
	}
	real := m.realPath(h.Path)
	if name, ok := allow[id]; ok {
		return "it is " + name + " (hooks.allow)", nil
	}
	name, isDocker := docker[id]
	if !isDocker {
		name, isDocker = m.deletedDocker(h.Path, p.Hooks.Docker)
	}
	if isDocker {
		if len(h.Args) == 0 || h.Args[0] != dockerSetkey {
			argv0 := ""
			if len(h.Args) > 0 {
				argv0 = h.Args[0]
			}
			return "", deny("hooks.docker", fmt.Sprintf("hook %s runs dockerd as host root with argv[0] %q; only Docker's own %s hook may", h.Path, argv0, dockerSetkey),
				fix(ctx, "add %s to hooks.allow (any argv)", real), "")
		}
		return "it is dockerd (" + name + ") as " + dockerSetkey + " (hooks.docker)", nil
	}
	return "", deny("hooks.allow", fmt.Sprintf("hook %s (resolves to %s) would run as host root and is not an allowed hook executable", h.Path, real),
		fix(ctx, "add %q to hooks.allow", real), "")
}

// runsAtCreate reports whether runc runs hooks of kind during `create`
// itself, right after they were checked.
func runsAtCreate(kind string) bool {
	return kind == "prestart" || kind == "createRuntime" || kind == "createContainer"
}

// ids resolves the profile's paths to file identities; paths missing on this
// host are left out.
func (m *HooksModifier) ids(paths []string) map[fileID]string {
	out := make(map[fileID]string, len(paths))
	for _, p := range paths {
		if id, err := m.stat(p); err == nil {
			out[id] = p
		}
	}
	return out
}

// deletedDocker recognises /proc/PID/exe of a dockerd whose binary was
// replaced on disk (a package upgrade) while it kept running: the kernel
// reports the path it was started from with " (deleted)". The old inode is
// still that dockerd, so its own hook keeps working until the next restart.
func (m *HooksModifier) deletedDocker(hook string, docker []string) (string, bool) {
	if !procExe().MatchString(hook) {
		return "", false
	}
	target, err := m.readlink(hook)
	if err != nil {
		return "", false
	}
	target, deleted := strings.CutSuffix(target, " (deleted)")
	if !deleted {
		return "", false
	}
	for _, d := range docker {
		if target == d {
			return d, true
		}
		if r, err := filepath.EvalSymlinks(d); err == nil && r == target {
			return d, true
		}
	}
	return "", false
}

// realPath names the file a hook path resolves to, for messages.
func (m *HooksModifier) realPath(path string) string {
	if procExe().MatchString(path) {
		if t, err := m.readlink(path); err == nil {
			return t
		}
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// loaderEnv returns the first dynamic-loader variable in env: with one, an
// allowed binary loads whatever library the spec names.
func loaderEnv(env []string) string {
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(name, "LD_") || name == "GCONV_PATH" {
			return name
		}
	}
	return ""
}

func statID(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fileID{}, fmt.Errorf("not a regular file")
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, nil
}
