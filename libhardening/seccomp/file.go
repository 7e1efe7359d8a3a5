package seccomp

import (
	"encoding/json"
	"fmt"
	"slices"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ValidateFile validates a Docker-format JSON profile as an admin wrote it:
// every rule is checked, whatever its includes/excludes (a rule that only
// applies with CAP_SYS_ADMIN must not hide a typo), against every
// architecture it lists. The Stats count every rule as if it applied.
func ValidateFile(name string, data []byte) (*Stats, error) {
	p, err := allRules(data)
	if err != nil {
		return nil, &ValidationError{Profile: name, Err: err}
	}
	return Validate(name, p)
}

// allRules decodes a Docker-format profile into a spec profile holding every
// rule and every architecture it mentions.
func allRules(data []byte) (*specs.LinuxSeccomp, error) {
	var d mobyseccomp.Seccomp
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(d.Architectures) != 0 && len(d.ArchMap) != 0 {
		return nil, fmt.Errorf("both architectures and archMap are set; use one")
	}
	p := d.LinuxSeccomp
	p.Syscalls = nil
	for _, a := range d.ArchMap {
		if slices.Contains(Arches(false), a.Arch) {
			p.Architectures = append(p.Architectures, a.Arch)
			p.Architectures = append(p.Architectures, a.SubArches...)
		}
	}
	for i, r := range d.Syscalls {
		if r == nil {
			return nil, fmt.Errorf("syscalls[%d]: null", i)
		}
		s := r.LinuxSyscall
		if r.Name != "" {
			if len(s.Names) != 0 {
				return nil, fmt.Errorf("syscalls[%d]: both name and names are set; use names", i)
			}
			s.Names = []string{r.Name}
		}
		p.Syscalls = append(p.Syscalls, s)
	}
	return &p, nil
}
