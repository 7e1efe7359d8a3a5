package lower

import (
	"strconv"
	"strings"
)

// Release is a version as runc and crun print it, ordered: 1.1.5,
// 1.1.5+ds1 (the same release), 1.0.0-rc95, 1.4.0-rc.3.
type Release struct {
	Major, Minor, Patch int
	Pre                 string // "" for a release, "rc" for a candidate
	PreNum              int
}

// ParseRelease reads a printed version ("v"? major.minor[.patch], then an
// optional pre-release "-rc95", "-rc.3" or Debian's "~rc1"; anything after
// is ignored); false when it is not one. Hand-written rather than a regexp:
// the runtime links this package, and every launch would pay to compile it.
func ParseRelease(s string) (Release, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	var r Release
	var ok bool
	if r.Major, s, ok = number(s); !ok || !strings.HasPrefix(s, ".") {
		return Release{}, false
	}
	if r.Minor, s, ok = number(s[1:]); !ok {
		return Release{}, false
	}
	if strings.HasPrefix(s, ".") {
		if n, rest, ok := number(s[1:]); ok {
			r.Patch, s = n, rest
		}
	}
	if s == "" || (s[0] != '-' && s[0] != '~') {
		return r, true
	}
	i := 1
	for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		i++
	}
	if i == 1 {
		return r, true
	}
	r.Pre, s = s[1:i], s[i:]
	r.PreNum, _, _ = number(strings.TrimPrefix(s, "."))
	return r, true
}

// number reads the decimal digits s starts with.
func number(s string) (int, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, s[i:], err == nil
}

// Less orders releases; a release sorts after its pre-releases.
func (a Release) Less(b Release) bool {
	if a.Major != b.Major {
		return a.Major < b.Major
	}
	if a.Minor != b.Minor {
		return a.Minor < b.Minor
	}
	if a.Patch != b.Patch {
		return a.Patch < b.Patch
	}
	switch {
	case a.Pre == b.Pre:
		return a.PreNum < b.PreNum
	case a.Pre == "":
		return false
	case b.Pre == "":
		return true
	}
	return a.Pre < b.Pre
}

// CVE is a vulnerability of the lower runtime and the releases that fix it.
type CVE struct {
	ID, Summary string
	// Fixed lists the first fixed version per release line, ascending.
	Fixed  []string
	Source string
}

// exposes reports whether release r is affected: r is below the first fix
// of its own release line (same major.minor), or below the first fix above
// it when its line has none of its own.
func (c CVE) exposes(r Release) bool {
	for _, f := range c.Fixed {
		fr, _ := ParseRelease(f)
		if fr.Major == r.Major && fr.Minor == r.Minor {
			return r.Less(fr)
		}
		if r.Less(fr) {
			return true
		}
	}
	return false
}

// Exposed lists the known container-escape CVEs of the runtime that printed
// v: crun is judged by crun's advisories (crun 1.8.1 is not "runc 1.8.1
// below 1.2.8"), any other runtime by runc's. An unreadable version is
// exposed to nothing known.
func Exposed(v Version) []CVE {
	r, ok := ParseRelease(v.Release)
	if !ok {
		return nil
	}
	known := runcCVEs()
	if v.Name == "crun" {
		known = crunCVEs()
	}
	var out []CVE
	for _, c := range known {
		if c.exposes(r) {
			out = append(out, c)
		}
	}
	return out
}

// runcCVEs: container-escape class runc vulnerabilities. Versions from the
// runc security advisories (GHSA) and NVD.
func runcCVEs() []CVE {
	return []CVE{
		{"CVE-2019-5736", "a container overwrites the host runc binary through /proc/self/exe",
			[]string{"1.0.0-rc7"}, "NVD: runc through 1.0-rc6; GHSA-gxmr-w5mj-v8hh"},
		{"CVE-2021-30465", "symlink-exchange race in mount destinations mounts host paths into the container",
			[]string{"1.0.0-rc95"}, "NVD: runc before 1.0.0-rc95; GHSA-c3xm-pvg7-gh7r"},
		{"CVE-2024-21626", "leaked host cgroup fd lets process.cwd or exec reach the host filesystem (Leaky Vessels)",
			[]string{"1.1.12"}, "GHSA-xr7r-f8xq-vfvv: 1.0.0-rc93 through 1.1.11"},
		{"CVE-2025-31133", "maskedPaths /dev/null replaced by a symlink lets the container write host procfs files",
			[]string{"1.2.8", "1.3.3", "1.4.0-rc.3"}, "GHSA-9493-h29p-rfm2"},
		{"CVE-2025-52565", "/dev/console bind-mount race redirects writes to host procfs",
			[]string{"1.2.8", "1.3.3", "1.4.0-rc.3"}, "GHSA-qw9x-cqr3-wc7r"},
		{"CVE-2025-52881", "LSM label writes redirected through racing mounts to arbitrary procfs files",
			[]string{"1.2.8", "1.3.3", "1.4.0-rc.3"}, "GHSA-cgrx-mc8f-2prm"},
	}
}

// crunCVEs: container-escape class crun vulnerabilities.
func crunCVEs() []CVE {
	return []CVE{
		{"CVE-2022-27650", "containers start with non-empty inheritable capabilities, which execve of a file capability can raise",
			[]string{"1.4.4"}, "NVD; GHSA-wr44-rqgw-2wxj (the runc twin is CVE-2022-29162)"},
	}
}
