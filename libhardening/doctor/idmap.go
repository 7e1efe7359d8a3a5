package doctor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Directories whose filesystems hold container root filesystems and
// bundles: engines' storage under /var/lib, their state under /run.
var defaultProbeDirs = []string{"/var/lib", "/run", "/tmp"}

var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4",
	unix.XFS_SUPER_MAGIC:       "xfs",
	unix.TMPFS_MAGIC:           "tmpfs",
	unix.BTRFS_SUPER_MAGIC:     "btrfs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	0x2fc12fc1:                 "zfs",
	unix.F2FS_SUPER_MAGIC:      "f2fs",
}

func fsType(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	if n, ok := fsNames[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", st.Type)
}

func checkIdmap(o Options, r requirements) []Check {
	dirs := o.ProbeDirs
	if dirs == nil {
		dirs = defaultProbeDirs
	}
	required := r.userns && r.idmapFallback == "deny"
	fallback := r.idmapFallback
	if fallback == "" {
		fallback = "unmapped"
	}
	if o.NoProbes || os.Geteuid() != 0 {
		return []Check{{Name: "idmap", Status: Skip, Detail: "idmapped-mount probes need root (they mount in a private mount namespace)", Fix: "run hardenctl doctor as root"}}
	}
	nsfd, cleanup, err := userNamespaceFD()
	if err != nil {
		return []Check{{Name: "idmap", Status: Warn, Detail: fmt.Sprintf("cannot create a user namespace to probe with: %v", err), Required: false}}
	}
	defer cleanup()
	var out []Check
	seen := map[string]bool{}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		fs := fsType(d)
		c := Check{Name: "idmap." + fs, Required: required}
		if seen[fs] {
			continue
		}
		seen[fs] = true
		err := onPrivateMountNS(func() error { return probeIdmap(d, nsfd, false) })
		if err != nil {
			c.Status = Warn
			if required {
				c.Status = Fail
			}
			c.Detail = fmt.Sprintf("%s (%s): idmapped mounts not supported: %v; rootfs on it gets userns.fallback=%q", d, fs, err, fallback)
			c.Fix = "keep container storage on ext4, xfs, btrfs or tmpfs with kernel >= 5.12 (tmpfs >= 6.3), or set userns.fallback to \"unmapped\"/\"chown\""
		} else {
			c.Status, c.Detail = OK, fmt.Sprintf("%s (%s): idmapped mounts work", d, fs)
		}
		out = append(out, c)
	}
	// Image layers are read through overlayfs; its lower layers must accept
	// an idmapped mount (an already-merged overlay does not).
	c := Check{Name: "idmap.overlay-lower", Required: required}
	if err := onPrivateMountNS(func() error { return probeIdmap(dirs[0], nsfd, true) }); err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("overlay on idmapped lower layers failed: %v", err)
		if required {
			c.Status = Fail
		}
		c.Fix = "kernel >= 5.19 supports overlayfs on idmapped layers"
	} else {
		c.Status, c.Detail = OK, "overlayfs mounts on idmapped lower layers (image layers can be idmapped)"
	}
	return append(out, c)
}

// userNamespaceFD starts a child in a new user namespace with a 65536-ID
// mapping and returns a descriptor of that namespace.
func userNamespaceFD() (int, func(), error) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return -1, nil, err
	}
	cmd := exec.Command(sleep, "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1 << 30, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1 << 30, Size: 65536}},
	}
	if err := cmd.Start(); err != nil {
		return -1, nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		stop()
		return -1, nil, err
	}
	return fd, func() { unix.Close(fd); stop() }, nil
}

// onPrivateMountNS runs f on a thread of its own in a new, private mount
// namespace. The thread is never returned to the Go scheduler, so it and
// every mount f made go away when f returns: the host sees nothing.
func onPrivateMountNS(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // no Unlock: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare mount namespace: %w", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- fmt.Errorf("make mounts private: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// probeIdmap clones a temp dir under dir as a detached mount and idmaps
// it; with overlay, it attaches it and mounts an overlay on top.
func probeIdmap(dir string, nsfd int, overlay bool) error {
	tmp, err := os.MkdirTemp(dir, ".hardened-runc-doctor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	lower := filepath.Join(tmp, "lower")
	for _, d := range []string{lower, filepath.Join(tmp, "idmapped"), filepath.Join(tmp, "upper"), filepath.Join(tmp, "work"), filepath.Join(tmp, "merged")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, lower, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(nsfd)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("mount_setattr(MOUNT_ATTR_IDMAP): %w", err)
	}
	if !overlay {
		return nil
	}
	target := filepath.Join(tmp, "idmapped")
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	defer unix.Unmount(target, unix.MNT_DETACH)
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", target, filepath.Join(tmp, "upper"), filepath.Join(tmp, "work"))
	merged := filepath.Join(tmp, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("mount overlay: %w (kernel refuses idmapped lower layers)", err)
		}
		return fmt.Errorf("mount overlay: %w", err)
	}
	return unix.Unmount(merged, unix.MNT_DETACH)
}
