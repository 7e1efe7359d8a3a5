package forensics

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// HostFacts are the host settings that decide how much a container escape
// or a kernel bug exposes. Values are the raw sysctl text; "" means the
// setting does not exist on this kernel.
type HostFacts struct {
	Kernel string `json:"kernel"`
	// LSMs is /sys/kernel/security/lsm ("" when securityfs is not mounted).
	LSMs                    string `json:"lsms,omitempty"`
	UnprivilegedUsernsClone string `json:"unprivileged_userns_clone,omitempty"`
	MaxUserNamespaces       string `json:"max_user_namespaces,omitempty"`
	UnprivilegedBPFDisabled string `json:"unprivileged_bpf_disabled,omitempty"`
	PerfEventParanoid       string `json:"perf_event_paranoid,omitempty"`
	UnprivilegedUserfaultfd string `json:"unprivileged_userfaultfd,omitempty"`
	// Cgroup is "v2", "v1" or "hybrid" (v1 with v2 at /sys/fs/cgroup/unified).
	Cgroup string `json:"cgroup"`
}

// ReadHostFacts reads the facts afresh at every launch. Five of them are
// sysctls an admin may change at any time, so a per-boot cache would record
// them as they were, not as they are; the reads cost about 0.1 ms (see
// BenchmarkHostFacts).
func ReadHostFacts(procRoot, sysRoot string) *HostFacts {
	h := &HostFacts{
		LSMs:                    readTrim(filepath.Join(sysRoot, "kernel/security/lsm")),
		UnprivilegedUsernsClone: readTrim(filepath.Join(procRoot, "sys/kernel/unprivileged_userns_clone")),
		MaxUserNamespaces:       readTrim(filepath.Join(procRoot, "sys/user/max_user_namespaces")),
		UnprivilegedBPFDisabled: readTrim(filepath.Join(procRoot, "sys/kernel/unprivileged_bpf_disabled")),
		PerfEventParanoid:       readTrim(filepath.Join(procRoot, "sys/kernel/perf_event_paranoid")),
		UnprivilegedUserfaultfd: readTrim(filepath.Join(procRoot, "sys/vm/unprivileged_userfaultfd")),
		Cgroup:                  cgroupVersion(sysRoot),
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return h
}

func cgroupVersion(sysRoot string) string {
	var st unix.Statfs_t
	if unix.Statfs(filepath.Join(sysRoot, "fs/cgroup"), &st) != nil {
		return ""
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "v2"
	}
	if unix.Statfs(filepath.Join(sysRoot, "fs/cgroup/unified"), &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "hybrid"
	}
	return "v1"
}

// readTrim reads a small /proc or /sys file with three system calls (open,
// read, close): os.ReadFile's stat and second read double the cost of
// host facts.
func readTrim(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var buf [256]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return ""
	}
	return strings.TrimSpace(string(buf[:n]))
}
