// Package pipeline assembles the hardening pipeline: the ordered list of
// modifiers that hardened-runc runs on every container. Reading New is
// reading the policy's order of operations.
package pipeline

import (
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// New returns the modifiers for profile p, in the order they must run.
// p may be nil when the list is only used for Cleanup (delete), so
// constructors must not read the profile; modifiers read ctx.Profile.
func New(p *policy.Profile) modifier.List {
	return modifier.List{}
}
