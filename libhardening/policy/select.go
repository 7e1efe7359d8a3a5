package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// SelectRule picks a profile for a container. Every condition that is set
// must match. Patterns are globs in which `*` matches any run of characters,
// `/` included (image names and argv are not paths), `?` one character and
// `[...]` a class.
type SelectRule struct {
	// Profile is the name of the profile this rule selects (a file in the
	// profiles directory, or a built-in one).
	Profile string `toml:"profile"`
	// Annotations maps an OCI annotation key to a glob on its value, e.g.
	// {"io.kubernetes.pod.namespace" = "prod-*"} or
	// {"io.kubernetes.cri.image-name" = "*/nginx:*"}.
	Annotations map[string]string `toml:"annotations"`
	// ContainerID is a glob on the container id.
	ContainerID string `toml:"container_id"`
	// Args is a glob on the process argv joined with single spaces.
	Args string `toml:"args"`
	// Image is a glob on the image the container runs ("nginx:*",
	// "*/postgres:15*"), read from the CRI and CRI-O annotations, or under
	// Docker (which passes no image to the runtime) from dockerd's
	// config.v2.json. A container whose image cannot be read does not match.
	Image string `toml:"image"`
}

func (r *SelectRule) compile() error {
	if r.Profile == "" {
		return fmt.Errorf("field profile: required")
	}
	for _, p := range r.patterns() {
		if _, err := globRegexp(p); err != nil {
			return fmt.Errorf("bad pattern %q: %w", p, err)
		}
	}
	return nil
}

func (r *SelectRule) patterns() []string {
	ps := []string{r.ContainerID, r.Args, r.Image}
	for _, v := range r.Annotations {
		ps = append(ps, v)
	}
	return ps
}

// Target is what selection rules look at.
type Target struct {
	ContainerID string
	Annotations map[string]string
	Args        []string
	// Image is the container's image, "" when unknown.
	Image string
}

func (r *SelectRule) matches(t Target) bool {
	if r.ContainerID != "" && !glob(r.ContainerID, t.ContainerID) {
		return false
	}
	if r.Args != "" && !glob(r.Args, strings.Join(t.Args, " ")) {
		return false
	}
	if r.Image != "" && (t.Image == "" || !glob(r.Image, t.Image)) {
		return false
	}
	for k, pat := range r.Annotations {
		v, ok := t.Annotations[k]
		if !ok || !glob(pat, v) {
			return false
		}
	}
	return true
}

func glob(pattern, s string) bool {
	re, err := globRegexp(pattern)
	return err == nil && re.MatchString(s)
}

// globRegexp translates a glob into an anchored regular expression.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unterminated [ at offset %d", i)
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// SelectProfile returns the name of the profile for t and the rule that chose
// it ("default_profile" when none matched).
func (c *Config) SelectProfile(t Target) (name, why string) {
	for i := range c.Select {
		if c.Select[i].matches(t) {
			return c.Select[i].Profile, fmt.Sprintf("select[%d]", i)
		}
	}
	if c.DefaultProfile != "" {
		return c.DefaultProfile, "default_profile"
	}
	return DefaultProfile, "default_profile"
}
