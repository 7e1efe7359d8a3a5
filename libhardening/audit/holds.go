package audit

import (
	"errors"
	"io/fs"
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// Holds implements modifier.Holder: the container holds audit state (the
// evidence its delete collects, and Cleanup removes) when the state file
// exists.
func (*Modifier) Holds(ctx *modifier.Context) (bool, error) {
	_, err := os.Lstat(statePath(ctx.StateDir(), ctx.ContainerID))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return true, err
}

// HoldPaths implements modifier.HoldPather: the container's audit state.
func (*Modifier) HoldPaths(ctx *modifier.Context) []string {
	return []string{statePath(ctx.StateDir(), ctx.ContainerID)}
}

var (
	_ modifier.Holder     = (*Modifier)(nil)
	_ modifier.HoldPather = (*Modifier)(nil)
)
