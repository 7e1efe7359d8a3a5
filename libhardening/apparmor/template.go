package apparmor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/profiles"
)

// DefaultTemplate is the template used when a profile names none.
const DefaultTemplate = "default.tmpl"

// NamePrefix starts every generated profile name.
const NamePrefix = "hardened-runc-"

// namePlaceholder stands for the name while the text is hashed: the name is
// derived from the text, and the text contains the name.
const namePlaceholder = NamePrefix + "@NAME@"

// Data is what a template sees. It is built from the hardened spec, so the
// profile matches what the other modifiers decided.
type Data struct {
	// Name is the profile name; set by Render.
	Name string
	// Caps are the AppArmor names (lower case, no CAP_) of the capabilities
	// in the bounding set, sorted.
	Caps []string
	// NetRaw is true when CAP_NET_RAW is kept.
	NetRaw bool
	// ReadonlyRoot is root.readonly.
	ReadonlyRoot bool
	// WritablePaths are the destinations of the mounts that are not
	// read-only, cleaned and sorted.
	WritablePaths []string
	// Tunables and Base say whether <tunables/global> and
	// <abstractions/base> exist on the host.
	Tunables bool
	Base     bool
}

// DataFor builds template data from a (hardened) spec.
func DataFor(s *specs.Spec) (Data, error) {
	var d Data
	if s.Process != nil && s.Process.Capabilities != nil {
		for _, c := range s.Process.Capabilities.Bounding {
			name, err := capName(c)
			if err != nil {
				return Data{}, err
			}
			d.Caps = append(d.Caps, name)
		}
	}
	slices.Sort(d.Caps)
	d.Caps = slices.Compact(d.Caps)
	d.NetRaw = slices.Contains(d.Caps, "net_raw")
	d.ReadonlyRoot = s.Root != nil && s.Root.Readonly
	for _, m := range s.Mounts {
		if readonlyMount(m.Options) {
			continue
		}
		p, err := mountPath(m.Destination)
		if err != nil {
			return Data{}, err
		}
		if p != "/" {
			d.WritablePaths = append(d.WritablePaths, p)
		}
	}
	slices.Sort(d.WritablePaths)
	d.WritablePaths = slices.Compact(d.WritablePaths)
	return d, nil
}

func capName(c string) (string, error) {
	n := strings.ToLower(strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
	if n == "" || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "", fmt.Errorf("capability %q: not a capability name", c)
	}
	return n, nil
}

func readonlyMount(opts []string) bool {
	return slices.Contains(opts, "ro") || slices.Contains(opts, "rro")
}

// mountPath cleans a mount destination for use in a rule. Control
// characters cannot be written in an AppArmor rule at all.
func mountPath(dest string) (string, error) {
	for _, r := range dest {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("mount destination %q: control characters cannot be confined by AppArmor", dest)
		}
	}
	return path.Clean("/" + dest), nil
}

// subtree renders a quoted AppArmor path matching p and everything below
// it. AppArmor's glob characters in p are escaped: a directory named "*"
// must not open the whole tree.
func subtree(p string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range p {
		if strings.ContainsRune(`*?[]{}^"\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString(`{,/**}"`)
	return b.String()
}

// Template is a parsed AppArmor template.
type Template struct {
	// Name is the template's file name, e.g. "default.tmpl".
	Name string
	t    *template.Template
}

// ParseTemplate parses template text.
func ParseTemplate(name, text string) (*Template, error) {
	t, err := template.New(name).Option("missingkey=error").
		Funcs(template.FuncMap{"subtree": subtree}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("apparmor template %s: %w", name, err)
	}
	return &Template{Name: name, t: t}, nil
}

// LoadTemplate reads the template a profile names (apparmor.template) from
// <profiles>/apparmor/, falling back to the templates built into the binary.
func LoadTemplate(p *policy.Profile) (*Template, error) {
	name := p.AppArmor.Template
	if name == "" {
		name = DefaultTemplate
	}
	if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("apparmor.template %q: must be a file name in the profiles' apparmor/ directory", name)
	}
	if p.Dir != "" {
		b, err := os.ReadFile(filepath.Join(p.Dir, "apparmor", name))
		if err == nil {
			return ParseTemplate(name, string(b))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("apparmor template: %w", err)
		}
	}
	b, err := fs.ReadFile(profiles.FS, "apparmor/"+name)
	if err != nil {
		return nil, fmt.Errorf("apparmor.template %q: not in %s/apparmor and not built in", name, p.Dir)
	}
	return ParseTemplate(name, string(b))
}

// Render executes the template and names the result after its hash:
// "hardened-runc-" and the first 12 hex digits of the SHA-256 of the text
// rendered with a placeholder name. Identical specs on one host get one
// name, so a profile is loaded once and shared.
func (t *Template) Render(d Data) (name, text string, err error) {
	d.Name = namePlaceholder
	draft, err := t.execute(d)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(draft))
	d.Name = NamePrefix + hex.EncodeToString(sum[:])[:12]
	if text, err = t.execute(d); err != nil {
		return "", "", err
	}
	// runc asks the kernel for the profile by this name: a template that
	// declares another would fail every launch.
	if !strings.Contains(text, "profile "+d.Name+" ") {
		return "", "", fmt.Errorf("apparmor template %s: does not declare `profile {{.Name}} ...`", t.Name)
	}
	return d.Name, text, nil
}

func (t *Template) execute(d Data) (string, error) {
	var b bytes.Buffer
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("apparmor template %s: %w", t.Name, err)
	}
	return b.String(), nil
}
