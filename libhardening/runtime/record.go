package runtime

import (
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Decision is what the pipeline decided for a launch.
type Decision string

const (
	Allowed Decision = "allowed"
	Denied  Decision = "denied"
	// Audited: the profile is in audit mode; nothing was changed.
	Audited Decision = "audit"
	// Unmanaged: the profile is off, or the verb carries no policy.
	Unmanaged Decision = "off"
	// Failed: the launch could not be hardened (I/O, malformed input).
	Failed Decision = "failed"
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
	Original    []byte
	Hardened    []byte
	Changes     []modifier.Change
	Notes       []string
	Decision    Decision
	Denial      *modifier.Denial
	Error       string
}

// Recorder stores a forensic record of a launch. Record must be durable
// (fsynced) when it returns nil. The runtime applies the profile's
// forensics.on_failure when it returns an error.
type Recorder interface {
	Record(l *Launch) error
}
