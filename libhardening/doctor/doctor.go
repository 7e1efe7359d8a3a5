// Package doctor reports what this host can and cannot enforce for
// hardened-runc: user namespaces and subordinate IDs, idmapped mounts per
// filesystem, seccomp, LSMs, cgroups, the lower runc and its known CVEs,
// sysctls that widen the kernel attack surface, which engines use
// hardened-runc, and the forensics directory. Each finding carries a
// status, the reason and the fix; findings a selected profile requires are
// marked so `hardenctl doctor` can exit non-zero.
package doctor

import (
	"path/filepath"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Status of a check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	// Skip means the check could not run here (e.g. needs root).
	Skip Status = "skip"
)

// Check is one finding.
type Check struct {
	// Name is stable for scripts, e.g. "userns.subid".
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Required says a selected profile needs this to launch containers;
	// a required check that fails makes the host unfit.
	Required bool `json:"required,omitempty"`
}

// Options says which host and which policy to check.
type Options struct {
	Config *policy.Config
	// Profiles are the profiles whose requirements the host must meet.
	Profiles []*policy.Profile
	// Root prefixes every host path read (/etc, /proc, /sys), for tests.
	// Probes that act on the kernel (idmapped mounts, runc) ignore it.
	Root string
	// EngineConfigs overrides an engine's config path (tests, odd hosts).
	EngineConfigs map[string]string
	// ProbeDirs are the directories whose filesystems are tested for
	// idmapped mounts; nil means the container storage and run dirs.
	ProbeDirs []string
	// NoProbes skips checks that mount, unshare or exec (unit tests).
	NoProbes bool
}

func (o Options) path(p string) string {
	if o.Root == "" {
		return p
	}
	return filepath.Join(o.Root, p)
}

// Run performs every check.
func Run(o Options) []Check {
	if o.Config == nil {
		o.Config = policy.DefaultConfig()
	}
	req := requirementsOf(o.Profiles)
	var checks []Check
	for _, f := range []func(Options, requirements) []Check{
		checkUserns, checkIdmap, checkSeccomp, checkLSM, checkCgroups,
		checkLower, checkSysctls, checkEngines, checkForensics,
	} {
		checks = append(checks, f(o, req)...)
	}
	return checks
}

// Unmet returns the required checks that failed.
func Unmet(checks []Check) []Check {
	var out []Check
	for _, c := range checks {
		if c.Required && c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// requirements is what the selected profiles need from the host.
type requirements struct {
	userns         bool
	subIDUsers     []string
	idmapFallback  string // the strictest fallback: "deny" beats the rest
	apparmor       bool
	selinux        bool
	seccompNotify  bool
	forensicsClose bool
	names          map[string][]string // requirement -> profiles asking for it
}

func requirementsOf(profiles []*policy.Profile) requirements {
	r := requirements{names: map[string][]string{}}
	seenUser := map[string]bool{}
	for _, p := range profiles {
		if p.Mode == policy.ModeOff {
			continue
		}
		if p.Userns.Mode == policy.UsernsEnabled {
			r.userns = true
			r.names["userns"] = append(r.names["userns"], p.Name)
			u := p.Userns.SubIDUser
			if u == "" {
				u = "hardened-runc"
			}
			if !seenUser[u] {
				seenUser[u] = true
				r.subIDUsers = append(r.subIDUsers, u)
			}
			if p.Userns.Fallback == "deny" || r.idmapFallback == "" {
				r.idmapFallback = p.Userns.Fallback
			}
		}
		if p.AppArmor.Mode == policy.MACRequired {
			r.apparmor = true
			r.names["apparmor"] = append(r.names["apparmor"], p.Name)
		}
		if p.SELinux.Mode == policy.MACRequired {
			r.selinux = true
			r.names["selinux"] = append(r.names["selinux"], p.Name)
		}
		if p.Seccomp.Mode == policy.SeccompLearn {
			r.seccompNotify = true
			r.names["seccomp"] = append(r.names["seccomp"], p.Name)
		}
		if p.Forensics.OnFailure != "fail-open" {
			r.forensicsClose = true
			r.names["forensics"] = append(r.names["forensics"], p.Name)
		}
	}
	if len(r.subIDUsers) == 0 && r.userns {
		r.subIDUsers = []string{"hardened-runc"}
	}
	return r
}
