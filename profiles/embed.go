// Package profiles holds the policy profiles that ship with hardened-runc.
// They install to /etc/hardened-runc/profiles and are also embedded in the
// binary, so a host with no config at all runs under the "default" profile.
package profiles

import "embed"

// FS holds the profiles (*.toml), the seccomp profiles (seccomp/*.json) and
// the AppArmor templates (apparmor/*.tmpl).
//
//go:embed *.toml all:seccomp all:apparmor
var FS embed.FS
