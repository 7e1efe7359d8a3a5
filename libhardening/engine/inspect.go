package engine

import (
	"path/filepath"
	"sort"
)

// Status is what an engine's config says about hardened-runc.
type Status struct {
	Engine Kind `json:"engine"`
	// Files are the config files read (main file and drop-ins that exist).
	Files []string `json:"files"`
	// Runtimes are the runtime names whose binary is hardened-runc, and
	// Paths the binaries they name.
	Runtimes []string `json:"runtimes,omitempty"`
	Paths    []string `json:"paths,omitempty"`
	// Default is the engine's default runtime name ("" when the file does
	// not set one, i.e. runc).
	Default string `json:"default,omitempty"`
	// IsDefault says the default runtime is one of Runtimes.
	IsDefault bool `json:"is_default"`
}

// Inspect reads an engine's configuration (main file plus drop-ins) and
// reports which runtime names run binaryName (e.g. "hardened-runc") and
// whether one of them is the default. config "" means the default path.
func Inspect(k Kind, config, binaryName string) (Status, error) {
	if config == "" {
		config = DefaultConfigPath(k)
	}
	st := Status{Engine: k}
	names, paths := map[string]bool{}, map[string]bool{}
	for _, f := range configFiles(k, config) {
		data, ok, err := readFile(f)
		if err != nil || !ok {
			if err != nil {
				return st, err
			}
			continue
		}
		st.Files = append(st.Files, f)
		rts, ps, def, err := runtimesIn(k, data, binaryName)
		if err != nil {
			return st, err
		}
		for _, n := range rts {
			names[n] = true
		}
		for _, p := range ps {
			paths[p] = true
		}
		if def != "" {
			st.Default = def
		}
	}
	for n := range names {
		st.Runtimes = append(st.Runtimes, n)
	}
	sort.Strings(st.Runtimes)
	for p := range paths {
		st.Paths = append(st.Paths, p)
	}
	sort.Strings(st.Paths)
	st.IsDefault = names[st.Default]
	return st, nil
}

// configFiles lists the main file and the drop-ins the engine reads after it.
func configFiles(k Kind, config string) []string {
	files := []string{config}
	var pattern string
	switch k {
	case Containerd:
		if data, ok, _ := readFile(config); ok {
			if m, err := decodeTOML(data); err == nil {
				list, _ := m["imports"].([]any)
				for _, e := range list {
					p, _ := e.(string)
					if !filepath.IsAbs(p) {
						p = filepath.Join(filepath.Dir(config), p)
					}
					matches, _ := filepath.Glob(p)
					files = append(files, matches...)
				}
			}
		}
		return files
	case CRIO:
		pattern = filepath.Join(filepath.Dir(config), "crio.conf.d", "*")
	case Podman:
		pattern = filepath.Join(filepath.Dir(config), "containers.conf.d", "*.conf")
	}
	if pattern != "" {
		matches, _ := filepath.Glob(pattern)
		sort.Strings(matches)
		files = append(files, matches...)
	}
	return files
}

func runtimesIn(k Kind, data []byte, bin string) (names, paths []string, def string, err error) {
	isOurs := func(p any) bool {
		s, _ := p.(string)
		ours := s != "" && filepath.Base(s) == bin
		if ours {
			paths = append(paths, s)
		}
		return ours
	}
	if k == Docker {
		m, err := decodeJSONObject(data)
		if err != nil {
			return nil, nil, "", err
		}
		for n, v := range lookupTable(m, "runtimes") {
			if rt, ok := v.(map[string]any); ok && isOurs(rt["path"]) {
				names = append(names, n)
			}
		}
		def, _ = m["default-runtime"].(string)
		return names, paths, def, nil
	}
	m, err := decodeTOML(data)
	if err != nil {
		return nil, nil, "", err
	}
	switch k {
	case Containerd:
		for _, v := range []int64{1, 2, 3} {
			ctrd := lookupTable(m, "plugins", containerdPlugin(v), "containerd")
			for n, rt := range lookupTable(ctrd, "runtimes") {
				if t, ok := rt.(map[string]any); ok && isOurs(lookup(t, "options", "BinaryName")) {
					names = append(names, n)
				}
			}
			if d, ok := ctrd["default_runtime_name"].(string); ok {
				def = d
			}
		}
	case CRIO:
		for n, rt := range lookupTable(m, "crio", "runtime", "runtimes") {
			if t, ok := rt.(map[string]any); ok && isOurs(t["runtime_path"]) {
				names = append(names, n)
			}
		}
		def, _ = lookup(m, "crio", "runtime", "default_runtime").(string)
	case Podman:
		for n, paths := range lookupTable(m, "engine", "runtimes") {
			list, _ := paths.([]any)
			for _, p := range list {
				if isOurs(p) {
					names = append(names, n)
					break
				}
			}
		}
		def, _ = lookup(m, "engine", "runtime").(string)
	}
	return names, paths, def, nil
}

// registeredPath returns the binary path the config gives runtime name,
// "" if none: Unconfigure uses it so it need not be told the path that
// configure was given.
func registeredPath(k Kind, data []byte, name string) string {
	var m map[string]any
	var err error
	if k == Docker {
		m, err = decodeJSONObject(data)
	} else {
		m, err = decodeTOML(data)
	}
	if err != nil {
		return ""
	}
	var p any
	switch k {
	case Docker:
		p = lookup(m, "runtimes", name, "path")
	case Containerd:
		for _, v := range []int64{1, 2, 3} {
			if q := lookup(m, "plugins", containerdPlugin(v), "containerd", "runtimes", name, "options", "BinaryName"); q != nil {
				p = q
			}
		}
	case CRIO:
		p = lookup(m, "crio", "runtime", "runtimes", name, "runtime_path")
	case Podman:
		if list, ok := lookup(m, "engine", "runtimes", name).([]any); ok && len(list) > 0 {
			p = list[0]
		}
	}
	s, _ := p.(string)
	return s
}
