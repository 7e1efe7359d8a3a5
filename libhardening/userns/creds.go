package userns

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// asMappedRoot runs fn on a dedicated OS thread whose filesystem IDs are the
// container's mapped root, with every permitted capability effective.
//
// Overlayfs performs its own writes to upperdir and workdir (creating
// work/work, copy-up) with the credentials of whoever created the mount.
// Through an idmapped upper, host root (fsuid 0) has no on-disk ID and gets
// EOVERFLOW, and the kernel mounts the overlay read-only. Created as the
// mapped root, overlay writes land as on-disk root, the image's own
// ownership. Capabilities stay: only the fs IDs change, as if the overlay
// were mounted by container root with host root's privilege.
//
// The thread is never unlocked, so the Go runtime discards it afterwards
// instead of reusing a thread with changed credentials.
func asMappedRoot(m Mapping, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := becomeMappedRoot(m); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// becomeMappedRoot changes the calling thread's credentials only:
// setfsuid/setfsgid and capset act per thread (unlike Go's syscall.Setuid,
// which changes every thread).
func becomeMappedRoot(m Mapping) error {
	if _, err := unix.SetfsgidRetGid(int(m.HostGID)); err != nil {
		return fmt.Errorf("setfsgid: %w", err)
	}
	if _, err := unix.SetfsuidRetUid(int(m.HostUID)); err != nil {
		return fmt.Errorf("setfsuid: %w", err)
	}
	// setfsuid returns the previous value; a second call confirms the change.
	if cur, _ := unix.SetfsuidRetUid(-1); cur != int(m.HostUID) {
		return fmt.Errorf("setfsuid %d did not take effect (fsuid %d)", m.HostUID, cur)
	}
	// Leaving fsuid 0 cleared the effective file capabilities
	// (CAP_CHOWN, CAP_DAC_OVERRIDE, ...); raise them again from permitted.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
