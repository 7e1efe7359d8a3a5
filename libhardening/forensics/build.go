package forensics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Input is what the runtime knows about one invocation. Every field is plain
// data; Build does the rest.
type Input struct {
	// Time of the invocation; zero means now.
	Time        time.Time
	Verb        string
	Argv        []string
	ContainerID string
	Bundle      string
	Lower       modifier.Lower
	// Profile is the profile the launch was judged by (nil for short
	// records when no profile was loaded, e.g. delete).
	Profile *policy.Profile

	// DocumentKind names Original and Hardened: "config.json",
	// "process.json" (exec), "resources.json" (update).
	DocumentKind string
	// Original is the document exactly as received.
	Original []byte
	// Hardened is the document exactly as written for the lower runtime;
	// nil when the launch was denied or the document was not rewritten.
	Hardened []byte
	Changes  []modifier.Change
	Notes    []string
	// Decision is what the runtime decided; the record stores it as given.
	Decision Decision

	// Annotations are the spec's annotations; nil means "read them from
	// Original".
	Annotations map[string]string
	// Caller and Engine, when the runtime already read them (to decide
	// which annotations selection may trust), are recorded as given; nil
	// means "read the caller from PPID and decide the engine here".
	Caller *Caller
	Engine *Engine
	// PPID is the caller's pid; 0 means os.Getppid().
	PPID int
	// ProcRoot is /proc unless a test says otherwise.
	ProcRoot string
	// SysRoot is /sys unless a test says otherwise.
	SysRoot string
}

// Build turns an invocation into a Record. It fails only when a document
// cannot be represented; unreadable /proc entries leave fields empty.
func Build(in Input) (*Record, error) {
	t := in.Time
	if t.IsZero() {
		t = time.Now()
	}
	proc := orDefault(in.ProcRoot, "/proc")
	r := &Record{
		Schema:      SchemaVersion,
		Time:        t.UTC(),
		Verb:        in.Verb,
		Argv:        in.Argv,
		ContainerID: in.ContainerID,
		Bundle:      in.Bundle,
		Changes:     in.Changes,
		Notes:       in.Notes,
		Decision:    in.Decision,
	}
	if in.Lower.Path != "" || in.Lower.Version != "" {
		r.Lower = &Lower{Path: in.Lower.Path, Version: in.Lower.Version}
	}
	if in.Profile != nil {
		r.Profile = &ProfileRef{Name: in.Profile.Name, Hash: in.Profile.Hash, Mode: string(in.Profile.Mode)}
		r.profile = in.Profile
	}
	r.Caller = in.Caller
	if r.Caller == nil {
		ppid := in.PPID
		if ppid == 0 {
			ppid = os.Getppid()
		}
		r.Caller = ReadCaller(proc, ppid)
	}
	var redact []string
	if in.Profile != nil {
		redact = in.Profile.Forensics.Redact
	}
	var err error
	if r.Original, err = document(in.DocumentKind, in.Original, redact); err != nil {
		return nil, fmt.Errorf("forensics: original %s: %w", in.DocumentKind, err)
	}
	if r.Hardened, err = document(in.DocumentKind, in.Hardened, redact); err != nil {
		return nil, fmt.Errorf("forensics: hardened %s: %w", in.DocumentKind, err)
	}
	r.Engine = in.Engine
	if r.Engine == nil {
		// Only here are the annotations needed: the runtime passes the
		// engine it decided, and its spec is not decoded a second time.
		ann := in.Annotations
		if ann == nil && in.DocumentKind == "config.json" {
			ann = annotationsOf(in.Original)
		}
		r.Engine = EngineFrom(ann, in.Bundle, r.Caller)
	}
	if fastpath.Lookup(in.Verb).Full {
		r.Host = ReadHostFacts(proc, orDefault(in.SysRoot, "/sys"))
	}
	return r, nil
}

// document hashes data as given and stores it with secrets redacted.
func document(kind string, data []byte, redact []string) (*Document, error) {
	if data == nil {
		return nil, nil
	}
	sum := sha256.Sum256(data)
	d := &Document{Kind: kind, SHA256: "sha256:" + hex.EncodeToString(sum[:]), Size: len(data)}
	// Redact reads the document once (compacting it, or decoding it when
	// a pattern may match) and fails on anything that is not one JSON
	// value, so validity is not checked in a pass of its own.
	content, names, err := Redact(data, redact)
	if err != nil {
		// Keep what was received, as a JSON string, so a malformed
		// document is still on record.
		s, err := json.Marshal(string(data))
		if err != nil {
			return nil, err
		}
		d.Content = s
		return d, nil
	}
	d.Content, d.Redacted = content, names
	return d, nil
}

// annotationsOf reads the annotations of a config.json without decoding the
// rest of it.
func annotationsOf(config []byte) map[string]string {
	var s struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(config, &s) != nil {
		return nil
	}
	return s.Annotations
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
