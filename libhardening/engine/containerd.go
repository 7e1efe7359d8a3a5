package engine

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
)

// containerd keeps CRI runtime handlers under a plugin whose name depends
// on the config version: no version (1) "cri", 2 "io.containerd.grpc.v1.cri",
// 3 and 4 (containerd 2.x; v2.4.2's `containerd config default` writes 4,
// where only the grpc/ttrpc/debug/metrics server settings moved into
// plugins) "io.containerd.cri.v1.runtime".
const runcV2 = "io.containerd.runc.v2"

func containerdPlugin(version int64) string {
	switch {
	case version <= 1:
		return "cri"
	case version == 2:
		return "io.containerd.grpc.v1.cri"
	}
	return "io.containerd.cri.v1.runtime"
}

// containerdVersion reads the config version. A missing or empty file is
// treated as version 2: it is what containerd 1.x writes and what 2.x
// migrates on load.
func containerdVersion(m map[string]any, empty bool) (int64, error) {
	switch v := m["version"].(type) {
	case nil:
		if empty {
			return 2, nil
		}
		return 1, nil
	case int64:
		if v < 1 || v > 4 {
			return 0, fmt.Errorf("%w: unsupported containerd config version %d", ErrMalformed, v)
		}
		return v, nil
	default:
		return 0, fmt.Errorf("%w: version is a %T, want an integer", ErrMalformed, v)
	}
}

func containerdEdits(o Options) ([]fileEdit, []string, error) {
	main := fileEdit{
		path: o.Config,
		configure: func(b []byte, ok bool) ([]byte, bool, error) {
			return editTOML(b, func(m map[string]any, v int64) error { return containerdAdd(m, v, o) })
		},
		unconfigure: func(b []byte, ok bool) ([]byte, bool, error) {
			return editTOML(b, func(m map[string]any, v int64) error { containerdRemove(m, v, o); return nil })
		},
	}
	if o.DropIn == "" {
		return []fileEdit{main}, []string{"containerd's main config is rewritten: TOML comments are not kept (the original is in " + o.Config + BackupSuffix + ")"}, nil
	}
	return containerdDropInEdits(o)
}

// editTOML decodes a containerd config, applies edit and encodes it; when
// the edit changes nothing the original bytes are returned, so a second
// run is byte-identical and does not reformat the file.
func editTOML(data []byte, edit func(m map[string]any, version int64) error) ([]byte, bool, error) {
	return editTOMLMap(data, func(m map[string]any) error {
		version, err := containerdVersion(m, len(bytes.TrimSpace(data)) == 0)
		if err != nil {
			return err
		}
		if err := edit(m, version); err != nil {
			return err
		}
		if _, ok := m["version"]; !ok && version > 1 && len(m) > 0 {
			m["version"] = version
		}
		return nil
	})
}

// containerdAdd writes runtimes.<name>: a copy of the default runc
// handler (so SystemdCgroup, Root, sandbox_mode... match what the node
// already uses), runtime_type io.containerd.runc.v2 and BinaryName.
func containerdAdd(m map[string]any, version int64, o Options) error {
	ctrd, err := table(m, "plugins", containerdPlugin(version), "containerd")
	if err != nil {
		return err
	}
	runtimes, err := table(ctrd, "runtimes")
	if err != nil {
		return err
	}
	rt, ok := runtimes[o.RuntimeName].(map[string]any)
	if !ok {
		if runtimes[o.RuntimeName] != nil {
			return fmt.Errorf("%w: runtimes.%s is a %T, want a table", ErrMalformed, o.RuntimeName, runtimes[o.RuntimeName])
		}
		rt = runcTemplate(ctrd, runtimes, o.RuntimeName)
		runtimes[o.RuntimeName] = rt
	}
	rt["runtime_type"] = runcV2
	opts, err := table(rt, "options")
	if err != nil {
		return err
	}
	opts["BinaryName"] = o.RuntimePath
	// containerd passes a pod's annotations to the runtime only where the
	// handler lists them; ours lets pods select a profile.
	if _, err := appendString(rt, "pod_annotations", AnnotationPrefix); err != nil {
		return err
	}
	if _, err := appendString(rt, "container_annotations", AnnotationPrefix); err != nil {
		return err
	}
	if o.SetAsDefault {
		ctrd["default_runtime_name"] = o.RuntimeName
	}
	return nil
}

// runcTemplate copies the default runtime handler when it is a runc
// handler, else the "runc" handler, else nothing.
func runcTemplate(ctrd, runtimes map[string]any, name string) map[string]any {
	candidates := []string{"runc"}
	if d, ok := ctrd["default_runtime_name"].(string); ok && d != name {
		candidates = append([]string{d}, candidates...)
	}
	for _, c := range candidates {
		src, ok := runtimes[c].(map[string]any)
		if !ok {
			continue
		}
		if t, _ := src["runtime_type"].(string); t == "" || t == runcV2 {
			return deepCopy(src).(map[string]any)
		}
	}
	return map[string]any{}
}

func containerdRemove(m map[string]any, version int64, o Options) {
	plugin := containerdPlugin(version)
	deleteKey(m, 4, "plugins", plugin, "containerd", "runtimes", o.RuntimeName)
	ctrd := lookupTable(m, "plugins", plugin, "containerd")
	if ctrd != nil && ctrd["default_runtime_name"] == o.RuntimeName {
		// containerd's own default handler name.
		ctrd["default_runtime_name"] = "runc"
	}
}

