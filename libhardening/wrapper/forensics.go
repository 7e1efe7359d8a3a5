package wrapper

import (
	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// StoreRecorder writes launches to the forensic store in Dir, fsynced before
// the lower runtime is exec'd, writes each record's witness line where the
// config says, and forwards records to syslog when the profile asks for it.
type StoreRecorder struct {
	Dir       string
	Retention policy.Retention
	Witness   policy.Witness
	// Warn receives what does not fail the launch: a witness line that
	// could not be written (the record itself is stored).
	Warn func(error)
	// Mark, when set, is called when the record is built and when it is
	// stored (Runtime.Mark).
	Mark func(phase string)
}

// Record builds the record from the launch and appends it.
func (s StoreRecorder) Record(l *Launch) error {
	in := forensics.Input{
		Verb:         l.Verb,
		Argv:         l.Args,
		ContainerID:  l.ContainerID,
		Bundle:       l.Bundle,
		Lower:        l.Lower,
		Profile:      l.Profile,
		DocumentKind: documentKind(l.Verb),
		Original:     l.Original,
		Hardened:     l.Hardened,
		Changes:      l.Changes,
		Notes:        l.Notes,
		Annotations:  l.Annotations,
		Caller:       l.Caller,
		Engine:       l.Engine,
		Decision:     decisionOf(l),
	}
	rec, err := forensics.Build(in)
	if err != nil {
		return err
	}
	s.mark("record-build")
	rc, err := forensics.New(s.Dir, forensics.RetentionOptions(s.Retention)).Append(rec)
	if err != nil {
		return err
	}
	s.mark("record-append")
	// A witness that cannot be written does not stop the launch: the
	// record is durable, and verify reports the missing line as
	// unwitnessed, never as a record that is not there.
	if err := forensics.WriteWitness(s.Witness, s.Dir, append(rc.Folded, rec)...); err != nil && s.Warn != nil {
		s.Warn(err)
	}
	if l.Profile != nil && l.Profile.Forensics.Syslog {
		// Best effort: the local record is the durable one.
		_ = forensics.Forward(rec, forensics.DefaultSyslogSocket)
	}
	return nil
}

func (s StoreRecorder) mark(phase string) {
	if s.Mark != nil {
		s.Mark(phase)
	}
}

func documentKind(verb string) string {
	switch verb {
	case "exec":
		return "process.json"
	case "update":
		return "resources.json"
	}
	return "config.json"
}

// decisionOf is the launch's decision as the record keeps it: the result the
// runtime decided, with the denial it enforced (or, in audit mode, would
// have) or the error that failed it.
func decisionOf(l *Launch) forensics.Decision {
	d := forensics.Decision{Result: l.Decision}
	if l.Denial != nil {
		d.Modifier, d.Rule, d.Reason = l.Denial.Modifier, l.Denial.Rule, l.Denial.Reason
	} else if l.Error != "" {
		d.Reason = l.Error
	}
	return d
}
