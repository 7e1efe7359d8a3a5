package policy

import (
	"fmt"
	"path"
	"strings"
)

// SelectRule picks a profile for a container. Every condition that is set
// must match; patterns are shell globs (path.Match).
type SelectRule struct {
	Profile string `toml:"profile"`
	// Annotations maps an OCI annotation key to a glob on its value, e.g.
	// {"io.kubernetes.pod.namespace" = "prod-*"} or
	// {"io.kubernetes.cri.image-name" = "*/nginx:*"}.
	Annotations map[string]string `toml:"annotations"`
	// ContainerID is a glob on the container id.
	ContainerID string `toml:"container_id"`
	// Args is a glob on the process argv joined with single spaces.
	Args string `toml:"args"`
}

func (r *SelectRule) compile() error {
	if r.Profile == "" {
		return fmt.Errorf("field profile: required")
	}
	for _, p := range r.patterns() {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("bad pattern %q: %w", p, err)
		}
	}
	return nil
}

func (r *SelectRule) patterns() []string {
	ps := []string{r.ContainerID, r.Args}
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
}

func (r *SelectRule) matches(t Target) bool {
	if r.ContainerID != "" && !glob(r.ContainerID, t.ContainerID) {
		return false
	}
	if r.Args != "" && !glob(r.Args, strings.Join(t.Args, " ")) {
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
	ok, _ := path.Match(pattern, s)
	return ok
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
