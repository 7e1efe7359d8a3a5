// Package forensics owns hardened-runc's tamper-evident launch record: what
// was asked for, what was launched after hardening, by whom and under which
// policy. It builds records from plain inputs (Build), stores them in an
// append-only, hash-chained, rotated store (Store), verifies the chain
// (Verify), reads and filters records for `hardenctl forensics`, diffs the
// original and hardened specs and finds containers that run under an older
// policy (Drift). The runtime stays thin: Build, Append, and on failure
// FailClosed decides whether the launch may proceed.
package forensics

import (
	"encoding/json"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// SchemaVersion is the version of Record. It changes when a field changes
// meaning or is removed; adding a field does not change it.
const SchemaVersion = 1

// Result is what hardened-runc decided for one invocation. The runtime
// decides it and the record stores it as given: there is one vocabulary for
// the runtime, the record and every reader.
type Result string

// Results.
const (
	// Allowed: the (hardened) spec was handed to the lower runtime.
	Allowed Result = "allowed"
	// Denied: policy forbade the launch; Rule names the policy setting.
	Denied Result = "denied"
	// Audit: the profile is in audit mode; Changes lists what enforce mode
	// would change, and Rule/Reason what it would deny.
	Audit Result = "audit"
	// Off: the profile's mode is off (the spec went through untouched), or
	// the verb carries no policy (delete, kill, ...).
	Off Result = "off"
	// Failed: the launch could not be hardened for a reason that is not a
	// policy decision (unreadable bundle, I/O error); it did not happen.
	// Stored as "error", the value records have always had.
	Failed Result = "error"
)

// Results lists every Result, for readers that validate a filter.
func Results() []Result { return []Result{Allowed, Denied, Audit, Off, Failed} }

// Record is one line of the store. The field order is part of the format:
// Seq and Prev come first so the chain can be checked without decoding the
// whole line, Hash comes last (see Store).
type Record struct {
	Seq uint64 `json:"seq"`
	// Prev is the Hash of the record before this one ("" for the first
	// record of a store, or the anchor's hash after retention).
	Prev   string    `json:"prev"`
	Schema int       `json:"schema"`
	Time   time.Time `json:"time"`

	Verb        string   `json:"verb"`
	Argv        []string `json:"argv,omitempty"`
	ContainerID string   `json:"container_id,omitempty"`
	Bundle      string   `json:"bundle,omitempty"`
	Lower       *Lower   `json:"lower,omitempty"`
	Caller      *Caller  `json:"caller,omitempty"`
	Engine      *Engine  `json:"engine,omitempty"`

	Profile  *ProfileRef `json:"profile,omitempty"`
	Decision Decision    `json:"decision"`

	Changes []modifier.Change `json:"changes,omitempty"`
	Notes   []string          `json:"notes,omitempty"`
	// Original is the spec (config.json, process.json, update resources)
	// as received; Hardened is what was handed to the lower runtime. They
	// come after every field a listing needs (see summaryPart).
	Original *Document  `json:"original,omitempty"`
	Hardened *Document  `json:"hardened,omitempty"`
	Host     *HostFacts `json:"host,omitempty"`

	// Repair is set on the first record appended after the store found a
	// torn or missing tail, so the repair itself is on the chain.
	Repair *Repair `json:"repair,omitempty"`
	// Spool is the id of the spool line this record was made from: the C
	// fast path wrote its facts (Time is when) and a later append put it
	// on the chain (see spool.go).
	Spool string `json:"spool,omitempty"`

	// Hash is "sha256:<hex>" of the line's bytes before `,"hash":`. It is
	// set by Append.
	Hash string `json:"hash,omitempty"`

	// profile is the profile whose effective settings Append keeps, once
	// per profile hash, for drift. It is encoded only when its hash is new,
	// not on every launch.
	profile *policy.Profile
}

// Lower is the lower runtime the spec was handed to.
type Lower struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
}

