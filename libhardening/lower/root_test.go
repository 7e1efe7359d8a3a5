package lower

import "testing"

// TestRootOf: without --root, a container's state is where the lower
// runtime itself keeps it (crun 1.8.1 measured: "rundir:" of `crun
// --version`, and where `crun list` creates its directory as root).
func TestRootOf(t *testing.T) {
	for _, c := range []struct{ version, xdg, want string }{
		{"1.1.5", "", "/run/runc"},
		{"1.5.2", "/run/user/0", "/run/runc"}, // runc ignores XDG_RUNTIME_DIR as root
		{"", "", "/run/runc"},                 // unknown: runc's, as before
		{"crun 1.8.1", "", "/run/crun"},
		{"crun 1.8.1", "/run/user/0", "/run/user/0/crun"},
		{"crunchy 1.0", "", "/run/runc"}, // only a name that is crun's
	} {
		if got := RootOf(c.version, c.xdg); got != c.want {
			t.Errorf("RootOf(%q, XDG_RUNTIME_DIR=%q) = %q, want %q", c.version, c.xdg, got, c.want)
		}
	}
}
