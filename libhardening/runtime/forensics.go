package runtime

import (
	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// StoreRecorder writes launches to the forensic store in Dir, fsynced before
// the lower runtime is exec'd, and forwards them to syslog when the profile
// asks for it.
type StoreRecorder struct {
	Dir       string
	Retention policy.Retention
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
	}
	switch {
	case l.Denial != nil && l.Decision == Denied:
		in.Err = l.Denial
	case l.Decision == Failed && l.Error != "":
		in.Err = launchError(l.Error)
	}
	rec, err := forensics.Build(in)
	if err != nil {
		return err
	}
	maxFile, maxTotal, maxAge := s.Retention.Sizes()
	opts := forensics.Options{MaxFileSize: maxFile, MaxTotal: maxTotal, MaxAge: maxAge}
	if _, err := forensics.New(s.Dir, opts).Append(rec); err != nil {
		return err
	}
	if l.Profile != nil && l.Profile.Forensics.Syslog {
		// Best effort: the local record is the durable one.
		_ = forensics.Forward(rec, forensics.DefaultSyslogSocket)
	}
	return nil
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

type launchError string

func (e launchError) Error() string { return string(e) }
