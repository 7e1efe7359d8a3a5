package confine

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// safeSysctls is the Kubernetes Pod Security "safe" set
// (pod-security-admission policy/check_sysctls.go, through 1.32): namespaced
// sysctls that cannot affect other containers or the host. Docker itself sets
// net.ipv4.ip_unprivileged_port_start and net.ipv4.ping_group_range.
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}

// SysctlsModifier allows only safe sysctls plus what the profile adds.
type SysctlsModifier struct{ p *policy.Profile }

// Sysctls returns the "sysctls" control of profile p.
func Sysctls(p *policy.Profile) *SysctlsModifier { return &SysctlsModifier{p: p} }

// Name implements modifier.Modifier.
func (*SysctlsModifier) Name() string { return "sysctls" }

// Modify implements modifier.Modifier. An unsafe sysctl is denied, not
// dropped: the workload asked for it and would misbehave without it.
func (m *SysctlsModifier) Modify(ctx *modifier.Context, s *specs.Spec, _ *modifier.Report) error {
	if s.Linux == nil {
		return nil
	}
	names := make([]string, 0, len(s.Linux.Sysctl))
	for k := range s.Linux.Sysctl {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// runc accepts "net/ipv4/..." as well as "net.ipv4...".
		n := strings.ReplaceAll(k, "/", ".")
		if slices.Contains(safeSysctls, n) || matchSysctl(m.p.Sysctls.Allow, n) {
			continue
		}
		return deny("sysctls.allow",
			fmt.Sprintf("sysctl %s=%q is not in the safe set", k, s.Linux.Sysctl[k]),
			fix(ctx, "add %q to sysctls.allow", k), ctlSysctls)
	}
	return nil
}

// matchSysctl matches dotted names against globs ("net.ipv4.conf.*"),
// treating "." as the separator.
func matchSysctl(globs []string, name string) bool {
	for _, g := range globs {
		if matchPath(dotsToSlashes(g), dotsToSlashes(name)) {
			return true
		}
	}
	return false
}

func dotsToSlashes(s string) string {
	b := []byte("/" + s)
	for i := range b {
		if b[i] == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}
