// Package version holds hardened-runc's version, stamped at build time with
// -ldflags "-X github.com/hardened-runc/hardened-runc/libhardening/version.Version=...".
package version

// Version is set by the Makefile from `git describe`.
var Version = "0.1.0-dev"
