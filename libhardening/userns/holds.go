package userns

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// Holds implements modifier.Holder: the container holds something Cleanup
// releases when the range table has an entry for its ID (under any
// --root: Cleanup decides whose it is) or its directory (the idmapped
// rootfs mounts) exists. It reads without the table's lock: the table is
// replaced by rename, so a reader sees a whole one. An ID Cleanup would
// refuse, or a table it cannot read, counts as holding.
func (u *Modifier) Holds(ctx *modifier.Context) (bool, error) {
	if err := ValidID(ctx.ContainerID); err != nil {
		return true, err
	}
	dir := filepath.Join(ctx.StateDir(), stateDirName)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil // what Cleanup checks first
	}
	if _, err := os.Lstat(filepath.Join(dir, ctx.ContainerID)); err == nil || !errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	t, err := readTable(filepath.Join(dir, tableFile))
	if err != nil {
		return true, err
	}
	_, ok := t.find(ctx.ContainerID)
	return ok, nil
}

// HoldPaths implements modifier.HoldPather: a container that holds a range
// has its directory from the moment its range is claimed until Cleanup
// (the effect claims, then creates it; a failed mount cleans up).
func (u *Modifier) HoldPaths(ctx *modifier.Context) []string {
	return []string{containerDir(ctx.StateDir(), ctx.ContainerID)}
}

var (
	_ modifier.Holder     = (*Modifier)(nil)
	_ modifier.HoldPather = (*Modifier)(nil)
)
