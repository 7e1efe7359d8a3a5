package confine

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
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
type NamespacesModifier struct {
	// sameFile reports whether two paths are the same inode; tests
	// replace it so they do not depend on the host's processes.
	sameFile func(a, b string) bool
}

// Namespaces returns the "namespaces" control.
func Namespaces() *NamespacesModifier { return &NamespacesModifier{sameFile: sameInode} }

// Name implements modifier.Modifier.
func (*NamespacesModifier) Name() string { return "namespaces" }

// deniedWhenAbsent are the types whose absence is how engines request the
// host's namespace.
var deniedWhenAbsent = []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace}

// Modify implements modifier.Modifier.
func (m *NamespacesModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	p, err := profile(ctx)
	if err != nil {
		return err
	}
	l := spec.EnsureLinux(s)
	allowHost := func(t specs.LinuxNamespaceType) bool { return slices.Contains(p.Namespaces.AllowHost, string(t)) }
	for _, name := range p.Namespaces.Required {
		t := specs.LinuxNamespaceType(name)
		i := slices.IndexFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == t })
		if i >= 0 {
			ns := l.Namespaces[i]
			if ns.Path == "" || allowHost(t) || !m.isHost(t, ns.Path) {
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
// inode as the host init's (which also catches bind-mounted copies).
// Comparing inodes only reads the host, so it runs in DryRun.
func (m *NamespacesModifier) isHost(t specs.LinuxNamespaceType, p string) bool {
	if procOneNS(filepath.Clean(p)) {
		return true
	}
	return m.sameFile(p, "/proc/1/ns/"+nsFile(t))
}

// sameInode compares device and inode; a path that cannot be stat'ed (a
// container that is gone, /proc/1 unreadable) is not the host's.
func sameInode(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
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
