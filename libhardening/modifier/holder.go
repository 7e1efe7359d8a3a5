package modifier

import (
	"errors"
	"fmt"
)

// Holder is implemented by Cleaners that can tell, without changing
// anything, whether they hold host state for ctx's container. delete uses
// it to exec the lower runtime directly when there is nothing to release
// after it. Holds must answer true when it cannot decide: an answer of
// false means Cleanup would release nothing.
type Holder interface {
	Holds(ctx *Context) (bool, error)
}

// Holds reports whether any Cleaner of l may hold host state for ctx's
// container. A Cleaner that is not a Holder counts as holding, and so does
// one whose Holds fails (the error is returned with the answer), so a
// false answer always means Cleanup has nothing to do.
func (l Cleaners) Holds(ctx *Context) (bool, error) {
	var errs []error
	holds := false
	for _, m := range l {
		h, ok := m.(Holder)
		if !ok {
			return true, nil
		}
		held, err := h.Holds(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name(), err))
			held = true
		}
		holds = holds || held
	}
	return holds, errors.Join(errs...)
}

// HoldPather is implemented by Holders whose state is files: HoldPaths
// names the paths of which at least one exists whenever Holds answers true
// for ctx's container, except in the moment between two steps of setting
// it up, which a crash can freeze and GC repairs. They let the C fast path
// decide, without the Go runtime, that a delete has nothing to release.
type HoldPather interface {
	HoldPaths(ctx *Context) []string
}

// HoldPaths collects every Cleaner's HoldPaths for ctx's container, or
// reports false when a Cleaner cannot name its state by paths (then only
// Holds can decide).
func (l Cleaners) HoldPaths(ctx *Context) ([]string, bool) {
	var paths []string
	for _, m := range l {
		h, ok := m.(HoldPather)
		if !ok {
			return nil, false
		}
		paths = append(paths, h.HoldPaths(ctx)...)
	}
	return paths, true
}
