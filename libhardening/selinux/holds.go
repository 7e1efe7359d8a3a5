package selinux

import "github.com/hardened-runc/hardened-runc/libhardening/modifier"

// Holds implements modifier.Holder: the container holds an MCS pair when
// its reservation exists (what Cleanup releases).
func (m *Modifier) Holds(ctx *modifier.Context) (bool, error) {
	if ctx.ContainerID == "" {
		return false, nil
	}
	level, err := reservations(ctx).Lookup(ctx.ContainerID)
	if err != nil {
		return true, err
	}
	return level != "", nil
}

// HoldPaths implements modifier.HoldPather: the container's reservation.
func (m *Modifier) HoldPaths(ctx *modifier.Context) []string {
	return []string{reservations(ctx).path(ctx.ContainerID)}
}

var (
	_ modifier.Holder     = (*Modifier)(nil)
	_ modifier.HoldPather = (*Modifier)(nil)
)
