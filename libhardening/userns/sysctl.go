package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// foreignNetSysctls takes the net.* sysctls out of a spec whose network
// namespace is joined by path and owned by another user namespace, and has
// hardened-runc write them itself, as host root, in that namespace right
// before runc runs. runc writes sysctls from inside the container's user
// namespace, which may not write those of a namespace it does not own:
// containerd 2.x sets net.ipv4.ip_unprivileged_port_start and
// net.ipv4.ping_group_range on every pod sandbox, in the CNI network
// namespace it made in the host's user namespace, and no pod started. The
// values are the caller's, already held to the profile's allow list by the
// sysctls control (which runs before this modifier); the namespace is the
// pod's own, never the host's (the namespaces control denies that).
func foreignNetSysctls(ctx *modifier.Context, s *specs.Spec, j *joined, r *modifier.Report) {
	n, ok := namespace(s, specs.NetworkNamespace)
	if !ok || n.Path == "" || !j.Foreign[specs.NetworkNamespace] || s.Linux == nil {
		return
	}
	var keys []string
	for k := range s.Linux.Sysctl {
		if strings.HasPrefix(k, "net.") {
			keys = append(keys, k)
		}
	}
	moved := make(map[string]string, len(keys)+1)
	for _, k := range keys {
		moved[k] = s.Linux.Sysctl[k]
		r.Set("linux.sysctl["+k+"]", moved[k], nil, ruleMode,
			fmt.Sprintf("the network namespace %s is owned by another user namespace, so runc could not write it from the container's (EACCES); hardened-runc writes it in that namespace as host root before runc runs", n.Path), "")
		delete(s.Linux.Sysctl, k)
	}
	// A capability the container holds counts in the user namespace that
	// owns the network namespace, not in the container's: NET_BIND_SERVICE,
	// which the profile grants, would not let it bind port 80 in a pod's
	// CNI namespace. The pod's own namespace then lets its processes bind
	// low ports, as containerd 2.x sets for every pod by default.
	if _, set := moved[unprivilegedPortStart]; !set && holdsCap(s, "CAP_NET_BIND_SERVICE") {
		moved[unprivilegedPortStart] = "0"
		keys = append(keys, unprivilegedPortStart)
		r.Set("linux.sysctl["+unprivilegedPortStart+"]", nil, "0", ruleMode,
			fmt.Sprintf("the network namespace %s is owned by another user namespace, where the container's NET_BIND_SERVICE does not count: its low ports are opened to the pod instead (as containerd 2.x does for every pod)", n.Path), "")
	}
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	path := n.Path
	ctx.Effect(func(ctx *modifier.Context, _ *specs.Spec, _ *modifier.Report) error {
		ctx.BeforeExec = append(ctx.BeforeExec, func() error {
			if err := writeNetSysctls(path, keys, moved); err != nil {
				return fmt.Errorf("userns: sysctls of network namespace %s: %w", path, err)
			}
			return nil
		})
		return nil
	})
}

const unprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start"

// holdsCap reports whether the container's process keeps capability c.
func holdsCap(s *specs.Spec, c string) bool {
	return s.Process != nil && s.Process.Capabilities != nil && slices.Contains(s.Process.Capabilities.Bounding, c)
}

// writeNetSysctls writes sysctls in the network namespace at nsPath, from
// a thread that joins it and then ends with its goroutine: /proc/sys/net is
// the calling thread's namespace, and a locked thread that exits is not
// reused, so no other goroutine ever runs in that namespace.
func writeNetSysctls(nsPath string, keys []string, values map[string]string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends here
		errc <- joinAndWrite(nsPath, keys, values)
	}()
	return <-errc
}

func joinAndWrite(nsPath string, keys []string, values map[string]string) error {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	for _, k := range keys {
		if strings.Contains(k, "/") || strings.Contains(k, "..") {
			return fmt.Errorf("sysctl %q: not a sysctl name", k)
		}
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(values[k]), 0); err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	return nil
}
