// Package preexec is the C half of the pass-through fast path (see package
// fastpath): a constructor that runs before the Go runtime starts and, when
// a valid record says which lower runtime a pass-through verb goes to,
// execs it at once, or for an overlapped verb (delete) starts it and
// leaves the rest to the Go side (Started). Import it from cmd/hardened-runc
// only: any binary that links it gets the constructor.
package preexec

// The constructor is in preexec.c, which cgo compiles with this package.

/*
#include <sys/types.h>
pid_t hardened_runc_started(const char **lower);
*/
import "C"

// Started returns the lower runtime the constructor started for this
// process's overlapped verb: its pid and path, or 0 and "" when it started
// none (the Go side then runs the verb itself). The process must wait for
// it and exit with its status; it must never start the lower runtime again.
func Started() (pid int, lower string) {
	var p *C.char
	pid = int(C.hardened_runc_started(&p))
	if pid <= 0 {
		return 0, ""
	}
	return pid, C.GoString(p)
}
