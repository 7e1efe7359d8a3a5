// Package preexec is the C half of the pass-through fast path (see package
// fastpath): a constructor that runs before the Go runtime starts and, when
// a valid record says which lower runtime a pass-through verb goes to,
// execs it at once. Import it for its side effect, from cmd/hardened-runc
// only: any binary that links it gets the constructor.
package preexec

// The constructor is in preexec.c, which cgo compiles with this package;
// the import below is what makes it do so.

import "C"
