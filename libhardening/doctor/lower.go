package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// cve is a runc vulnerability and the releases that fix it. A version is
// exposed when it is below the first fix of its own release line.
type cve struct {
	id, summary string
	// fixed lists the first fixed version per release line, ascending.
	fixed  []string
	source string
}

// runcCVEs: container-escape class runc vulnerabilities. Versions from the
// runc security advisories (GHSA) and NVD.
var runcCVEs = []cve{
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

// crunCVEs: container-escape class crun vulnerabilities.
var crunCVEs = []cve{
	{"CVE-2022-27650", "containers start with non-empty inheritable capabilities, which execve of a file capability can raise",
		[]string{"1.4.4"}, "NVD; GHSA-wr44-rqgw-2wxj (the runc twin is CVE-2022-29162)"},
}

// exposed reports whether version v is affected by c.
func (c cve) exposed(v version) bool {
	for _, f := range c.fixed {
		fv := parseVersion(f)
		// The fix of v's own line (same major.minor), or the first fix
		// above it when the line has none of its own.
		if fv.major == v.major && fv.minor == v.minor {
			return v.less(fv)
		}
		if v.less(fv) {
			return true
		}
	}
	return false
}

type version struct {
	major, minor, patch int
	pre                 string // "" for a release
	preNum              int
}

var versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-~]([a-z]+)\.?(\d+)?)?`)

// parseVersion reads runc versions as they are printed: 1.1.5, 1.1.5+ds1,
// 1.0.0-rc95, 1.4.0-rc.3.
func parseVersion(s string) version {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return version{major: -1}
	}
	v := version{pre: m[4]}
	v.major, _ = strconv.Atoi(m[1])
	v.minor, _ = strconv.Atoi(m[2])
	v.patch, _ = strconv.Atoi(m[3])
	v.preNum, _ = strconv.Atoi(m[5])
	return v
}

func (a version) less(b version) bool {
	if a.major != b.major {
		return a.major < b.major
	}
	if a.minor != b.minor {
		return a.minor < b.minor
	}
	if a.patch != b.patch {
		return a.patch < b.patch
	}
	switch {
	case a.pre == b.pre:
		return a.preNum < b.preNum
	case a.pre == "":
		return false // a release sorts after its pre-releases
	case b.pre == "":
		return true
	}
	return a.pre < b.pre
}

func checkLower(o Options, _ requirements) []Check {
	name := o.Config.Runtime
	if name == "" {
		name = "runc"
	}
	c := Check{Name: "lower.runtime", Required: true}
	path, err := exec.LookPath(name)
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("lower runtime %q not found: %v", name, err)
		c.Fix = "install runc (apt-get install runc) or set runtime = \"/path/to/runc\" in " + configName(o)
		return []Check{c}
	}
	if o.NoProbes {
		c.Status, c.Detail = OK, "lower runtime "+path
		return []Check{c}
	}
	out, err := runTool(path, "--version")
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s --version: %v", path, err)
		return []Check{c}
	}
	impl, raw := lowerVersion(out)
	v := parseVersion(raw)
	c.Status, c.Detail = OK, fmt.Sprintf("%s, %s %s", path, impl, raw)
	checks := []Check{c}

	known := runcCVEs
	if impl == "crun" {
		known = crunCVEs
	}
	var hits []string
	for _, cv := range known {
		if v.major >= 0 && cv.exposed(v) {
			hits = append(hits, fmt.Sprintf("%s (%s; fixed in %s; %s)", cv.id, cv.summary, strings.Join(cv.fixed, "/"), cv.source))
		}
	}
	cc := Check{Name: "lower.cves", Status: OK, Detail: "no known container-escape CVE for " + impl + " " + raw}
	if len(hits) > 0 {
		cc.Status = Warn
		cc.Detail = impl + " " + raw + " is exposed to " + strings.Join(hits, "; ")
		cc.Fix = "upgrade runc to >= 1.2.8 (1.3.3, 1.4.0) and point config.toml's runtime at it; hardened-runc's policy narrows but does not remove these bugs"
		if impl == "crun" {
			cc.Fix = "upgrade crun to >= 1.4.4; hardened-runc's policy narrows but does not remove these bugs"
		}
	}
	checks = append(checks, cc)

	f := Check{Name: "lower.features", Status: OK}
	if out, err := runTool(path, "features"); err != nil {
		f.Status, f.Detail = Warn, "`runc features` unavailable (runc < 1.1): hardened-runc assumes the oldest behaviour"
		if impl == "crun" {
			// crun < 1.9 has no features verb; the runtime reads idmapped
			// mounts from the version instead (libhardening/wrapper/lower.go).
			f.Status, f.Detail = OK, "`crun features` unavailable (crun < 1.9): seccomp notification (learning mode) assumed from the version (crun >= 1.8); idmapped volumes are bound by hardened-runc itself (crun 1.8 ignores \"ridmap\")"
		}
	} else {
		f.Detail = summarizeFeatures(out)
	}
	return append(checks, f)
}

// lowerVersion reads the first line of `--version`: "runc version 1.1.5"
// or "crun version 1.8.1". Another runtime is named "runtime", its version
// the whole line.
func lowerVersion(out string) (impl, version string) {
	line := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	for _, name := range []string{"runc", "crun"} {
		if v, ok := strings.CutPrefix(line, name+" version "); ok {
			return name, v
		}
	}
	return "runtime", line
}

func configName(o Options) string {
	if o.Config.Path != "" {
		return o.Config.Path
	}
	return "/etc/hardened-runc/config.toml"
}

func runTool(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	return string(out), err
}

// summarizeFeatures keeps what matters to hardening from `runc features`.
func summarizeFeatures(out string) string {
	var f features.Features
	if err := json.Unmarshal([]byte(out), &f); err != nil || f.Linux == nil {
		return "`runc features` output not understood"
	}
	var parts []string
	idmap := false
	if me := f.Linux.MountExtensions; me != nil && me.IDMap != nil && me.IDMap.Enabled != nil {
		idmap = *me.IDMap.Enabled
	}
	parts = append(parts, fmt.Sprintf("idmapped bind mounts: %v", idmap))
	if s := f.Linux.Seccomp; s != nil {
		notify := false
		for _, a := range s.Actions {
			notify = notify || a == "SCMP_ACT_NOTIFY"
		}
		parts = append(parts, fmt.Sprintf("seccomp: %v (notify: %v)", s.Enabled != nil && *s.Enabled, notify))
	}
	parts = append(parts, fmt.Sprintf("namespaces: %s", strings.Join(f.Linux.Namespaces, ",")))
	return "runc features: " + strings.Join(parts, "; ")
}
