package wrapper

import (
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// auditEvidence collects, for a deleted container, what the strict
// controls its profile audited would have broken under enforcement (the
// paths it wrote to its root, the syscalls the kernel logged for it), as
// notes for its delete record. Nothing when no control was audited. A
// collection error is a note too: delete is never blocked by it.
func (iv *invocation) auditEvidence(id string) []string {
	dir := (&modifier.Context{RunDir: iv.cfg.RunDir}).StateDir()
	findings, err := audit.Collect(dir, id, iv.lowerRoot(), time.Now())
	notes := make([]string, 0, len(findings)+1)
	for _, f := range findings {
		notes = append(notes, f.Note())
	}
	if err != nil {
		notes = append(notes, "audit evidence incomplete: "+err.Error())
	}
	return notes
}
