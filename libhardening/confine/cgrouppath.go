package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// maxCgroupWalk bounds how many cgroups below a v1 target are read for
// processes; a larger tree is not a container's fresh cgroup.
const maxCgroupWalk = 4096

// checkPath refuses a cgroupsPath naming an existing cgroup that holds
// processes, in any hierarchy (every cgroup v1 controller, the named systemd
// hierarchy, the v2 unified one). A container's own cgroup is new at create
// (or empty, left over by a container of the same name), so any process
// there, or below it, belongs to the host or another container. Where the
// hierarchies cannot be read the launch is denied: could not check is not
// fine.
func (m *CgroupsModifier) checkPath(ctx *modifier.Context, s *specs.Spec) error {
	raw := ""
	if s.Linux != nil {
		raw = s.Linux.CgroupsPath
	}
	field := fmt.Sprintf("linux.cgroupsPath %q", raw)
	hs, err := m.hierarchies(ctx)
	if err != nil {
		return deny("cgroups.path", fmt.Sprintf("%s cannot be checked: %v", field, err),
			"run hardened-runc where /proc/self/mountinfo shows the host's cgroup hierarchies (no profile setting skips this check)", "")
	}
	targets, err := m.cgroupTargets(ctx, raw)
	if err != nil {
		return deny("cgroups.path", fmt.Sprintf("%s: %v", field, err),
			"write it as slice:prefix:name for the systemd cgroup driver", "")
	}
	checked := 0
	for _, h := range hs {
		for _, t := range targets {
			target := t.abs
			if !t.absolute {
				if h.own == "" {
					continue
				}
				target = path.Join(h.own, t.rel)
			}
			dir, ok := h.dirOf(m.hostRoot, target)
			if !ok {
				continue
			}
			checked++
			who, err := populated(dir, h.v2)
			if err != nil {
				return deny("cgroups.path", fmt.Sprintf("%s: cannot tell whether %s holds processes: %v", field, dir, err),
					"let the engine choose a new cgroup path for the container (no profile setting skips this check)", "")
			}
			if who != "" {
				return deny("cgroups.path", fmt.Sprintf("%s names an existing cgroup that holds processes not of this container (%s: %s)", field, dir, who),
					"let the engine choose a new cgroup path for the container (no profile setting allows joining a populated cgroup)", "")
			}
		}
	}
	if checked == 0 {
		return deny("cgroups.path", fmt.Sprintf("%s cannot be checked: no cgroup hierarchy mounted here shows it", field),
			"run hardened-runc in the host's cgroup namespace with the hierarchies mounted", "")
	}
	return nil
}

// cgroupTarget is a cgroup path as runc will compute it: absolute within
// each hierarchy, or relative to runc's own cgroup there.
type cgroupTarget struct {
	absolute bool
	abs, rel string
}

// cgroupTargets mirrors runc's specconv and cgroup managers: the cgroupfs
// driver cleans the path (a relative one cannot climb above runc's own
// cgroup; empty is the container ID, relative); the systemd driver takes
// "slice:prefix:name" and places the unit <prefix>-<name>.scope (or the
// slice <name>) under the expanded slice, below PID 1's cgroup. Every
// spelling runc versions use is returned.
func (m *CgroupsModifier) cgroupTargets(ctx *modifier.Context, raw string) ([]cgroupTarget, error) {
	if !ctx.SystemdCgroup {
		p := raw
		if p == "" {
			p = ctx.ContainerID
		}
		if strings.HasPrefix(p, "/") {
			return []cgroupTarget{{absolute: true, abs: path.Clean(p)}}, nil
		}
		rel := strings.TrimPrefix(path.Clean("/"+p), "/")
		return []cgroupTarget{{rel: rel}}, nil
	}
	slice, prefix, name := "system.slice", "runc", ctx.ContainerID
	if raw != "" {
		parts := strings.Split(raw, ":")
		if len(parts) != 3 {
			return nil, errors.New(`the systemd cgroup driver expects "slice:prefix:name"`)
		}
		slice, prefix, name = parts[0], parts[1], parts[2]
		if slice == "" {
			slice = "system.slice"
		}
	}
	parent, err := expandSlice(slice)
	if err != nil {
		return nil, err
	}
	var units []string
	switch {
	case strings.HasSuffix(name, ".slice"):
		units = []string{name}
		if p, err := expandSlice(name); err == nil {
			units = append(units, p)
		}
	case prefix == "":
		units = []string{"-" + name + ".scope", name + ".scope"}
	default:
		units = []string{prefix + "-" + name + ".scope"}
	}
	bases := []string{"/"}
	if init := m.initCgroup(); init != "/" {
		bases = append(bases, init)
	}
	var out []cgroupTarget
	for _, b := range bases {
		for _, u := range units {
			p := path.Join(b, parent, u)
			if strings.HasPrefix(u, "/") { // an expanded slice is absolute
				p = path.Join(b, u)
			}
			out = append(out, cgroupTarget{absolute: true, abs: p})
		}
	}
	return out, nil
}

