// Package lower owns the lower OCI runtime hardened-runc hands containers to
// (runc, crun): which binary it is (Resolve), what it is (its version and
// features, probed under a timeout and cached per binary), what is known
// against that version (CVEs), and where it keeps a container's state
// (<root>/<id>/state.json for runc, <root>/<id>/status for crun). Every
// other package asks here instead of exec'ing or reading the runtime's
// files itself.
package lower

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrIsSelf is returned when the configured lower runtime resolves to
// hardened-runc itself: exec'ing it would loop forever.
var ErrIsSelf = errors.New("lower runtime is hardened-runc itself")

// Name is the configured lower runtime, "runc" when none is set.
func Name(configured string) string {
	if configured == "" {
		return "runc"
	}
	return configured
}

// Resolve turns the configured runtime (absolute path or a name looked up in
// PATH) into an absolute, executable path that is none of selves
// (hardened-runc's own binaries; "" is skipped). Identity is compared by
// device and inode, not by name, so a symlink or a hard link to
// hardened-runc under the name "runc" is caught. configPath names the file
// to fix in errors.
func Resolve(configured, configPath string, selves ...string) (string, error) {
	name := Name(configured)
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("lower runtime %q not found in PATH: set runtime = \"/path/to/runc\" in %s", name, configPath)
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("lower runtime %s: %w", path, err)
	}
	var st, selfSt syscall.Stat_t
	if err := syscall.Stat(abs, &st); err != nil {
		return "", fmt.Errorf("lower runtime %s: %w: install runc or set runtime in %s", abs, err, configPath)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0o111 == 0 {
		return "", fmt.Errorf("lower runtime %s is not an executable file: set runtime in %s", abs, configPath)
	}
	for _, self := range selves {
		if self != "" && syscall.Stat(self, &selfSt) == nil && st.Dev == selfSt.Dev && st.Ino == selfSt.Ino {
			return "", fmt.Errorf("%w (%s): set runtime = \"/usr/sbin/runc\" (the real runc) in %s", ErrIsSelf, abs, configPath)
		}
	}
	return abs, nil
}
