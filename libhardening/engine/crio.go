package engine

import "fmt"

// CRI-O reads /etc/crio/crio.conf and then every file in crio.conf.d/,
// each one decoded over the previous result, so a drop-in that adds one
// runtime leaves the admin's file untouched: the default here.
func crioEdits(o Options) ([]fileEdit, []string, error) {
	template, err := crioTemplate(o)
	if err != nil {
		return nil, nil, err
	}
	if o.DropIn == "" {
		return []fileEdit{{
			path: o.Config,
			configure: func(b []byte, _ bool) ([]byte, bool, error) {
				return editTOMLMap(b, func(m map[string]any) error { return crioAdd(m, o, template) })
			},
			unconfigure: func(b []byte, _ bool) ([]byte, bool, error) {
				return editTOMLMap(b, func(m map[string]any) error { crioRemove(m, o); return nil })
			},
		}}, []string{"CRI-O's main config is rewritten: TOML comments are not kept (the original is in " + o.Config + BackupSuffix + ")"}, nil
	}
	return []fileEdit{ownedDropIn(o.DropIn, func(m map[string]any) error { return crioAdd(m, o, template) })}, nil, nil
}

// crioTemplate is the default runtime's table from the main config, so
// the new runtime keeps monitor_path, runtime_root, allowed_annotations...
func crioTemplate(o Options) (map[string]any, error) {
	data, _, err := readFile(o.Config)
	if err != nil {
		return nil, err
	}
	m, err := decodeTOML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Config, err)
	}
	runtimes := lookupTable(m, "crio", "runtime", "runtimes")
	candidates := []string{"runc", "crun"}
	if d, ok := lookup(m, "crio", "runtime", "default_runtime").(string); ok && d != o.RuntimeName {
		candidates = append([]string{d}, candidates...)
	}
	for _, c := range candidates {
		src, ok := runtimes[c].(map[string]any)
		if !ok {
			continue
		}
		if t, _ := src["runtime_type"].(string); t == "" || t == "oci" {
			tpl := deepCopy(src).(map[string]any)
			// The template's own binary path must not leak into ours.
			delete(tpl, "runtime_path")
			return tpl, nil
		}
	}
	return map[string]any{}, nil
}

func crioAdd(m map[string]any, o Options, template map[string]any) error {
	crioRuntime, err := table(m, "crio", "runtime")
	if err != nil {
		return err
	}
	runtimes, err := table(crioRuntime, "runtimes")
	if err != nil {
		return err
	}
	rt, ok := runtimes[o.RuntimeName].(map[string]any)
	if !ok {
		if runtimes[o.RuntimeName] != nil {
			return fmt.Errorf("%w: crio.runtime.runtimes.%s is a %T, want a table", ErrMalformed, o.RuntimeName, runtimes[o.RuntimeName])
		}
		rt = deepCopy(template).(map[string]any)
		runtimes[o.RuntimeName] = rt
	}
	rt["runtime_path"] = o.RuntimePath
	rt["runtime_type"] = "oci"
	if o.SetAsDefault {
		crioRuntime["default_runtime"] = o.RuntimeName
	}
	return nil
}

func crioRemove(m map[string]any, o Options) {
	deleteKey(m, 3, "crio", "runtime", "runtimes", o.RuntimeName)
	if rt := lookupTable(m, "crio", "runtime"); rt != nil && rt["default_runtime"] == o.RuntimeName {
		delete(rt, "default_runtime")
	}
}

// ownedDropIn is a drop-in file that holds nothing but our keys: configure
// writes it whole, unconfigure removes it.
func ownedDropIn(path string, add func(m map[string]any) error) fileEdit {
	return fileEdit{
		path: path,
		configure: func([]byte, bool) ([]byte, bool, error) {
			m := map[string]any{}
			if err := add(m); err != nil {
				return nil, false, err
			}
			out, err := encodeTOML(m)
			return append([]byte(dropInHeader), out...), false, err
		},
		unconfigure: func([]byte, bool) ([]byte, bool, error) { return nil, true, nil },
	}
}
