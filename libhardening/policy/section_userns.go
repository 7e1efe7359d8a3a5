package policy

import "fmt"

// The [userns] section is owned by libhardening/userns.

// UsernsMode is userns.mode.
type UsernsMode string

const (
	// UsernsEnabled puts every container in its own user namespace with
	// its own ID range.
	UsernsEnabled UsernsMode = "enabled"
	// UsernsDisabled opts out: container root is host root (recorded).
	UsernsDisabled UsernsMode = "disabled"
)

// Userns runs each container in its own user namespace.
type Userns struct {
	// Mode: "enabled" (every container in its own user namespace with its
	// own ID range) or "disabled" (opt-out, recorded in forensics).
	Mode UsernsMode `toml:"mode"`
	// Size is the number of IDs per container (default 65536). A multiple
	// of 65536, so every range is aligned and maps GID 5 (/dev/pts) and
	// 65534 (nobody).
	Size uint32 `toml:"size"`
	// SubIDUser is the /etc/subuid and /etc/subgid entry ranges are carved
	// from (default "hardened-runc").
	SubIDUser string `toml:"subid_user"`
	// Fallback is what happens where the root filesystem cannot be
	// idmapped: "deny", "unmapped" (run with the nobody-owned rootfs) or
	// "chown" (a chowned copy).
	Fallback string `toml:"fallback"`
	// IdmapVolumes lists host path globs whose bind mounts get runc's
	// idmap option (runc >= 1.2); Docker's own container files and named
	// volumes are always included.
	IdmapVolumes []string `toml:"idmap_volumes"`
	// TrustedSubIDUsers names /etc/subuid and /etc/subgid entries whose
	// ranges an engine allocates itself, e.g. ["dockremap"] for Docker's
	// userns-remap. A caller's uidMappings/gidMappings, or a joined user
	// namespace, wholly inside one of them is kept as the engine set it up;
	// anything else the caller asks for is replaced by a range of
	// hardened-runc's own (mappings) or denied (a user namespace path).
	// Containers in a trusted range may share it, as the engine intends.
	TrustedSubIDUsers []string `toml:"trusted_subid_users"`
}

func (u *Userns) validate() error {
	if err := oneOf("userns.mode", string(u.Mode), string(UsernsEnabled), string(UsernsDisabled)); err != nil {
		return err
	}
	own := u.SubIDUser
	if own == "" {
		own = "hardened-runc"
	}
	for _, n := range u.TrustedSubIDUsers {
		if n == "" || n == own {
			return fmt.Errorf("field userns.trusted_subid_users: %q is not an engine's entry: trusting the entry hardened-runc allocates from (userns.subid_user) would let a caller choose another container's range", n)
		}
	}
	if u.Size%65536 != 0 {
		return fmt.Errorf("field userns.size: %d is not a multiple of 65536", u.Size)
	}
	return oneOf("userns.fallback", u.Fallback, "deny", "unmapped", "chown")
}
