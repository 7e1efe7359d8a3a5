package engine

import (
	"bytes"
	"fmt"
)

// transform computes a file's new content from its current content; exists
// is false for a missing file. remove asks for the file to be deleted
// (a drop-in left empty).
type transform func(data []byte, exists bool) (out []byte, remove bool, err error)

// fileEdit is one file an engine's configuration touches.
type fileEdit struct {
	path string
	// configure adds our keys; unconfigure removes them.
	configure, unconfigure transform
}

// editsFunc returns the files to edit for o. Configure-time and
// unconfigure-time edits are the same list so the two stay symmetric.
type editsFunc func(o Options) ([]fileEdit, []string, error)

func editsFor(k Kind) editsFunc {
	switch k {
	case Docker:
		return dockerEdits
	case Containerd:
		return containerdEdits
	case CRIO:
		return crioEdits
	case Podman:
		return podmanEdits
	}
	return nil
}

// Configure computes the plan that makes the engine know hardened-runc as
// o.RuntimeName (and its default with o.SetAsDefault). Nothing is written
// until Apply. Running it again on its own output plans no change.
func Configure(o Options) (*Plan, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	edits, notes, err := editsFor(o.Engine)(o)
	if err != nil {
		return nil, err
	}
	p := &Plan{Engine: o.Engine, Restart: Restart(o.Engine), Notes: notes}
	for _, e := range edits {
		cur, exists, err := readFile(e.path)
		if err != nil {
			return nil, err
		}
		out, remove, err := e.configure(cur, exists)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.path, err)
		}
		p.add(e.path, cur, exists, out, remove)
	}
	if !p.Changed() {
		p.Restart = ""
	}
	return p, nil
}

// Unconfigure computes the plan that reverses Configure. A file whose
// content is exactly what Configure made from its backup (or from nothing,
// for a file Configure created) gets its original bytes back; a file
// changed by someone else since keeps those changes and loses only our keys.
func Unconfigure(o Options) (*Plan, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	edits, _, err := editsFor(o.Engine)(o)
	if err != nil {
		return nil, err
	}
	// Configure with the other --set-as-default, and with the binary path
	// each file names, too: unconfigure need not be given the flags
	// configure was run with to restore the original bytes.
	variants := [][]fileEdit{edits}
	addVariant := func(v Options) error {
		ev, _, err := editsFor(v.Engine)(v)
		if err == nil {
			variants = append(variants, ev)
		}
		return err
	}
	other := o
	other.SetAsDefault = !o.SetAsDefault
	if err := addVariant(other); err != nil {
		return nil, err
	}
	for _, e := range edits {
		data, ok, err := readFile(e.path)
		if err != nil {
			return nil, err
		}
		if path := registeredPath(o.Engine, data, o.RuntimeName); ok && path != "" && path != o.RuntimePath {
			for _, def := range []bool{true, false} {
				v := o
				v.RuntimePath, v.SetAsDefault = path, def
				if err := addVariant(v); err != nil {
					return nil, err
				}
			}
		}
	}
	p := &Plan{Engine: o.Engine, Restart: Restart(o.Engine)}
	for i := range edits {
		var alts []fileEdit
		for _, v := range variants {
			alts = append(alts, v[i])
		}
		c, err := unconfigureFile(alts...)
		if err != nil {
			return nil, err
		}
		if c != nil {
			p.Changes = append(p.Changes, *c)
		}
	}
	if !p.Changed() {
		p.Restart = ""
	}
	return p, nil
}

func unconfigureFile(edits ...fileEdit) (*FileChange, error) {
	e := edits[0]
	cur, exists, err := readFile(e.path)
	if err != nil || !exists {
		return nil, err
	}
	orig, hasOrig, err := readFile(e.path + BackupSuffix)
	if err != nil {
		return nil, err
	}
	for _, ed := range edits {
		want, remove, err := ed.configure(orig, hasOrig)
		if err != nil || remove || !bytes.Equal(want, cur) {
			continue
		}
		// Nothing but our edit changed the file: give back its bytes.
		c := &FileChange{Path: e.path, Existed: true, Before: cur, Restored: true, DropBackup: hasOrig}
		if hasOrig {
			c.After, c.Content = orig, string(orig)
		} else {
			c.Remove = true
		}
		if hasOrig && bytes.Equal(orig, cur) {
			return nil, nil
		}
		return c, nil
	}
	out, remove, err := e.unconfigure(cur, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	if !remove && bytes.Equal(out, cur) {
		return nil, nil
	}
	return &FileChange{Path: e.path, Existed: true, Before: cur, After: out, Content: string(out), Remove: remove}, nil
}
