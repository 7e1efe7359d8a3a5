package wrapper

import (
	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Decision is what the pipeline decided for a launch: the forensic record's
// own type, so the runtime, the record and its readers share one vocabulary.
type Decision = forensics.Result

// The runtime's names for the decisions.
const (
	Allowed = forensics.Allowed
	Denied  = forensics.Denied
	// Audited: the profile is in audit mode; nothing was changed.
	Audited = forensics.Audit
	// Unmanaged: the profile is off, or the verb carries no policy.
	Unmanaged = forensics.Off
	// Failed: the launch could not be hardened (I/O, malformed input).
	Failed = forensics.Failed
)

// Launch is everything the runtime knows about one invocation, handed to the
// Recorder. Original and Hardened are the documents exactly as read and as
// written (config.json for create, process.json for exec, resources for
// update); they are nil for short records.
type Launch struct {
	Verb        string
	Args        []string
	ContainerID string
	Bundle      string
	Lower       modifier.Lower
	Profile     *policy.Profile
	ProfileRule string
	Annotations map[string]string
	// Caller and Engine are who asked for the container, as read for
	// profile selection; nil when no profile was selected.
	Caller   *forensics.Caller
	Engine   *forensics.Engine
	Original []byte
	Hardened []byte
	Changes  []modifier.Change
	Notes    []string
	Decision Decision
	Denial   *modifier.Denial
	Error    string
}

// Recorder stores a forensic record of a launch. Record must be durable
// (fsynced) when it returns nil. The runtime applies the profile's
// forensics.on_failure when it returns an error.
type Recorder interface {
	Record(l *Launch) error
}
