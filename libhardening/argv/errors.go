package argv

import (
	"errors"
	"fmt"
)

// The kinds of usage error runc itself rejects before doing anything. Each is
// the Err of a *UsageError, so callers can use errors.Is.
var (
	// ErrBadSyntax: "---x", "-=x" (Go flag: "bad flag syntax").
	ErrBadSyntax = errors.New("bad flag syntax")
	// ErrMissingValue: a value flag is the last argument ("flag needs an argument").
	ErrMissingValue = errors.New("flag needs an argument")
	// ErrBadValue: a value that the flag's type rejects, e.g. --detach=maybe,
	// --preserve-fds=x, --interval=5 (Go flag: "invalid value"/"invalid boolean value").
	ErrBadValue = errors.New("invalid flag value")
	// ErrTwoForms: both spellings of one flag, e.g. -b X --bundle Y
	// (urfave/cli: "Cannot use two forms of the same flag").
	ErrTwoForms = errors.New("two forms of the same flag")
	// ErrNotReplaceable: ReplaceFlagValue could not substitute the value
	// without changing how runc reads the rest of the command line.
	ErrNotReplaceable = errors.New("flag value cannot be replaced in place")
)

// UsageError is a command line runc would refuse to run. Parse still returns
// the Invocation, filled in as far as parsing got, so a caller can log the
// container id and pass the command line through for runc to report.
type UsageError struct {
	Err   error  // one of the Err* kinds above
	Verb  string // "" for a global flag
	Arg   string // the offending argument as written
	Index int    // its position in the argument list given to Parse
}

func (e *UsageError) Error() string {
	scope := "global options"
	if e.Verb != "" {
		scope = "runc " + e.Verb
	}
	return fmt.Sprintf("%s: %v: %q (argument %d)", scope, e.Err, e.Arg, e.Index)
}

func (e *UsageError) Unwrap() error { return e.Err }
