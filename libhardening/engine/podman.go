package engine

import "fmt"

// Podman reads containers.conf layered (/usr/share, /etc, then
// containers.conf.d/ drop-ins), so a file holding only our keys is a
// complete configuration. It starts a runtime per command: no restart.
func podmanEdits(o Options) ([]fileEdit, []string, error) {
	if o.DropIn != "" {
		return []fileEdit{ownedDropIn(o.DropIn, func(m map[string]any) error { return podmanAdd(m, o) })}, nil, nil
	}
	return []fileEdit{{
		path: o.Config,
		configure: func(b []byte, _ bool) ([]byte, bool, error) {
			return editTOMLMap(b, func(m map[string]any) error { return podmanAdd(m, o) })
		},
		unconfigure: func(b []byte, _ bool) ([]byte, bool, error) {
			return editTOMLMap(b, func(m map[string]any) error { podmanRemove(m, o); return nil })
		},
	}}, []string{"containers.conf is rewritten: TOML comments are not kept (the original is in " + o.Config + BackupSuffix + "); --drop-in keeps it untouched"}, nil
}

func podmanAdd(m map[string]any, o Options) error {
	runtimes, err := table(m, "engine", "runtimes")
	if err != nil {
		return err
	}
	switch v := runtimes[o.RuntimeName].(type) {
	case nil, []any:
	default:
		return fmt.Errorf("%w: engine.runtimes.%s is a %T, want an array of paths", ErrMalformed, o.RuntimeName, v)
	}
	runtimes[o.RuntimeName] = []any{o.RuntimePath}
	if o.SetAsDefault {
		eng, err := table(m, "engine")
		if err != nil {
			return err
		}
		eng["runtime"] = o.RuntimeName
	}
	return nil
}

func podmanRemove(m map[string]any, o Options) {
	deleteKey(m, 2, "engine", "runtimes", o.RuntimeName)
	if e := lookupTable(m, "engine"); e != nil && e["runtime"] == o.RuntimeName {
		delete(e, "runtime")
	}
}
