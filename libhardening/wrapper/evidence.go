package wrapper

import (
	"errors"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// auditEvidence takes the audit state of a deleted container (read and
// removed: nothing else will collect it) and returns what collects, as
// notes for its delete record, what the strict controls its profile
// audited would have broken under enforcement (the paths it wrote to its
// root, the syscalls the kernel logged for it): none when no control was
// audited. The collection reads only the writable layer and the kernel
// log, so it may run beside the release of the container's host state. A
// collection error is a note too: delete is never blocked by it.
func (iv *invocation) auditEvidence(id string) (collect func() []string) {
	dir := (&modifier.Context{RunDir: iv.cfg.RunDir}).StateDir()
	st, err := audit.Take(dir, id, iv.lowerRoot())
	return func() []string {
		var findings []audit.Finding
		if st != nil {
			var ferr error
			findings, ferr = st.Findings(time.Now())
			err = errors.Join(err, ferr)
		}
		notes := make([]string, 0, len(findings)+1)
		for _, f := range findings {
			notes = append(notes, f.Note())
		}
		if err != nil {
			notes = append(notes, "audit evidence incomplete: "+err.Error())
		}
		return notes
	}
}
