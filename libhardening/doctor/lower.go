package doctor

import (
	"fmt"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// checkLower judges the lower runtime the runtime would exec: resolved as
// the runtime resolves it, probed as the runtime probes it (package lower),
// but never from the runtime's cache, so what doctor prints is fresh.
func checkLower(o Options, _ requirements) []Check {
	c := Check{Name: "lower.runtime", Required: true}
	path, err := lower.Resolve(o.Config.Runtime, configName(o))
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "install runc (apt-get install runc) or set runtime = \"/path/to/runc\" in " + configName(o)
		return []Check{c}
	}
	if o.NoProbes {
		c.Status, c.Detail = OK, "lower runtime "+path
		return []Check{c}
	}
	p := lower.ProbeBinary(path)
	if p.VersionErr != nil {
		c.Status, c.Detail = Fail, p.VersionErr.Error()
		c.Fix = fmt.Sprintf("the lower runtime must say its version within %s: reinstall it, or set runtime in %s to one that works", lower.Timeout, configName(o))
		return []Check{c}
	}
	impl, raw := p.Version.Impl(), p.Version.Release
	c.Status, c.Detail = OK, fmt.Sprintf("%s, %s %s", path, impl, raw)
	return []Check{c, checkCVEs(p.Version), checkFeatures(p)}
}

// checkCVEs warns about the known container-escape CVEs of the version.
func checkCVEs(v lower.Version) Check {
	impl, raw := v.Impl(), v.Release
	cc := Check{Name: "lower.cves", Status: OK, Detail: "no known container-escape CVE for " + impl + " " + raw}
	var hits []string
	for _, cv := range lower.Exposed(v) {
		hits = append(hits, fmt.Sprintf("%s (%s; fixed in %s; %s)", cv.ID, cv.Summary, strings.Join(cv.Fixed, "/"), cv.Source))
	}
	if len(hits) == 0 {
		return cc
	}
	cc.Status = Warn
	cc.Detail = impl + " " + raw + " is exposed to " + strings.Join(hits, "; ")
	cc.Fix = "upgrade runc to >= 1.2.8 (1.3.3, 1.4.0) and point config.toml's runtime at it; hardened-runc's policy narrows but does not remove these bugs"
	if v.Name == "crun" {
		cc.Fix = "upgrade crun to >= 1.4.4; hardened-runc's policy narrows but does not remove these bugs"
	}
	return cc
}

// checkFeatures summarises what `features` says that matters to hardening.
func checkFeatures(p lower.Probe) Check {
	f := Check{Name: "lower.features", Status: OK}
	switch {
	case p.FeaturesErr != nil && p.Version.Name == "crun":
		// crun < 1.9 has no features verb; the runtime reads what it
		// trusts crun with from the version (lower.Probe.Lower).
		f.Detail = "`crun features` unavailable (crun < 1.9): seccomp notification (learning mode) assumed from the version (crun >= 1.8); idmapped volumes are bound by hardened-runc itself (crun 1.8 ignores \"ridmap\")"
	case p.FeaturesErr != nil:
		f.Status, f.Detail = Warn, "`runc features` unavailable (runc < 1.1): hardened-runc assumes the oldest behaviour"
	case p.Features == nil || p.Features.Linux == nil:
		f.Detail = "`runc features` output not understood"
	default:
		f.Detail = summarizeFeatures(p)
	}
	return f
}

func configName(o Options) string {
	if o.Config.Path != "" {
		return o.Config.Path
	}
	return "/etc/hardened-runc/config.toml"
}

// summarizeFeatures keeps what matters to hardening from `runc features`:
// what the pipeline reads (idmap, seccomp notify) as the pipeline reads it.
func summarizeFeatures(p lower.Probe) string {
	l, f := p.Lower().Features, p.Features.Linux
	parts := []string{fmt.Sprintf("idmapped bind mounts: %v", l != nil && l.IDMap)}
	if s := f.Seccomp; s != nil {
		parts = append(parts, fmt.Sprintf("seccomp: %v (notify: %v)", s.Enabled != nil && *s.Enabled, l != nil && l.SeccompNotify))
	}
	parts = append(parts, fmt.Sprintf("namespaces: %s", strings.Join(f.Namespaces, ",")))
	return "runc features: " + strings.Join(parts, "; ")
}
