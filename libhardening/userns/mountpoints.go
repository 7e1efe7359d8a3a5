package userns

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// A container whose root filesystem its own root cannot write (an engine's
// user namespace kept as it is, or the "unmapped" fallback) cannot create
// the mount points of the tmpfs mounts the pipeline adds (/tmp, /run,
// /var/tmp) when the image lacks them: runc creates them as container
// root, which is an unprivileged host user there, and fails with EACCES
// where plain runc, which adds no mounts, would start. hardened-runc
// creates the missing directories itself, as host root, right before it
// execs runc (issue 16 bug 4).

// ensureMountPoints registers the effect that schedules makeMountPoints
// for the tmpfs mounts of the final spec. Effects do not run for explain,
// nor for audit, which launches the spec as it came, without the added
// mounts.
func ensureMountPoints(ctx *modifier.Context, rootfs string, _ *specs.Spec) {
	ctx.Effect(func(ctx *modifier.Context, s *specs.Spec, _ *modifier.Report) error {
		scheduleMountPoints(ctx, rootfs, s)
		return nil
	})
}

// scheduleMountPoints has makeMountPoints run for the tmpfs mounts of s
// right before the lower runtime is exec'd.
func scheduleMountPoints(ctx *modifier.Context, rootfs string, s *specs.Spec) {
	var dests []string
	for _, m := range s.Mounts {
		if m.Type == "tmpfs" {
			dests = append(dests, m.Destination)
		}
	}
	if len(dests) == 0 {
		return
	}
	ctx.BeforeExec = append(ctx.BeforeExec, func() error {
		if made, err := makeMountPoints(rootfs, dests); err != nil {
			// runc reports what still fails in its own words.
			ctx.Note("userns: mount points: %v", err)
		} else if len(made) > 0 {
			ctx.Note("userns: created mount points %s in the rootfs (container root cannot write it)", strings.Join(made, ", "))
		}
		return nil
	})
}

// makeMountPoints creates the missing directories of dests inside rootfs
// and returns those it made. Every step is resolved inside rootfs without
// following symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so an
// image whose /var is a symlink to a host path gets nothing created
// outside it: that component is left to runc, which resolves in the root.
func makeMountPoints(rootfs string, dests []string) ([]string, error) {
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", rootfs, err)
	}
	defer unix.Close(root)
	var made []string
	var errs []error
	for _, d := range dests {
		created, err := mkdirBeneath(root, filepath.Clean("/"+d))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
		}
		if created {
			made = append(made, d)
		}
	}
	return made, errors.Join(errs...)
}

func mkdirBeneath(root int, dest string) (created bool, err error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	dir, err := unix.Dup(root)
	if err != nil {
		return false, err
	}
	defer func() { unix.Close(dir) }()
	for _, c := range strings.Split(strings.TrimPrefix(dest, "/"), "/") {
		if c == "" {
			continue
		}
		next, err := unix.Openat2(dir, c, how)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(dir, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return created, err
			}
			created = true
			next, err = unix.Openat2(dir, c, how)
		}
		if err != nil {
			return created, err
		}
		unix.Close(dir)
		dir = next
	}
	return created, nil
}