// containerdDropInEdits leaves the admin's file alone but for one
// `imports` entry, and writes the handler to a drop-in. containerd < 2.1
// replaces a plugin's whole section with the imported one instead of
// merging keys, so the drop-in carries a copy of the main file's CRI
// section: a later edit of that section in the main file is shadowed until
// configure is run again.
func containerdDropInEdits(o Options) ([]fileEdit, []string, error) {
	mainData, _, err := readFile(o.Config)
	if err != nil {
		return nil, nil, err
	}
	mainMap, err := decodeTOML(mainData)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.Config, err)
	}
	version, err := containerdVersion(mainMap, len(bytes.TrimSpace(mainData)) == 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.Config, err)
	}
	if version < 2 {
		return nil, nil, fmt.Errorf("%s: containerd config version 1 has no imports: add `version = 2` or omit --drop-in", o.Config)
	}
	importPath := o.DropIn
	plugin := containerdPlugin(version)
	dropIn := fileEdit{
		path: o.DropIn,
		configure: func([]byte, bool) ([]byte, bool, error) {
			m := map[string]any{"version": version}
			if sec := lookupTable(mainMap, "plugins", plugin); sec != nil {
				m["plugins"] = map[string]any{plugin: deepCopy(sec)}
			}
			if err := containerdAdd(m, version, o); err != nil {
				return nil, false, err
			}
			out, err := encodeTOML(m)
			return append([]byte(dropInHeader), out...), false, err
		},
		unconfigure: func([]byte, bool) ([]byte, bool, error) { return nil, true, nil },
	}
	main := fileEdit{
		path: o.Config,
		configure: func(b []byte, ok bool) ([]byte, bool, error) {
			return addImport(b, importPath)
		},
		unconfigure: func(b []byte, ok bool) ([]byte, bool, error) {
			return removeImport(b, importPath)
		},
	}
	return []fileEdit{dropIn, main}, []string{"the drop-in " + o.DropIn + " carries a copy of the CRI plugin section of " + o.Config + " (containerd < 2.1 replaces whole plugin sections on import): run configure again after editing that section"}, nil
}

const dropInHeader = "# Written by `hardenctl runtime configure`; `hardenctl runtime unconfigure` removes it.\n"

// addImport makes the main config import path. A file without a top-level
// imports key gets one line prepended, so its comments and layout are
// kept; an existing imports array is extended through a rewrite.
func addImport(data []byte, path string) ([]byte, bool, error) {
	m, err := decodeTOML(data)
	if err != nil {
		return nil, false, err
	}
	if importsCover(m["imports"], path) {
		return data, false, nil
	}
	line := "imports = [" + strconv.Quote(path) + "]\n"
	if _, ok := m["imports"]; !ok {
		return append([]byte(line), data...), false, nil
	}
	// `containerd config default` writes the list on one top-level line
	// (1.x: `imports = []`, 2.x: `imports = ['/etc/containerd/conf.d/*.toml']`);
	// rewriting that one line keeps the rest of the file as the admin has it.
	if loc := importsLine.FindSubmatchIndex(data); loc != nil && !tableBefore(data[:loc[0]]) {
		inner := bytes.TrimSpace(data[loc[2]:loc[3]])
		if len(inner) > 0 {
			line = "imports = [" + string(inner) + ", " + strconv.Quote(path) + "]\n"
		}
		out := append(append(append([]byte{}, data[:loc[0]]...), line...), data[loc[1]:]...)
		if check, err := decodeTOML(out); err == nil && importsCover(check["imports"], path) && len(check) == len(m) {
			return out, false, nil
		}
	}
	if _, err := appendString(m, "imports", path); err != nil {
		return nil, false, err
	}
	out, err := encodeTOML(m)
	return out, false, err
}

func removeImport(data []byte, path string) ([]byte, bool, error) {
	line := []byte("imports = [" + strconv.Quote(path) + "]\n")
	if bytes.HasPrefix(data, line) {
		return data[len(line):], false, nil
	}
	// The entry addImport appended to the admin's one-line list.
	if entry := []byte(", " + strconv.Quote(path) + "]\n"); bytes.Contains(data, entry) {
		if loc := importsLine.FindIndex(data); loc != nil && bytes.HasSuffix(data[loc[0]:loc[1]], entry) {
			out := append(append(append([]byte{}, data[:loc[1]-len(entry)]...), "]\n"...), data[loc[1]:]...)
			return out, false, nil
		}
	}
	m, err := decodeTOML(data)
	if err != nil {
		return nil, false, err
	}
	if !removeString(m, "imports", path, false) {
		return data, false, nil
	}
	out, err := encodeTOML(m)
	return out, false, err
}

// importsLine is a top-level one-line imports list; group 1 its entries.
var importsLine = regexp.MustCompile(`(?m)^imports = \[([^\]\n]*)\]\n`)

// tableBefore reports whether a table header precedes the end of prefix,
// i.e. a key found after it is not top-level.
func tableBefore(prefix []byte) bool {
	return regexp.MustCompile(`(?m)^\s*\[`).Match(prefix)
}

// importsCover reports whether an imports entry (a path or glob) already
// names path, e.g. containerd 2.x's "/etc/containerd/conf.d/*.toml".
func importsCover(imports any, path string) bool {
	list, _ := imports.([]any)
	for _, e := range list {
		pat, _ := e.(string)
		if ok, _ := filepath.Match(pat, path); ok || pat == path {
			return true
		}
	}
	return false
}