// expandSlice turns "a-b-c.slice" into "/a.slice/a-b.slice/a-b-c.slice", as
// systemd (and runc's ExpandSlice) do.
func expandSlice(slice string) (string, error) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(slice, "/") {
		return "", fmt.Errorf("%q is not a systemd slice name", slice)
	}
	if name == "-" {
		return "/", nil
	}
	var b strings.Builder
	prefix := ""
	for _, c := range strings.Split(name, "-") {
		if c == "" {
			return "", fmt.Errorf("%q is not a systemd slice name", slice)
		}
		b.WriteString("/" + prefix + c + ".slice")
		prefix += c + "-"
	}
	return b.String(), nil
}

// initCgroup is PID 1's cgroup in the named systemd (or v2) hierarchy, less
// init.scope, where runc's systemd driver roots its paths; "/" if unknown.
func (m *CgroupsModifier) initCgroup() string {
	data, err := os.ReadFile(filepath.Join(m.hostRoot, "/proc/1/cgroup"))
	if err != nil {
		return "/"
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (f[1] == "name=systemd" || f[0] == "0") {
			return path.Clean("/" + strings.TrimSuffix(path.Clean(f[2]), "init.scope"))
		}
	}
	return "/"
}

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	mountpoint string
	root       string // the cgroup mounted there (mountinfo's root field)
	v2         bool
	// own is runc's (this process's) cgroup in the hierarchy, "" if
	// unknown; relative cgroupsPaths are below it.
	own string
}

// dirOf is the directory of cgroup target in h, false when the mount does not
// show it.
func (h hierarchy) dirOf(hostRoot, target string) (string, bool) {
	rel, ok := strings.CutPrefix(target, h.root)
	if !ok || (h.root != "/" && rel != "" && !strings.HasPrefix(rel, "/")) {
		return "", false
	}
	return filepath.Join(hostRoot, h.mountpoint, rel), true
}

// hierarchies reads the cgroup and cgroup2 mounts of this process's mount
// namespace and its own cgroup in each.
func (m *CgroupsModifier) hierarchies(ctx *modifier.Context) ([]hierarchy, error) {
	mounts, err := m.mounts(ctx)
	if err != nil {
		return nil, err
	}
	own, _ := os.ReadFile(filepath.Join(m.hostRoot, "/proc/self/cgroup"))
	var out []hierarchy
	for _, mi := range mounts {
		if mi.FSType != "cgroup" && mi.FSType != "cgroup2" {
			continue
		}
		h := hierarchy{mountpoint: mi.Mountpoint, root: mi.Root, v2: mi.FSType == "cgroup2"}
		h.own = ownCgroup(string(own), h.v2, strings.Split(mi.VFSOptions, ","))
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	return out, nil
}

// mounts is the launch's mount table (Context.Mounts), or the one under
// hostRoot in tests.
func (m *CgroupsModifier) mounts(ctx *modifier.Context) ([]*mountinfo.Info, error) {
	if m.hostRoot == "" {
		return ctx.Mounts()
	}
	f, err := os.Open(filepath.Join(m.hostRoot, "/proc/self/mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mountinfo.GetMountsFromReader(f, nil)
}

// ownCgroup finds this process's cgroup for a hierarchy in /proc/self/cgroup:
// the "0::" line for v2, else the line whose controllers the mount carries.
func ownCgroup(procCgroup string, v2 bool, superOpts []string) string {
	for _, line := range strings.Split(procCgroup, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if v2 {
			if f[0] == "0" && f[1] == "" {
				return f[2]
			}
			continue
		}
		if f[1] == "" {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if slices.Contains(superOpts, c) {
				return f[2]
			}
		}
	}
	return ""
}

// populated returns a description of a process in cgroup dir or below it, ""
// when there is none or dir does not exist (runc will create it fresh).
func populated(dir string, v2 bool) (string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if v2 {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if line == "populated 1" {
					return "populated", nil
				}
			}
			return "", nil
		}
		if !errors.Is(err, fs.ErrNotExist) { // the root cgroup has no cgroup.events
			return "", err
		}
	}
	seen := 0
	var who string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if seen++; seen > maxCgroupWalk {
			return fmt.Errorf("more than %d cgroups below it", maxCgroupWalk)
		}
		procs, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return err
		}
		if pid, _, _ := strings.Cut(strings.TrimSpace(string(procs)), "\n"); pid != "" {
			who = "pid " + pid
			if p != dir {
				who += " in " + p
			}
			return fs.SkipAll
		}
		return nil
	})
	return who, err
}
