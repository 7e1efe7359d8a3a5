package forensics

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Failure policies (profile [forensics] on_failure).
const (
	FailClosedPolicy = "fail-closed"
	FailOpenPolicy   = "fail-open"
)

// ErrCorrupt is wrapped by an AppendError when the store's tail cannot be
// read well enough to continue the chain.
var ErrCorrupt = errors.New("forensic store tail is unreadable")

// AppendError is returned by Store.Append when the record was not stored
// durably. The store is left as it was before the call.
type AppendError struct {
	Dir string
	// Op is the step that failed: lock, open, write, sync, rotate, recover.
	Op  string
	Err error
}

func (e *AppendError) Error() string {
	return fmt.Sprintf("forensic record not stored in %s: %s: %v", e.Dir, e.Op, e.Err)
}

func (e *AppendError) Unwrap() error { return e.Err }

// NoSpace reports whether err is (or wraps) "no space left on device" or an
// exceeded quota.
func NoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// FailClosed reports whether a failed Append must stop verb under profile p
// ("no record, no launch"). fail-closed is the default when p is nil or
// says nothing; delete, kill and state are never stopped (the verb table's
// NeverBlocks: refusing them would leave containers that cannot be stopped
// or removed).
func FailClosed(p *policy.Profile, verb string) bool {
	if fastpath.Lookup(verb).NeverBlocks {
		return false
	}
	return p == nil || p.Forensics.OnFailure != FailOpenPolicy
}

// FailureDenial is the denial the runtime returns when FailClosed: it says
// why and how to get out of it.
func FailureDenial(p *policy.Profile, dir string, err error) *modifier.Denial {
	name := policy.DefaultProfile
	if p != nil {
		name = p.Name
	}
	reason := fmt.Sprintf("the forensic record could not be written (%v): no record, no launch", err)
	fix := fmt.Sprintf("make %s writable", dir)
	if NoSpace(err) {
		fix = fmt.Sprintf("free space on the file system of %s", dir)
	}
	fix += fmt.Sprintf(", or set [forensics] on_failure = %q in profile %q", FailOpenPolicy, name)
	return &modifier.Denial{Modifier: "forensics", Rule: "forensics.on_failure", Reason: reason, Fix: fix}
}
