package policy

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hardened-runc/hardened-runc/libhardening/provenance"
)

// SelectRule picks a profile for a container. Every condition that is set
// must match. Patterns are globs in which `*` matches any run of characters,
// `/` included (image names and argv are not paths), `?` one character and
// `[...]` a class. A rule whose profile is weaker than `default_profile` (or
// than a profile a later rule picks) may match only on annotations the
// engine writes itself, such as `io.kubernetes.cri.sandbox-namespace`, and
// then only when that engine made the container: the container id, the argv
// and every other annotation can be set by whoever asks for the container.
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
	// Anyone who can run a container can name an image, so a rule on it
	// counts as matching on facts anyone can set.
	Image string `toml:"image"`

	// anyone is set when the rule may match on facts anyone can set: its
	// profile was shown to be at least as strict as every profile the
	// container would get without it.
	anyone bool `toml:"-"`
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
	// Trusted are the annotation keys the engine that made the container
	// wrote itself (forensics.Engine.TrustedSet); nil trusts none.
	Trusted map[string]bool
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

// forgeable names the first condition of r that anyone asking for a
// container can satisfy (the id, the argv, the image's name, an annotation
// no engine writes itself), or "" when r looks only at keys an engine
// writes.
func (r *SelectRule) forgeable() string {
	switch {
	case r.ContainerID != "":
		return "container_id"
	case r.Args != "":
		return "args"
	case r.Image != "":
		// `docker tag` gives any image any name.
		return "image"
	}
	for _, k := range slices.Sorted(maps.Keys(r.Annotations)) {
		if !provenance.EngineSet(k) {
			return fmt.Sprintf("annotation %q", k)
		}
	}
	return ""
}

// trustedIn reports whether every annotation r matches on was written by
// the engine that made t.
func (r *SelectRule) trustedIn(t Target) bool {
	for k := range r.Annotations {
		if !t.Trusted[k] {
			return false
		}
	}
	return r.forgeable() == ""
}

// checkSelection refuses a rule that would let a forged fact weaken the
// policy: a rule that matches on something anyone can set must pick a
// profile at least as strict as every profile the container would get
// without it (the profiles of the later rules and default_profile).
func (c *Config) checkSelection() error {
	cache := map[string]*Profile{}
	for i := range c.Select {
		r := &c.Select[i]
		what := r.forgeable()
		if what == "" {
			continue
		}
		if err := c.cannotWeaken(i, cache); err != nil {
			return fmt.Errorf("select[%d] (profile %q) matches on %s, which whoever asks for the container can set, and %w; "+
				"match only on annotations the engine writes itself (%s) or select a profile at least as strict",
				i, r.Profile, what, err, strings.Join(provenance.EngineSetKeys(), ", "))
		}
		r.anyone = true
	}
	return nil
}

// weakerError: a rule's profile is weaker than one the container would get
// without the rule.
type weakerError struct{ profile, than, key string }

func (e *weakerError) Error() string {
	return fmt.Sprintf("%q is weaker than %q (at %s)", e.profile, e.than, e.key)
}

// cannotWeaken returns nil when rule i's profile is at least as strict as
// every later rule's and default_profile, a *weakerError when it is not, and
// another error when a profile cannot be loaded.
func (c *Config) cannotWeaken(i int, cache map[string]*Profile) error {
	load := func(name string) (*Profile, error) {
		if p, ok := cache[name]; ok {
			return p, nil
		}
		p, err := Store{Dir: c.ProfilesDir}.Load(name)
		if err != nil {
			return nil, err
		}
		cache[name] = p
		return p, nil
	}
	p, err := load(c.Select[i].Profile)
	if err != nil {
		return err
	}
	others := []string{c.defaultProfile()}
	for j := range c.Select[i+1:] {
		if r := &c.Select[i+1+j]; !disjointImages(&c.Select[i], r) {
			others = append(others, r.Profile)
		}
	}
	for _, name := range others {
		if name == p.Name {
			continue
		}
		o, err := load(name)
		if err != nil {
			return err
		}
		if ok, key := AtLeastAsStrict(p, o); !ok {
			return &weakerError{profile: p.Name, than: name, key: key}
		}
	}
	return nil
}

// disjointImages reports whether no container can match both rules
// because of their images: one names an exact image (no glob characters)
// that the other's image glob does not match. Then the later rule is not
// what a container of the first would get without it: per-image profiles
// (`hardenctl image profile`), each with its own tmpfs paths and syscalls,
// can be selected side by side.
func disjointImages(a, b *SelectRule) bool {
	exact := func(p string) bool { return p != "" && !strings.ContainsAny(p, `*?[\`) }
	if a.Image == "" || b.Image == "" {
		return false
	}
	return exact(a.Image) && !glob(b.Image, a.Image) || exact(b.Image) && !glob(a.Image, b.Image)
}

func (c *Config) defaultProfile() string {
	if c.DefaultProfile != "" {
		return c.DefaultProfile
	}
	return DefaultProfile
}

// SelectProfile returns the name of the profile for t and the rule that chose
// it ("default_profile" when none matched). A rule that may weaken the
// policy applies only when the engine wrote the annotations it matches on;
// when they are forged (or the engine is unknown) it is skipped, and why
// says so. An error means a profile needed to decide could not be loaded.
func (c *Config) SelectProfile(t Target) (name, why string, err error) {
	var skipped []string
	for i := range c.Select {
		r := &c.Select[i]
		if !r.matches(t) {
			continue
		}
		if r.anyone || r.trustedIn(t) {
			return r.Profile, fmt.Sprintf("select[%d]", i), nil
		}
		// The rule's keys are ones an engine writes, but this container's
		// engine did not write them here. A rule that cannot weaken the
		// policy applies anyway: forging it only confines the forger.
		switch err := c.cannotWeaken(i, map[string]*Profile{}); {
		case err == nil:
			return r.Profile, fmt.Sprintf("select[%d]", i), nil
		case !errors.As(err, new(*weakerError)):
			return "", "", fmt.Errorf("select[%d]: %w", i, err)
		}
		skipped = append(skipped, fmt.Sprintf("select[%d]", i))
	}
	why = "default_profile"
	if len(skipped) > 0 {
		why += fmt.Sprintf(" (%s skipped: the engine did not write the annotations it matches on)", strings.Join(skipped, ", "))
	}
	return c.defaultProfile(), why, nil
}
