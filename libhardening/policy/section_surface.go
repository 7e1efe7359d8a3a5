package policy

import (
	"fmt"
	"strings"
)

// The [spec] and [hooks] sections are owned by libhardening/confine (the
// "fields" and "hooks" controls).

// Spec decides the fields of the OCI spec that no other section manages.
// Every field runc acts on is classified in code (confine's field table):
// managed by a named control, passed as harmless, or denied unless listed
// here. Keys the vendored runtime-spec does not know, under process, root,
// mounts, hooks and linux, are denied the same way: a newer runc may act on
// them.
type Spec struct {
	// AllowFields lists spec fields that are denied by default, by JSON
	// path: "linux.netDevices" (moves a host network interface into the
	// container), "linux.intelRdt", "process.scheduler",
	// "process.ioPriority", "vm", the annotations runc acts on
	// ("annotations.org.systemd.property.*", "annotations.org.criu.config",
	// "annotations.bundle"), or an unknown key as the denial names it
	// ("linux.x-vendor", "mounts[].x-order"). A path also allows what is
	// below it.
	AllowFields []string `toml:"allow_fields"`
}

func (s *Spec) validate() error {
	for _, f := range s.AllowFields {
		if f == "" || strings.ContainsAny(f, " \t\n\"") || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") {
			return fmt.Errorf("field spec.allow_fields: %q is not a JSON path such as \"linux.intelRdt\"", f)
		}
	}
	return nil
}

// Hooks decides which OCI hooks (prestart, createRuntime, createContainer,
// startContainer, poststart, poststop) may run. runc runs them as host root
// with every capability, so a hook is allowed only when its path resolves
// (symlinks and /proc/PID/exe followed) to the same file, by device and
// inode, as an executable listed here; anything else denies the launch.
type Hooks struct {
	// Allow lists host paths of executables hooks may run with any
	// arguments (e.g. the NVIDIA and CDI hooks). Paths that do not exist
	// on this host are ignored.
	Allow []string `toml:"allow"`
	// Docker lists paths of dockerd: Docker's own prestart hook, which runs
	// dockerd (as /proc/<dockerd pid>/exe or by path) with argv[0]
	// "libnetwork-setkey", is allowed when it resolves to one of them. Other
	// argv[0] values of dockerd (e.g. its archive helpers) are denied.
	Docker []string `toml:"docker"`
}

func (h *Hooks) validate() error {
	for _, p := range append(append([]string{}, h.Allow...), h.Docker...) {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("field hooks: %q is not an absolute path", p)
		}
	}
	return nil
}
