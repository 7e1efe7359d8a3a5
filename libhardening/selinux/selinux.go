// Package selinux labels containers where the kernel enforces SELinux: the
// process runs as the profile's container type (container_t) and the
// container's files get the matching file label, both with an MCS category
// pair of their own so containers cannot read each other's files. Pairs are
// reserved in hardened-runc's run directory, because every `create` is a new
// process and go-selinux only keeps reservations in memory. Where SELinux is
// not enforcing it records that fact, or denies the launch when the profile
// requires SELinux.
package selinux

import (
	"errors"
	"fmt"

	goselinux "github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
)

// Status is what the kernel says about SELinux.
type Status struct {
	// Enabled means labels can be applied (enforcing or permissive).
	Enabled bool
	// Enforcing means denials are enforced, not only logged.
	Enforcing bool
	// Reason describes the state for people, e.g. "SELinux is permissive".
	Reason string
}

// Enforcing reports whether the running kernel enforces SELinux, and the
// state in words. `hardenctl doctor` prints the reason as is.
func Enforcing() (bool, string) {
	st := SystemStatus()
	return st.Enforcing, st.Reason
}

// SystemStatus reads the running kernel's SELinux state.
func SystemStatus() Status {
	if !goselinux.GetEnabled() {
		return Status{Reason: "SELinux is not enabled on this host (no selinuxfs, or SELINUX=disabled)"}
	}
	switch goselinux.EnforceMode() {
	case goselinux.Enforcing:
		return Status{Enabled: true, Enforcing: true, Reason: "SELinux is enforcing"}
	case goselinux.Permissive:
		return Status{Enabled: true, Reason: "SELinux is permissive (denials are logged, not enforced)"}
	}
	return Status{Reason: "SELinux is disabled"}
}

// Host is the SELinux side of the machine, an interface so tests run
// without an SELinux kernel.
type Host interface {
	Status() Status
	// Labels returns the process and mount labels of a container of
	// process type typ at MCS level (e.g. "s0:c1,c2").
	Labels(typ, level string) (process, mount string, err error)
}

// System is the running kernel and its SELinux policy.
type System struct{}

// Status implements Host.
func (System) Status() Status { return SystemStatus() }

// ErrNoContainerContexts is returned where SELinux is enabled but the policy
// has no container contexts (container-selinux is not installed).
var ErrNoContainerContexts = errors.New("the SELinux policy has no container contexts (install container-selinux)")

// Labels implements Host with the policy's container contexts
// (lxc_contexts), replacing the type and, where the policy has MCS, the
// level.
func (System) Labels(typ, level string) (string, string, error) {
	opts := []string{"type:" + typ}
	// A policy without MLS/MCS has no levels to set.
	if goselinux.MLSEnabled() {
		opts = append(opts, "level:"+level)
	}
	process, mount, err := label.InitLabels(opts)
	if err != nil {
		return "", "", fmt.Errorf("container labels: %w", err)
	}
	if process == "" {
		return "", "", ErrNoContainerContexts
	}
	return process, mount, nil
}
