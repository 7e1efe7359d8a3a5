package confine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// ExecFlags are the `runc exec` flags that can raise an exec'd process
// above the container's confinement, as the runtime parsed them.
type ExecFlags struct {
	// Caps are the --cap values (with or without CAP_).
	Caps []string
	// NoNewPrivsFalse is set for an explicit --no-new-privs=false.
	NoNewPrivsFalse bool
	// Cwd is --cwd, "" when absent.
	Cwd string
	// User is -u/--user "uid[:gid]", "" when absent.
	User string
}

// CheckExecFlags checks the flags of `runc exec` against the container's
// hardened spec. Unlike process.json they cannot be rewritten in place, so
// what exceeds the container is denied, naming the flag:
//   - --cap beyond the container's bounding set (`docker exec --privileged`
//     through a process.json is clamped by ModifyProcess instead);
//   - --no-new-privs=false when the profile forces no-new-privileges;
//   - --cwd under /proc (CVE-2024-21626);
//   - --user 0 when the profile requires a non-root process.
//
// p is the session's profile.
func CheckExecFlags(ctx *modifier.Context, p *policy.Profile, container *specs.Spec, f ExecFlags) error {
	if !PrivilegedAllowed(p, container) {
		bounding := containerBounding(container)
		for _, c := range f.Caps {
			if !slices.Contains(bounding, capName(c)) {
				return as("capabilities", deny("capabilities.allow",
					fmt.Sprintf("exec --cap %s: the container does not have %s", c, capName(c)),
					fix(ctx, "drop --cap %s, or add %s to capabilities.allow and recreate the container", c, strings.TrimPrefix(capName(c), "CAP_")), ctlExecPriv))
			}
		}
	}
	if f.NoNewPrivsFalse && p.Privileges.NoNewPrivileges {
		return as("no-new-privileges", deny("privileges.no_new_privileges", "exec --no-new-privs=false would let setuid binaries escalate",
			fix(ctx, "drop --no-new-privs=false, or set privileges.no_new_privileges = false"), ctlNNP))
	}
	if f.Cwd != "" {
		if err := checkCwd(ctx, rootfsPath(ctx, container), f.Cwd); err != nil {
			return as("process", err)
		}
	}
	if f.User != "" {
		uid, err := strconv.ParseUint(strings.SplitN(f.User, ":", 2)[0], 10, 32)
		if err != nil {
			return fmt.Errorf("exec --user %q: not uid[:gid]: %w", f.User, err)
		}
		return as("process", checkNonRoot(ctx, p, uint32(uid), "exec --user"))
	}
	return nil
}

// as names the modifier of a denial returned outside a pipeline run.
func as(name string, err error) error {
	if d, ok := modifier.AsDenial(err); ok && d.Modifier == "" {
		d.Modifier = name
	}
	return err
}
