package forensics

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// crun keeps a container's state in <root>/<id>/status (pid,
// process-start-time, no id): its live containers are found as runc's.
func TestRunningContainersCrun(t *testing.T) {
	proc, root := t.TempDir(), t.TempDir()
	stat := "%d (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0"
	for _, c := range []struct {
		id         string
		pid        int
		start, now uint64
	}{{"live", 20, 700, 700}, {"reused", 21, 701, 9}} {
		os.MkdirAll(filepath.Join(root, c.id), 0o700)
		os.WriteFile(filepath.Join(root, c.id, "status"), []byte(fmt.Sprintf(`{"pid": %d, "process-start-time": %d, "bundle": "/b", "created": "2026-11-22T10:00:00Z"}`, c.pid, c.start)), 0o600)
		os.MkdirAll(filepath.Join(proc, fmt.Sprint(c.pid)), 0o755)
		os.WriteFile(filepath.Join(proc, fmt.Sprint(c.pid), "stat"), []byte(fmt.Sprintf(stat, c.pid, c.now)), 0o644)
	}
	running, err := RunningContainers(proc, []string{root})
	if err != nil || len(running) != 1 || running[0].ID != "live" || running[0].PID != 20 || running[0].Created.IsZero() {
		t.Fatalf("running %+v %v, want only crun's live container", running, err)
	}
}
