package policy

// The [forensics] section is owned by libhardening/forensics.

// Forensics controls the record kept of every launch.
type Forensics struct {
	// OnFailure: "fail-closed" (default: no record, no launch) or
	// "fail-open" (launch and log the error).
	OnFailure string `toml:"on_failure"`
	// Redact lists globs on environment variable names whose values are
	// replaced by "<redacted>" in records.
	Redact []string `toml:"redact"`
	// Syslog forwards every record to the local syslog/journald (RFC 5424).
	Syslog bool `toml:"syslog"`
}

func (f *Forensics) validate() error {
	return oneOf("forensics.on_failure", f.OnFailure, "fail-closed", "fail-open")
}
