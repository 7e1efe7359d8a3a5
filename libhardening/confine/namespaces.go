package confine

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

// NamespacesModifier gives the container private namespaces and denies
// joining the host's unless the profile allows that type.
//
// Engines ask for a host namespace in two ways, and both are denied:
//   - by leaving the type out of linux.namespaces (`docker run --network=host`,
//     `--pid=host`, `--ipc=host`, `--uts=host`, Kubernetes hostNetwork/hostPID/
//     hostIPC);
//   - by a path to the host's namespace file (/proc/1/ns/net, or any path that
//     is the same nsfs inode, e.g. /proc/self/ns/net of the runtime).
//
// Adding a private namespace for an absent type would silently turn
// `--network=host` into "no network", so absent pid/network/ipc/uts are
// denied. Two absent types are added instead (recorded): cgroup, because
// Docker on cgroup v1 and `runc spec` omit it by default rather than on
// request, and a private one changes nothing a workload relies on; and mount
// (plus any other type the profile requires, such as time), because runc
// cannot run a container with a rootfs, masked paths or mounts without one,
// so absence is never a meaningful request for the host's.
//
// Joining another container's namespace (/proc/<pid>/ns/net of a pod's pause
// container, a CNI netns file under /run/netns) is allowed.
//
// The check fails closed: a namespace path is compared, by nsfs device and
// inode, with the namespaces hardened-runc itself runs in (/proc/self/ns)
// and with PID 1's where /proc/1/ns can be read (it cannot on some hosts,
// e.g. under a VM agent or with hidepid). A path that cannot be identified
// as a namespace, or that nothing can be compared with, is denied.
type NamespacesModifier struct {
	// identify returns the nsfs identity of a namespace file; tests
	// replace it so they do not depend on the host's processes.
	identify func(path string) (nsID, error)
	p        *policy.Profile
}

// Namespaces returns the "namespaces" control of profile p.
func Namespaces(p *policy.Profile) *NamespacesModifier {
	return &NamespacesModifier{identify: identifyNS, p: p}
}

// Name implements modifier.Modifier.
func (*NamespacesModifier) Name() string { return "namespaces" }

// deniedWhenAbsent are the types whose absence is how engines request the
// host's namespace.
var deniedWhenAbsent = []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace}

// Modify implements modifier.Modifier.
func (m *NamespacesModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	l := spec.EnsureLinux(s)
	allowHost := func(t specs.LinuxNamespaceType) bool { return slices.Contains(m.p.Namespaces.AllowHost, string(t)) }
	for _, name := range m.p.Namespaces.Required {
		t := specs.LinuxNamespaceType(name)
		i := slices.IndexFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == t })
		if i >= 0 {
			ns := l.Namespaces[i]
			if ns.Path == "" || allowHost(t) {
				continue
			}
			host, err := m.isHost(t, ns.Path)
			if err != nil {
				return deny("namespaces.allow_host",
					fmt.Sprintf("cannot tell whether %s namespace path %s is the host's: %v", t, ns.Path, err),
					fix(ctx, "give a path to a live namespace (/proc/<pid>/ns/%s or a bind-mounted nsfs file), or set namespaces.allow_host = [%q]", nsFile(t), t), nsControl(t))
			}
			if !host {
				continue
			}
			return deny("namespaces.allow_host",
				fmt.Sprintf("joining the host's %s namespace (%s)", t, ns.Path),
				fix(ctx, "set namespaces.allow_host = [%q]", t), nsControl(t))
		}
		if allowHost(t) {
			continue
		}
		if slices.Contains(deniedWhenAbsent, t) {
			return deny("namespaces.allow_host",
				fmt.Sprintf("the host's %s namespace (no %s entry in linux.namespaces, e.g. --%s=host)", t, t, hostFlag(t)),
				fix(ctx, "set namespaces.allow_host = [%q]", t), nsControl(t))
		}
		before := slices.Clone(l.Namespaces)
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: t})
		r.Set("linux.namespaces", before, slices.Clone(l.Namespaces), "namespaces.required",
			fmt.Sprintf("added a private %s namespace", t), nsControl(t))
	}
	return nil
}

// procOneNS matches literal paths to the host's namespace files: the host
// init's, or the runtime's own (/proc/self is hardened-runc or runc, which
// run in the host's namespaces).
// It is a plain string check, not a regexp: this package is linked into
// every hardened-runc invocation, and a package-level regexp is compiled at
// start-up even for `state`.
func procOneNS(p string) bool {
	for _, who := range []string{"1", "self", "thread-self"} {
		if ns, ok := strings.CutPrefix(p, "/proc/"+who+"/ns/"); ok {
			return ns != "" && strings.Trim(ns, "abcdefghijklmnopqrstuvwxyz_") == ""
		}
	}
	return false
}

// isHost reports whether the namespace file at p is the host's own: a
// literal /proc/1/ns or /proc/self/ns path, or the same nsfs device and
// inode as the namespace of that type hardened-runc runs in, or PID 1's
// (which also catches bind-mounted copies and /proc/<pid>/ns of any host
// process). It returns an error where it cannot decide: p is not a
// namespace file, or no reference namespace can be read. Comparing inodes
// only reads the host, so it runs in DryRun.
func (m *NamespacesModifier) isHost(t specs.LinuxNamespaceType, p string) (bool, error) {
	if procOneNS(filepath.Clean(p)) {
		return true, nil
	}
	id, err := m.identify(p)
	if err != nil {
		return false, err
	}
	self, err := m.identify("/proc/self/ns/" + nsFile(t))
	if err != nil {
		return false, fmt.Errorf("the runtime's own %s namespace cannot be read to compare with: %w", t, err)
	}
	if id == self {
		return true, nil
	}
	// PID 1 may be unreadable (this is why self is compared too).
	init, err := m.identify("/proc/1/ns/" + nsFile(t))
	return err == nil && id == init, nil
}

// nsID identifies a namespace: its nsfs device and inode.
type nsID struct{ dev, ino uint64 }

// identifyNS stats a namespace file and checks that it is one: a path to
// a regular file or directory is not a namespace runc could join, and a
// path that cannot be stat'ed (a process that is gone) cannot be compared.
func identifyNS(p string) (nsID, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(p, &fs); err != nil {
		return nsID{}, fmt.Errorf("statfs %s: %w", p, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return nsID{}, fmt.Errorf("%s is not a namespace file (filesystem type %#x, not nsfs)", p, fs.Type)
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return nsID{}, fmt.Errorf("stat %s: %w", p, err)
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	default:
		return string(t)
	}
}

func hostFlag(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "network"
	default:
		return string(t)
	}
}

func nsControl(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "CIS Docker 5.9; PSS baseline: hostNetwork"
	case specs.PIDNamespace:
		return "CIS Docker 5.15; PSS baseline: hostPID"
	case specs.IPCNamespace:
		return "CIS Docker 5.16; PSS baseline: hostIPC"
	case specs.UTSNamespace:
		return "CIS Docker 5.20"
	case specs.UserNamespace:
		return "CIS Docker 5.30"
	}
	return ""
}
