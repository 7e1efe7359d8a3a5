package doctor

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/apparmor"
	"github.com/hardened-runc/hardened-runc/libhardening/selinux"
)

func checkSeccomp(o Options, r requirements) []Check {
	var out []Check
	maj, min, mic := libseccomp.GetLibraryVersion()
	api, apiErr := libseccomp.GetAPI()
	lib := Check{Name: "seccomp.libseccomp", Status: OK,
		Detail: fmt.Sprintf("libseccomp %d.%d.%d, API level %d", maj, min, mic, api)}
	if apiErr != nil || maj < 2 || (maj == 2 && min < 5) {
		lib.Status = Warn
		lib.Detail += ": user notification (seccomp.mode \"learn\") needs libseccomp >= 2.5 (API level 6)"
		lib.Fix = "install libseccomp >= 2.5 and rebuild hardened-runc"
	}
	out = append(out, lib)
	actions, err := readTrim(o.path("/proc/sys/kernel/seccomp/actions_avail"))
	c := Check{Name: "seccomp.kernel"}
	switch {
	case err != nil:
		c.Status, c.Detail, c.Required = Fail, fmt.Sprintf("kernel seccomp filter support missing: %v", err), true
		c.Fix = "use a kernel with CONFIG_SECCOMP_FILTER=y"
	default:
		c.Status, c.Detail = OK, "kernel seccomp actions: "+actions
	}
	out = append(out, c)
	n := Check{Name: "seccomp.notify", Required: r.seccompNotify}
	switch {
	case err == nil && strings.Contains(actions, "user_notif") && lib.Status == OK:
		n.Status, n.Detail = OK, "seccomp user notification available (seccomp.mode \"learn\" works)"
	default:
		n.Status = Warn
		if r.seccompNotify {
			n.Status = Fail
		}
		n.Detail = "seccomp user notification unavailable: seccomp.mode \"learn\" cannot record syscalls"
		n.Fix = "kernel >= 5.0 and libseccomp >= 2.5"
	}
	return append(out, n)
}

func checkLSM(o Options, r requirements) []Check {
	var out []Check
	lsms, err := readTrim(o.path("/sys/kernel/security/lsm"))
	if err != nil {
		lsms = "unknown (" + err.Error() + ")"
	}
	out = append(out, Check{Name: "lsm.active", Status: OK, Detail: "active LSMs: " + lsms})

	aa := Check{Name: "lsm.apparmor", Required: r.apparmor}
	ok, why := apparmor.Available()
	aa.Detail = why
	switch {
	case ok:
		aa.Status = OK
	case r.apparmor:
		aa.Status, aa.Fix = Fail, "boot with apparmor=1 security=apparmor, or set apparmor.mode = \"if-available\" in "+strings.Join(r.names["apparmor"], ", ")
	default:
		aa.Status, aa.Fix = Warn, "containers run without AppArmor here (apparmor.mode \"if-available\" records it); enable AppArmor in the kernel to confine them"
	}
	out = append(out, aa)

	se := Check{Name: "lsm.selinux", Required: r.selinux}
	enforcing, why := selinux.Enforcing()
	switch {
	case enforcing:
		se.Status, se.Detail = OK, why
	case r.selinux:
		se.Status, se.Detail = Fail, why
		se.Fix = "enable SELinux (enforcing), or set selinux.mode = \"if-available\" in " + strings.Join(r.names["selinux"], ", ")
	default:
		se.Status, se.Detail = OK, why+" (selinux.mode \"if-available\" records it)"
	}
	out = append(out, se)

	ll := Check{Name: "lsm.landlock", Status: OK, Detail: "Landlock is active"}
	if !strings.Contains(lsms, "landlock") {
		ll.Status, ll.Detail = Warn, "Landlock is not active"
		ll.Fix = "add landlock to the lsm= boot parameter (kernel >= 5.13)"
	}
	return append(out, ll)
}

func checkCgroups(o Options, _ requirements) []Check {
	c := Check{Name: "cgroup.version", Status: OK}
	var st unix.Statfs_t
	root := o.path("/sys/fs/cgroup")
	switch {
	case unix.Statfs(root, &st) != nil:
		c.Status, c.Detail = Fail, "cannot stat "+root
	case st.Type == unix.CGROUP2_SUPER_MAGIC:
		c.Detail = "cgroup v2 (unified): every limit the profiles set is enforced"
	default:
		c.Status = Warn
		c.Detail = "cgroup v1"
		if _, err := os.Stat(root + "/unified"); err == nil {
			c.Detail = "cgroup v1 hybrid (v2 only at /sys/fs/cgroup/unified)"
		}
		c.Detail += ": memory.swap and some pids/io limits are weaker than on v2"
		c.Fix = "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2"
	}
	d := Check{Name: "cgroup.driver", Status: OK}
	if _, err := os.Stat(o.path("/run/systemd/system")); err == nil {
		d.Detail = "systemd is init: engines should use the systemd cgroup driver (containerd SystemdCgroup = true, dockerd native.cgroupdriver=systemd) to match the kubelet"
	} else {
		d.Detail = "no systemd: engines use the cgroupfs driver"
	}
	return []Check{c, d}
}

// sysctl is a kernel knob that widens the attack surface reachable from
// inside a container when set permissively.
type sysctl struct {
	name, path string
	bad        func(v string) bool
	why, fix   string
}

var sysctls = []sysctl{
	{"kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone",
		func(v string) bool { return v == "1" },
		"unprivileged users (and container processes) can create user namespaces, reaching kernel code otherwise root-only",
		"sysctl -w kernel.unprivileged_userns_clone=0 (hardened-runc creates namespaces as root and does not need it)"},
	{"user.max_user_namespaces", "/proc/sys/user/max_user_namespaces",
		func(v string) bool { return v != "0" },
		"user namespaces can be created; the seccomp profile blocks unshare/clone(CLONE_NEWUSER) inside containers",
		""},
	{"kernel.unprivileged_bpf_disabled", "/proc/sys/kernel/unprivileged_bpf_disabled",
		func(v string) bool { return v == "0" },
		"unprivileged eBPF is allowed: a classic kernel exploitation path",
		"sysctl -w kernel.unprivileged_bpf_disabled=1"},
	{"kernel.perf_event_paranoid", "/proc/sys/kernel/perf_event_paranoid",
		func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n < 2 },
		"perf events are open to unprivileged users",
		"sysctl -w kernel.perf_event_paranoid=3 (or at least 2)"},
	{"vm.unprivileged_userfaultfd", "/proc/sys/vm/unprivileged_userfaultfd",
		func(v string) bool { return v == "1" },
		"unprivileged userfaultfd helps win kernel races",
		"sysctl -w vm.unprivileged_userfaultfd=0"},
}

func checkSysctls(o Options, _ requirements) []Check {
	var out []Check
	for _, s := range sysctls {
		v, err := readTrim(o.path(s.path))
		c := Check{Name: "sysctl." + s.name}
		switch {
		case err != nil:
			c.Status, c.Detail = OK, s.name+" not present on this kernel"
		case s.bad(v) && s.fix != "":
			c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s = %s: %s", s.name, v, s.why), s.fix+"; persist it in /etc/sysctl.d/"
		case s.bad(v):
			c.Status, c.Detail = OK, fmt.Sprintf("%s = %s: %s", s.name, v, s.why)
		default:
			c.Status, c.Detail = OK, fmt.Sprintf("%s = %s", s.name, v)
		}
		out = append(out, c)
	}
	return out
}
