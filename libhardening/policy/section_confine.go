package policy

import (
	"fmt"
	"path"
	"strings"
)

// The sections in this file are owned by libhardening/confine.

// Capabilities limits every capability set of the container's processes.
type Capabilities struct {
	// Allow is the allow list, names without the CAP_ prefix. Every set
	// (bounding, effective, permitted, inheritable, ambient) is reduced to
	// it; nothing outside it is ever granted.
	Allow []string `toml:"allow"`
	// Reduce is the strict control for the capabilities an engine grants
	// by default beyond Allow (Docker's FSETID, MKNOD, NET_RAW, SETFCAP,
	// SETPCAP, SYS_CHROOT, AUDIT_WRITE): enforce drops them, audit keeps
	// them and records which would be dropped, off keeps them.
	Reduce ControlMode `toml:"reduce"`
	// OnRequest is what happens to a capability the engine was explicitly
	// asked for (`docker run --cap-add`, read from Docker's hostconfig.json,
	// or any capability outside every engine's default set) that is not in
	// Allow: deny refuses the launch, drop removes it and records that. It
	// applies when Reduce is enforce.
	OnRequest OnRequest `toml:"on_request"`
	// AllowPrivileged lets a "privileged" spec (all capabilities, no
	// seccomp, no masked paths, all devices) through unchanged. Off: such a
	// spec is denied, never silently weakened.
	AllowPrivileged bool `toml:"allow_privileged"`
}

func (c *Capabilities) validate() error {
	if err := c.Reduce.validate("capabilities.reduce"); err != nil {
		return err
	}
	if err := c.OnRequest.validate("capabilities.on_request"); err != nil {
		return err
	}
	for _, n := range c.Allow {
		if n != strings.ToUpper(n) || strings.HasPrefix(n, "CAP_") {
			return fmt.Errorf("field capabilities.allow: %q: write capability names upper-case without CAP_ (e.g. NET_BIND_SERVICE)", n)
		}
	}
	return nil
}

// Privileges controls privilege escalation of the container's processes.
type Privileges struct {
	// NoNewPrivileges forces process.noNewPrivileges (setuid binaries do
	// not escalate).
	NoNewPrivileges bool `toml:"no_new_privileges"`
}

func (*Privileges) validate() error { return nil }

// Rootfs controls the root filesystem.
type Rootfs struct {
	// Readonly is the strict control for the root filesystem. enforce makes
	// it read-only (root.readonly), so the image cannot be modified at run
	// time; audit leaves it writable and records, when the container is
	// deleted, the paths it wrote outside its tmpfs and volumes (read from
	// the engine's writable layer); off leaves the caller's choice.
	Readonly ControlMode `toml:"readonly"`
	// Tmpfs lists the paths that get a writable tmpfs when the root is
	// read-only (enforce), so ordinary images still start.
	Tmpfs []string `toml:"tmpfs"`
	// TmpfsSize is the size= option of those tmpfs mounts, e.g. "64m".
	TmpfsSize string `toml:"tmpfs_size"`
	// TmpfsOptions are the mount options of those tmpfs mounts.
	TmpfsOptions []string `toml:"tmpfs_options"`
	// TmpfsNoexec is the strict control for noexec on those tmpfs mounts:
	// enforce adds noexec, audit and off leave it out (audit records the
	// mounts that would be noexec; exec from them is not observable
	// without an audit daemon).
	TmpfsNoexec ControlMode `toml:"tmpfs_noexec"`
}

func (r *Rootfs) validate() error {
	if err := r.Readonly.validate("rootfs.readonly"); err != nil {
		return err
	}
	if err := r.TmpfsNoexec.validate("rootfs.tmpfs_noexec"); err != nil {
		return err
	}
	for _, p := range r.Tmpfs {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("field rootfs.tmpfs: %q is not an absolute path", p)
		}
	}
	return nil
}

// Paths are the masked and read-only paths; the pipeline adds these to
// whatever the caller asked for, it never removes any.
type Paths struct {
	// Masked paths (linux.maskedPaths) are hidden from the container: host
	// information and hardware interfaces under /proc and /sys.
	Masked []string `toml:"masked"`
	// Readonly paths (linux.readonlyPaths) are mounted read-only: kernel
	// settings such as /proc/sys and /proc/sysrq-trigger.
	Readonly []string `toml:"readonly"`
}

func (*Paths) validate() error { return nil }

// Namespaces controls which namespaces a container gets and may join.
type Namespaces struct {
	// Required namespaces are added when absent (pid, network, ipc, uts,
	// mount, cgroup).
	Required []string `toml:"required"`
	// AllowHost lists namespace types that may be the host's (e.g.
	// ["network"] for a host-network workload). Empty denies all.
	AllowHost []string `toml:"allow_host"`
}

func (n *Namespaces) validate() error {
	for _, t := range append(append([]string{}, n.Required...), n.AllowHost...) {
		if err := oneOf("namespaces", t, "pid", "network", "ipc", "uts", "mount", "cgroup", "user", "time"); err != nil {
			return err
		}
	}
	return nil
}