// Caller is the process that ran hardened-runc.
type Caller struct {
	PID     int      `json:"pid"`
	Exe     string   `json:"exe,omitempty"`
	Cmdline []string `json:"cmdline,omitempty"`
	// Manager is the first known container manager among the ancestors
	// (dockerd, containerd-shim-runc-v2, conmon, kubelet, podman ...).
	Manager string `json:"manager,omitempty"`
	// Ancestors lists the process chain above the caller, nearest first,
	// as "pid:comm".
	Ancestors []string `json:"ancestors,omitempty"`
	// ManagerExes are the real executables of the ancestors whose name is a
	// container manager's, as "pid:path": a name can be chosen by any
	// process, the executable cannot.
	ManagerExes []string `json:"manager_exes,omitempty"`
}

// Engine is which engine made the container and the identity it gave it.
// Name is decided from the engine's process (Identify), and the pod,
// container and image fields come only from the annotations that engine
// writes itself (Trusted); the identity annotations it does not vouch for
// are in Claimed, never in the fields a listing or a filter reads.
type Engine struct {
	// Name is docker, containerd, containerd-cri, cri-o, podman or ""
	// when unknown.
	Name string `json:"name,omitempty"`
	// Evidence is what Name was decided from: hardened-runc's parent.
	Evidence string `json:"evidence,omitempty"`
	// Namespace is containerd's namespace (moby, k8s.io, default ...).
	Namespace     string `json:"namespace,omitempty"`
	PodNamespace  string `json:"pod_namespace,omitempty"`
	PodName       string `json:"pod_name,omitempty"`
	PodUID        string `json:"pod_uid,omitempty"`
	SandboxID     string `json:"sandbox_id,omitempty"`
	ContainerName string `json:"container_name,omitempty"`
	ContainerType string `json:"container_type,omitempty"`
	Image         string `json:"image,omitempty"`
	ImageDigest   string `json:"image_digest,omitempty"`
	// Trusted lists the annotation keys the engine wrote itself; the fields
	// above come only from them.
	Trusted []string `json:"trusted_keys,omitempty"`
	// Claimed are identity annotations present in the spec that the engine
	// does not vouch for: set by the user or the pod author, or forged.
	Claimed map[string]string `json:"claimed,omitempty"`
}

// ProfileRef names the policy the launch was judged by.
type ProfileRef struct {
	Name string `json:"name"`
	Hash string `json:"hash,omitempty"`
	Mode string `json:"mode,omitempty"`
}

// Decision is what hardened-runc decided, as the runtime decided it.
type Decision struct {
	Result   Result `json:"result"`
	Modifier string `json:"modifier,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Document is a spec document. SHA256 is the hash of the bytes exactly as
// received (or as written, for the hardened one); Content is that document
// with the values of redacted environment variables replaced, so the hash
// proves what was received without the record holding the secret.
type Document struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	// Redacted lists the names of the environment variables whose values
	// were replaced by RedactedValue in Content.
	Redacted []string        `json:"redacted,omitempty"`
	Content  json.RawMessage `json:"content,omitempty"`
}

// Repair describes what Append fixed before writing this record.
type Repair struct {
	File string `json:"file"`
	// TornBytes were cut from the end of File: a record whose write was
	// interrupted (crash, kill -9). TornSHA256 is their hash.
	TornBytes  int64  `json:"torn_bytes,omitempty"`
	TornSHA256 string `json:"torn_sha256,omitempty"`
	// Missing is set when the store held fewer records than its head
	// said: records were removed by something other than Append.
	Missing string `json:"missing,omitempty"`
}

// ImageName returns the image for filters and listings.
func (r *Record) ImageName() string {
	if r.Engine == nil {
		return ""
	}
	return r.Engine.Image
}

// Pod returns "namespace/name" of the Kubernetes pod, or "". Records made
// before the engine was decided from its process (no Evidence) name no pod:
// their identity may have come from forged annotations.
func (r *Record) Pod() string {
	if r.Engine == nil || r.Engine.PodName == "" || r.Engine.Evidence == "" {
		return ""
	}
	return r.Engine.PodNamespace + "/" + r.Engine.PodName
}

// ProfileName returns the profile name or "".
func (r *Record) ProfileName() string {
	if r.Profile == nil {
		return ""
	}
	return r.Profile.Name
}
