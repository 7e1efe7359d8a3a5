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
