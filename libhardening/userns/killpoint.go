package userns

import (
	"os"

	"golang.org/x/sys/unix"
)

// KillAtEnv names the step at which the runtime kills itself with SIGKILL,
// for tests that prove a crash at any step of setting up or tearing down
// an idmapped root loses nothing (integration/idmap_root_test.go). Unset,
// it does nothing. Steps: setup-recorded, setup-unmounted, setup-shifted,
// setup-attached, setup-mounted; at delete teardown-unshifted,
// teardown-unbound; and, where a failed create puts the engine's overlay
// back, teardown-unmounted and teardown-restored.
const KillAtEnv = "HARDENED_RUNC_TEST_KILL_AT"

// killPoint dies here if the test hook asks for this step.
func killPoint(step string) {
	if v := os.Getenv(KillAtEnv); v != "" && v == step {
		_ = unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // the signal is on its way
	}
}
