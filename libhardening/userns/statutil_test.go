package userns

import (
	"syscall"
	"testing"
)

type ownership struct{ uid, gid, mode uint32 }

func mustStat(t *testing.T, p string) ownership {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return ownership{st.Uid, st.Gid, st.Mode}
}
