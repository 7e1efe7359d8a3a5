package policy

import "embed"

// Sources are this package's definitions, embedded so that the policy
// reference (package policy/reference, `hardenctl profile reference`) reads
// each key's meaning from its field's doc comment in an installed binary.
// The reference generator itself lives in its own package: go/parser,
// go/doc and text/template stay out of the runtime's binary, which links
// policy but never the reference.
//
//go:embed config.go select.go profile.go section_*.go
var Sources embed.FS