// Mounts controls bind mounts and propagation.
type Mounts struct {
	// DenySources are host paths (globs) that may never be bind-mounted,
	// read-only or not: container-engine sockets.
	DenySources []string `toml:"deny_sources"`
	// DenyWritableSources are host paths that may only be bind-mounted
	// read-only (/, /etc, /usr, ...). A glob "/lib*" matches /lib64.
	DenyWritableSources []string `toml:"deny_writable_sources"`
	// AllowSources are exceptions to the two lists above.
	AllowSources []string `toml:"allow_sources"`
	// AllowSharedPropagation permits shared/rshared propagation.
	AllowSharedPropagation bool `toml:"allow_shared_propagation"`
	// EngineSockets are the host paths of container-engine sockets. A bind
	// mount of any directory that contains one is denied even read-only:
	// a read-only mount does not stop connect(2) on a unix socket.
	EngineSockets []string `toml:"engine_sockets"`
	// AllowKernelFS lists container destinations where an extra proc or
	// sysfs mount is allowed; the container's own /proc and /sys always are.
	AllowKernelFS []string `toml:"allow_kernel_fs"`
	// AllowTypes lists mount types allowed beyond bind, tmpfs, proc,
	// sysfs, mqueue, devpts, cgroup and cgroup2 (e.g. "overlay" for
	// Podman's `:O` volumes). Any other type is denied: a filesystem mount
	// reaches host devices and directories the bind rules never see. The
	// host paths in an allowed type's options (overlay lowerdir, upperdir,
	// workdir) are checked like bind sources.
	AllowTypes []string `toml:"allow_types"`
}

func (m *Mounts) validate() error {
	lists := []struct {
		name string
		v    []string
	}{{"deny_sources", m.DenySources}, {"deny_writable_sources", m.DenyWritableSources}, {"allow_sources", m.AllowSources}}
	for _, l := range lists {
		for _, g := range l.v {
			if _, err := path.Match(strings.TrimPrefix(g, "*/"), "/"); err != nil {
				return fmt.Errorf("field mounts.%s: %q: %w", l.name, g, err)
			}
		}
	}
	for _, t := range m.AllowTypes {
		if t == "" || strings.ContainsAny(t, " ,/") {
			return fmt.Errorf("field mounts.allow_types: %q is not a filesystem type name", t)
		}
	}
	for _, p := range append(append([]string{}, m.EngineSockets...), m.AllowKernelFS...) {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("field mounts: %q is not an absolute path", p)
		}
	}
	return nil
}

// Devices controls device nodes and device cgroup rules.
type Devices struct {
	// Allow lists extra device paths (e.g. "/dev/fuse") the container may
	// have, beyond the default character devices, with their device cgroup
	// rules. "*" allows every device, including an `allow a rwm` rule.
	Allow []string `toml:"allow"`
}

func (*Devices) validate() error { return nil }

// Sysctls controls namespaced sysctls the container may set.
type Sysctls struct {
	// Allow lists sysctl names (globs) beyond the Kubernetes safe set.
	Allow []string `toml:"allow"`
}

func (*Sysctls) validate() error { return nil }

// Process controls the container process.
type Process struct {
	// RequireNonRoot denies a process running as uid 0 (restricted).
	RequireNonRoot bool `toml:"require_non_root"`
	// Nofile and Nproc are RLIMIT_NOFILE/RLIMIT_NPROC set when absent.
	Nofile uint64 `toml:"nofile"`
	Nproc  uint64 `toml:"nproc"`
	// MinOOMScoreAdj is the lowest oomScoreAdj allowed (the host default
	// is 0: a container must not make itself less likely to be killed than
	// host processes).
	MinOOMScoreAdj int `toml:"min_oom_score_adj"`
}

func (*Process) validate() error { return nil }

// Cgroups sets resource limits.
type Cgroups struct {
	// PidsLimit is set when absent or unlimited; PidsMax clamps what the
	// caller asks for.
	PidsLimit int64 `toml:"pids_limit"`
	PidsMax   int64 `toml:"pids_max"`
	// Memory is the default memory limit ("512m", "2g") when absent;
	// MemoryMax clamps it. Swap is set to the memory limit (no swap).
	Memory    string `toml:"memory"`
	MemoryMax string `toml:"memory_max"`
	// CPUShares is the default cpu.shares when absent.
	CPUShares uint64 `toml:"cpu_shares"`
	// CPUQuota/CPUPeriod cap CPU time when absent (0: no cap).
	CPUQuota  int64  `toml:"cpu_quota"`
	CPUPeriod uint64 `toml:"cpu_period"`
	// BlkioWeight is the default blkio weight when absent (0: unset).
	BlkioWeight uint16 `toml:"blkio_weight"`
}

func (c *Cgroups) validate() error {
	if c.PidsLimit <= 0 {
		return fmt.Errorf("field cgroups.pids_limit: must be > 0 (a container is never unlimited)")
	}
	if c.PidsMax != 0 && c.PidsMax < c.PidsLimit {
		return fmt.Errorf("field cgroups.pids_max: %d is below pids_limit %d", c.PidsMax, c.PidsLimit)
	}
	for _, f := range []struct{ name, v string }{{"memory", c.Memory}, {"memory_max", c.MemoryMax}} {
		if f.v == "" {
			continue
		}
		if _, err := ParseBytes(f.v); err != nil {
			return fmt.Errorf("field cgroups.%s: %w", f.name, err)
		}
	}
	return nil
}
