package learn

import (
	"slices"
	"testing"
)

func TestWatcherSkipsRuncUntilExecve(t *testing.T) {
	w := newWatcher(100)
	for _, ev := range []struct {
		tid  uint32
		name string
	}{
		{101, "mmap"}, {100, "getcwd"}, {100, "execve"}, {101, "munmap"}, {100, "brk"}, {200, "accept4"},
	} {
		w.observe(ev.tid, ev.name)
	}
	if got, want := w.names(), []string{"accept4", "brk", "execve"}; !slices.Equal(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}
