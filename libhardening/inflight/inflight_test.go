package inflight

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestHoldReleaseRemovesTheLock(t *testing.T) {
	run := t.TempDir()
	h, err := Hold(run, "c1", -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Path(run, "c1")); err != nil {
		t.Fatalf("no lock file while held: %v", err)
	}
	h.Release()
	h.Release() // twice is harmless
	if _, err := os.Stat(Path(run, "c1")); !os.IsNotExist(err) {
		t.Fatalf("lock file left after release: %v", err)
	}
}

// A waiter and a second holder both wait for the release in flight, and
// the second holder ends up with a lock the path still names.
func TestWaitersWaitForTheHolder(t *testing.T) {
	run := t.TempDir()
	h, err := Hold(run, "c1", -1)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- Wait(run, "c1", -1) }()
	held := make(chan *Held, 1)
	go func() {
		h2, err := Hold(run, "c1", -1)
		if err != nil {
			t.Error(err)
		}
		held <- h2
	}()
	select {
	case <-waited:
		t.Fatal("Wait returned while the release was in flight")
	case <-held:
		t.Fatal("a second Hold got the lock while the release was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	h.Release()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	h2 := <-held
	if !samePath(h2.f, Path(run, "c1")) {
		t.Fatal("the second holder's lock is not the file at the path")
	}
	h2.Release()
}

func TestWaitAllReportsWhatIsStillRunning(t *testing.T) {
	run := t.TempDir()
	if pending, err := WaitAll(run, time.Second); err != nil || len(pending) != 0 {
		t.Fatalf("no release directory: %v, %v", pending, err)
	}
	h, err := Hold(run, "busy", -1)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	done, err := Hold(run, "done", -1)
	if err != nil {
		t.Fatal(err)
	}
	done.Release()
	// A holder that died leaves its file, unlocked.
	if err := os.WriteFile(Path(run, "crashed"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pending, err := WaitAll(run, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pending, []string{"busy"}) {
		t.Fatalf("pending = %v, want [busy]", pending)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("WaitAll took %v with a 50ms timeout", d)
	}
}

func TestIDsThatNameNoFile(t *testing.T) {
	run := t.TempDir()
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a\x00b"} {
		if _, err := Hold(run, id, -1); err == nil {
			t.Errorf("Hold(%q) succeeded", id)
		}
		if err := Wait(run, id, -1); err != nil {
			t.Errorf("Wait(%q) = %v: nothing can hold it", id, err)
		}
	}
}

// A release stuck in flight delays a later call by the timeout at most.
func TestTimeouts(t *testing.T) {
	run := t.TempDir()
	h, err := Hold(run, "stuck", -1)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if err := Wait(run, "stuck", 20*time.Millisecond); err == nil {
		t.Error("Wait returned nil while the release was stuck")
	}
	if _, err := Hold(run, "stuck", 20*time.Millisecond); err == nil {
		t.Error("Hold got the lock while the release was stuck")
	}
}
