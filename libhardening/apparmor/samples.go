package apparmor

import (
	"slices"

	"github.com/moby/sys/capability"
)

// Sample is a representative container for checking a template: `hardenctl
// apparmor validate` renders a template with each and compiles the result.
type Sample struct {
	Name string
	Data Data
}

// Samples covers what the shipped profiles produce plus the extremes: no
// capability, every capability the kernel headers know, and mount paths
// that need escaping.
func Samples() []Sample {
	writable := []string{"/dev", "/dev/mqueue", "/dev/pts", "/dev/shm", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/proc", "/run", "/tmp", "/var/tmp"}
	docker := []string{"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod", "net_bind_service", "net_raw", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"}
	var all []string
	for _, c := range capability.ListKnown() {
		all = append(all, c.String())
	}
	slices.Sort(all)
	return []Sample{
		{"default profile", Data{Caps: []string{"chown", "dac_override", "fowner", "kill", "net_bind_service", "setgid", "setuid"}, ReadonlyRoot: true, WritablePaths: writable}},
		{"restricted profile", Data{Caps: []string{"net_bind_service"}, ReadonlyRoot: true, WritablePaths: writable}},
		{"no capabilities", Data{ReadonlyRoot: true, WritablePaths: writable}},
		{"baseline profile", Data{Caps: slices.DeleteFunc(slices.Clone(docker), func(c string) bool { return c == "net_raw" })}},
		{"docker defaults", Data{Caps: docker, NetRaw: true}},
		{"every capability", Data{Caps: all, NetRaw: true}},
		{"paths that need escaping", Data{ReadonlyRoot: true, WritablePaths: []string{"/my dir", "/a*b?c[d]e{f}g^h", `/q"uote\back`, "/@{HOME}", "/x,y"}}},
	}
}
