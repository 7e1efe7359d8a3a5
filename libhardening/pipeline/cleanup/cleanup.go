// Package cleanup lists what releases the host state that the pipeline's
// effects set up for a container. It is apart from package pipeline, whose
// seccomp modifier links libseccomp, so that what deletes a container
// builds without cgo (cmd/hardened-runc-delete).
package cleanup

import (
	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/selinux"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

// Cleaners returns what releases the host state the pipeline's effects set
// up for a container (ID range and idmapped root, MCS pair, audit state),
// in pipeline order. It needs no profile: delete runs it whatever the
// policy says now.
func Cleaners() modifier.Cleaners {
	return modifier.Cleaners{
		userns.Cleaner(),
		selinux.Cleaner(),
		audit.Cleaner(),
	}
}
