package userns

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

const (
	ruleMode     = "userns.mode"
	ruleVolumes  = "userns.idmap_volumes"
	ruleFallback = "userns.fallback"
	control      = "CIS Docker 2.8 (user namespace support); PSS: hostUsers=false"
)

// namespace returns the spec's namespace of type t.
func namespace(s *specs.Spec, t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	if s.Linux == nil {
		return specs.LinuxNamespace{}, false
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return n, true
		}
	}
	return specs.LinuxNamespace{}, false
}

// joined describes the namespaces a spec takes from elsewhere.
type joined struct {
	// Pid is the process whose namespaces are joined through
	// /proc/<pid>/ns/*, 0 if none.
	Pid int
	// UsernsPath is the user namespace the container joins: the one the
	// spec names by path, or that of the process whose other namespaces it
	// joins when that is not the host's. Its mapping is read from the
	// process's uid_map and gid_map, never taken from the spec.
	UsernsPath string
	Mapping    Mapping
	// Explicit is set when the spec itself names UsernsPath.
	Explicit bool
	// Foreign lists namespace types that are the host's or owned by a user
	// namespace the container will not be in (a CNI netns file, --net=host),
	// decided by asking the kernel which user namespace owns each one.
	Foreign map[specs.LinuxNamespaceType]bool
	// Host lists the types the spec leaves out: the host's namespace.
	Host map[specs.LinuxNamespaceType]bool

	userns nsID
}

// joinable are the namespace types whose ownership decides what the
// container may mount (sysfs, mqueue, proc).
var joinable = []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.PIDNamespace, specs.UTSNamespace}

// inspectJoins finds out which user namespace the container will be in and
// which of its namespaces that user namespace does not own. Ownership is
// the kernel's answer (ioctl NS_GET_USERNS on the namespace itself), not a
// guess from the process it was reached through: a pod's network namespace
// is reached through the pause process, which is in the pod's user
// namespace, but was created by the engine in the host's.
func inspectJoins(s *specs.Spec) (*joined, error) {
	j := &joined{Foreign: map[specs.LinuxNamespaceType]bool{}, Host: map[specs.LinuxNamespaceType]bool{}}
	host, err := nsIdentity("/proc/self/ns/user")
	if err != nil {
		return nil, fmt.Errorf("own user namespace: %w", err)
	}
	if n, ok := namespace(s, specs.UserNamespace); ok && n.Path != "" {
		if err := j.joinExplicit(n.Path, host); err != nil {
			return nil, err
		}
	}
	for _, t := range joinable {
		n, ok := namespace(s, t)
		if !ok || n.Path == "" {
			continue
		}
		pid, ok := procPid(n.Path)
		if !ok {
			continue
		}
		if j.Pid == 0 {
			if err := j.join(pid, host); err != nil {
				return nil, err
			}
			continue
		}
		if pid != j.Pid {
			if err := j.sameUserns(pid); err != nil {
				return nil, err
			}
		}
	}
	for _, t := range joinable {
		n, ok := namespace(s, t)
		switch {
		case !ok:
			j.Foreign[t], j.Host[t] = true, true
		case n.Path != "":
			owner, err := ownerOf(n.Path)
			if err != nil {
				return nil, modifier.Deny(ruleMode, fmt.Sprintf("cannot tell which user namespace owns the %s namespace %s: %v", t, n.Path, err),
					"give a path to a live namespace")
			}
			if j.UsernsPath == "" || owner != j.userns {
				j.Foreign[t] = true
			}
		}
	}
	return j, nil
}

// joinsUserFirst reports a lower runtime that joins the user namespace
// before the others (runc < 1.2): once inside it, it can no longer join a
// namespace owned by another user namespace (EPERM; runc fails with "can't
// get final child's PID from pipe"). runc >= 1.2 retries such joins first.
func joinsUserFirst(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major < 1 || major == 1 && minor < 2
}

// joinedForeign returns a namespace type joined by path that the joined
// user namespace does not own.
func (j *joined) joinedForeign(s *specs.Spec) (specs.LinuxNamespaceType, bool) {
	for _, t := range joinable {
		if n, ok := namespace(s, t); ok && n.Path != "" && j.Foreign[t] {
			return t, true
		}
	}
	return "", false
}

// ownUserns gives up joining a user namespace: the container gets its own,
// and every namespace it joins by path is then owned elsewhere.
func (j *joined) ownUserns(s *specs.Spec) {
	j.UsernsPath, j.Mapping, j.userns = "", Mapping{}, nsID{}
	for _, t := range joinable {
		if n, ok := namespace(s, t); ok && n.Path != "" {
			j.Foreign[t] = true
		}
	}
}

// foreignJoins is inspectJoins' answer when the joined processes cannot be
// inspected: every joined or absent namespace counts as foreign.
func foreignJoins(s *specs.Spec) *joined {
	j := &joined{Foreign: map[specs.LinuxNamespaceType]bool{}, Host: map[specs.LinuxNamespaceType]bool{}}
	for _, t := range joinable {
		n, ok := namespace(s, t)
		if !ok || n.Path != "" {
			j.Foreign[t] = true
		}
		j.Host[t] = !ok
	}
	return j
}

// joinExplicit handles {"type": "user", "path": ...} from the spec: a
// namespace reached through a process, or an nsfs file an engine pinned
// (joinPinned). Either way its real mapping is read from the kernel.
func (j *joined) joinExplicit(path string, host nsID) error {
	pid, ok := procPid(path)
	if !ok {
		return j.joinPinned(path, host)
	}
	if filepath.Base(filepath.Clean(path)) != "user" {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the user namespace at %s, which is not /proc/<pid>/ns/user: its real ID mapping cannot be read", path),
			"join the user namespace through a process in it (/proc/<pid>/ns/user), or remove the path and let hardened-runc create one")
	}
	id, err := nsIdentity(path)
	if err != nil {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the user namespace at %s, which cannot be read: %v", path, err), "give a path to a live process's user namespace")
	}
	if id == host {
		return modifier.Deny(ruleMode, fmt.Sprintf("the spec joins the host's user namespace (%s)", path),
			"remove the user namespace path, or use a profile with userns.mode = \"disabled\"")
	}
	if err := j.join(pid, host); err != nil {
		return err
	}
	j.Explicit = true
	return nil
}

// join makes pid's user namespace the container's, unless it is the
// host's. The mapping is read from pid and checked to belong to the same
// namespace before and after the read, so a process that moves meanwhile
// is not believed.
func (j *joined) join(pid int, host nsID) error {
	j.Pid = pid
	path := fmt.Sprintf("/proc/%d/ns/user", pid)
	theirs, err := nsIdentity(path)
	if err != nil {
		return fmt.Errorf("joined namespace of pid %d: %w", pid, err)
	}
	if theirs == host {
		return nil
	}
	m, err := readMapping(pid)
	if err != nil {
		return err
	}
	if again, err := nsIdentity(path); err != nil || again != theirs {
		return modifier.Deny(ruleMode, fmt.Sprintf("the user namespace of pid %d changed while its mapping was read", pid), "retry")
	}
	j.UsernsPath, j.Mapping, j.userns = path, m, theirs
	return nil
}

func (j *joined) sameUserns(pid int) error {
	a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", j.Pid))
	b, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil || a != b {
		return modifier.Deny(ruleMode, fmt.Sprintf("the container joins namespaces of processes %d and %d, which are in different user namespaces; a process can only be in one", j.Pid, pid), "join namespaces of one container only")
	}
	return nil
}

// nsID identifies a namespace: its nsfs device and inode.
type nsID struct{ dev, ino uint64 }

func nsIdentity(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// ownerOf returns the user namespace that owns the namespace at path.
func ownerOf(path string) (nsID, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nsID{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	ufd, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
	if err != nil {
		return nsID{}, fmt.Errorf("ioctl NS_GET_USERNS %s: %w", path, err)
	}
	defer unix.Close(ufd)
	var st unix.Stat_t
	if err := unix.Fstat(ufd, &st); err != nil {
		return nsID{}, fmt.Errorf("owner of %s: %w", path, err)
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// procPid parses /proc/<pid>/ns/<type>.
func procPid(path string) (int, bool) {
	rest, ok := strings.CutPrefix(filepath.Clean(path), "/proc/")
	if !ok {
		return 0, false
	}
	p, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}

// readMapping reads a process's single-line uid_map and gid_map (the only
// shape hardened-runc creates).
func readMapping(pid int) (Mapping, error) {
	u, err := readIDMap(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		return Mapping{}, err
	}
	g, err := readIDMap(fmt.Sprintf("/proc/%d/gid_map", pid))
	if err != nil {
		return Mapping{}, err
	}
	if len(u) != 1 || len(g) != 1 || u[0].ContainerID != 0 || g[0].ContainerID != 0 || u[0].Size != g[0].Size {
		return Mapping{}, modifier.Deny(ruleMode, fmt.Sprintf("the user namespace of pid %d has a mapping hardened-runc did not create (uid %s, gid %s)", pid, fmtIDMap(u), fmtIDMap(g)),
			"join only user namespaces of containers hardened-runc created, or of a range the profile trusts (userns.trusted_subid_users)")
	}
	return Mapping{HostUID: u[0].HostID, HostGID: g[0].HostID, Size: u[0].Size}, nil
}

func readIDMap(path string) ([]specs.LinuxIDMapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIDMap(data, path)
}

// parseIDMap parses the text of a uid_map or gid_map file named path.
func parseIDMap(data []byte, path string) ([]specs.LinuxIDMapping, error) {
	var err error
	var out []specs.LinuxIDMapping
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var v [3]uint64
		for i := range f {
			if v[i], err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(v[0]), HostID: uint32(v[1]), Size: uint32(v[2])})
	}
	return out, nil
}

// fmtIDMap shows mappings as container:host:size, as uid_map does.
func fmtIDMap(ms []specs.LinuxIDMapping) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (m Mapping) uidMappings() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.HostUID, Size: m.Size}}
}

func (m Mapping) gidMappings() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.HostGID, Size: m.Size}}
}

// setUserNamespace adds the user namespace (new, or joined at path) and the
// container's mappings. runc wants the mappings even for a joined
// namespace and checks that they match it.
func setUserNamespace(s *specs.Spec, path string, m Mapping, r *modifier.Report) {
	l := spec.EnsureLinux(s)
	ns := specs.LinuxNamespace{Type: specs.UserNamespace, Path: path}
	// A bare {"type": "user"} without mappings is replaced, not doubled.
	kept := l.Namespaces[:0]
	for _, n := range l.Namespaces {
		if n.Type != specs.UserNamespace {
			kept = append(kept, n)
		}
	}
	l.Namespaces = append(kept, ns)
	reason := "container root is an unprivileged host user: own user namespace with its own ID range"
	if path != "" {
		reason = "joins the user namespace of the container whose namespaces it shares (as Docker does with userns-remap)"
	}
	r.Set("linux.namespaces[user]", nil, ns, ruleMode, reason, control)
	r.Set("linux.uidMappings", l.UIDMappings, m.uidMappings(), ruleMode, "container IDs 0-"+strconv.Itoa(int(m.Size)-1)+" map to a range no other container uses", control)
	r.Set("linux.gidMappings", l.GIDMappings, m.gidMappings(), ruleMode, "GID 5 (/dev/pts gid=5) and 65534 (nobody) included", control)
	l.UIDMappings, l.GIDMappings = m.uidMappings(), m.gidMappings()
}

// hasUserMappings reports a user namespace the caller already set up
// (Docker userns-remap, Kubernetes hostUsers: false, a rootless bundle).
func hasUserMappings(s *specs.Spec) bool {
	_, ok := namespace(s, specs.UserNamespace)
	return ok && s.Linux != nil && (len(s.Linux.UIDMappings) > 0 || hasPath(s))
}

func hasPath(s *specs.Spec) bool {
	n, _ := namespace(s, specs.UserNamespace)
	return n.Path != ""
}

// fixNamespacedMounts replaces mounts the user namespace could not make:
// sysfs needs a network namespace it owns, mqueue an IPC namespace it owns.
// sysfs becomes a read-only recursive bind of the host's, which is what the
// container would see anyway with the host's namespace. mqueue is bound
// from the host only for the host's own IPC namespace (no ipc entry, where
// the profile allows that) and only where the host has it mounted; for a
// joined IPC namespace owned elsewhere the host's queues would be another
// namespace's, so the mount is dropped: mq_open(3) and friends still work,
// as they act on the process's IPC namespace, not on the filesystem.
func fixNamespacedMounts(s *specs.Spec, j *joined, hostMqueue bool, r *modifier.Report) {
	kept := s.Mounts[:0]
	for _, m := range s.Mounts {
		var src string
		switch {
		case m.Type == "sysfs" && j.Foreign[specs.NetworkNamespace]:
			src = "/sys"
		case m.Type == "mqueue" && j.Foreign[specs.IPCNamespace] && j.Host[specs.IPCNamespace] && hostMqueue:
			src = "/dev/mqueue"
		case m.Type == "mqueue" && j.Foreign[specs.IPCNamespace]:
			why := "the joined IPC namespace is owned by another user namespace"
			if j.Host[specs.IPCNamespace] {
				why = "the host's IPC namespace has no /dev/mqueue mounted"
			}
			r.Set("mounts["+m.Destination+"]", m, nil, ruleMode,
				"a user namespace cannot mount mqueue for an IPC namespace it does not own, and "+why+"; dropped (POSIX message queues still work through mq_open, only the /dev/mqueue view is missing)", "")
			continue
		default:
			kept = append(kept, m)
			continue
		}
		n := specs.Mount{Destination: m.Destination, Type: "bind", Source: src, Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		r.Set("mounts["+m.Destination+"]", m, n, ruleMode,
			fmt.Sprintf("a user namespace cannot mount %s for a namespace it does not own; bind the host's read-only instead", m.Type), "")
		kept = append(kept, n)
	}
	s.Mounts = kept
}

// dropForeignHostname removes hostname and domainname for a UTS namespace
// joined by path that the container's user namespace does not own: runc
// would fail with sethostname: EPERM, and the name is the owner's to set.
func dropForeignHostname(s *specs.Spec, j *joined, r *modifier.Report) {
	if !j.Foreign[specs.UTSNamespace] || j.Host[specs.UTSNamespace] {
		return
	}
	const why = "the joined UTS namespace is owned by another user namespace: its name is not the container's to set (sethostname fails with EPERM)"
	if s.Hostname != "" {
		r.Set("hostname", s.Hostname, nil, ruleMode, why, "")
		s.Hostname = ""
	}
	if s.Domainname != "" {
		r.Set("domainname", s.Domainname, nil, ruleMode, why, "")
		s.Domainname = ""
	}
}

// mqueueMagic is the statfs type of mqueue (linux/magic.h MQUEUE_MAGIC).
const mqueueMagic = 0x19800202

// hostHasMqueue reports whether the host's /dev/mqueue is an mqueue mount.
func hostHasMqueue() bool {
	var fs unix.Statfs_t
	return unix.Statfs("/dev/mqueue", &fs) == nil && fs.Type == mqueueMagic
}

// clampPingGroupRange fits net.ipv4.ping_group_range into the mapped GIDs:
// the kernel rejects a range with unmapped GIDs (Docker sets 0 2147483647).
func clampPingGroupRange(s *specs.Spec, size uint32, r *modifier.Report) {
	if s.Linux == nil {
		return
	}
	const key = "net.ipv4.ping_group_range"
	v, ok := s.Linux.Sysctl[key]
	if !ok {
		return
	}
	f := strings.Fields(v)
	lo, err1 := strconv.ParseUint(f0(f, 0), 10, 32)
	hi, err2 := strconv.ParseUint(f0(f, 1), 10, 32)
	if len(f) != 2 || err1 != nil || err2 != nil || lo >= uint64(size) {
		delete(s.Linux.Sysctl, key)
		r.Set("linux.sysctl["+key+"]", v, nil, ruleMode, "range cannot be expressed in the container's mapped GIDs; dropped", "")
		return
	}
	hi = min(hi, uint64(size)-1)
	nv := fmt.Sprintf("%d %d", lo, hi)
	if nv != v {
		s.Linux.Sysctl[key] = nv
		r.Set("linux.sysctl["+key+"]", v, nv, ruleMode, "clamped to the container's mapped GIDs (the kernel rejects unmapped ones)", "")
	}
}

func f0(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// isBind reports a bind mount, the only kind runc can idmap.
func isBind(m specs.Mount) (bind, recursive bool) {
	for _, o := range m.Options {
		switch o {
		case "rbind":
			return true, true
		case "bind":
			bind = true
		}
	}
	return bind || m.Type == "bind", false
}

func hasOption(m specs.Mount, opts ...string) bool {
	for _, o := range m.Options {
		for _, w := range opts {
			if o == w {
				return true
			}
		}
	}
	return false
}

// volumeRule decides which bind-mount sources get idmapped: the engine's
// own files of this container and named volumes, plus the profile's globs.
type volumeRule struct {
	containerID  string
	dockerRoots  []string
	profileGlobs []string
}

// match returns why src is idmapped, or "".
func (v volumeRule) match(src string) string {
	src = filepath.Clean(src)
	for _, root := range v.dockerRoots {
		if under(src, filepath.Join(root, "containers", v.containerID)) {
			return "the engine's file for this container (hosts, hostname, resolv.conf, shm)"
		}
		if rel, err := filepath.Rel(filepath.Join(root, "volumes"), src); err == nil && !strings.HasPrefix(rel, "..") {
			if parts := strings.Split(rel, "/"); len(parts) >= 2 && parts[1] == "_data" {
				return "a named volume"
			}
		}
	}
	for _, g := range v.profileGlobs {
		// A glob also covers everything below what it matches.
		for p := src; p != "/" && p != "."; p = filepath.Dir(p) {
			if ok, _ := filepath.Match(g, p); ok {
				return "listed in " + ruleVolumes
			}
		}
	}
	return ""
}

func under(p, dir string) bool { return strings.HasPrefix(p, dir+"/") }

// sourceBinder makes an idmapped copy of a bind-mount source on the host
// and returns its path; it stands in for runc's idmap option on lower
// runtimes without it (runc < 1.2). runc binds the copy, and a bind of an
// idmapped mount keeps its idmapping.
type sourceBinder interface {
	bind(src string, recursive bool) (string, error)
}

// idmapMounts makes the bind mounts rule selects idmapped, so container root
// owns what host root owns in them: with runc's idmap option (ridmap for
// recursive binds) where the lower runc has it. Otherwise hardened-runc
// binds an idmapped copy of the source: the mounts are returned with the
// placeholder recorded, for the effect to make the copies (bindCopies).
func idmapMounts(s *specs.Spec, rule volumeRule, supported bool, r *modifier.Report) []copyPlan {
	var copies []copyPlan
	for i, m := range s.Mounts {
		bind, rec := isBind(m)
		if !bind || hasOption(m, "idmap", "ridmap") {
			continue
		}
		why := rule.match(m.Source)
		if why == "" {
			continue
		}
		if supported {
			opt := "idmap"
			if rec {
				opt = "ridmap"
			}
			before := append([]string(nil), m.Options...)
			s.Mounts[i].Options = append(s.Mounts[i].Options, opt)
			r.Set("mounts["+m.Destination+"].options", before, s.Mounts[i].Options, ruleVolumes,
				why+": idmapped by runc so that container root owns what host root owns", "")
			continue
		}
		copies = append(copies, copyPlan{mount: i, dest: m.Destination, src: m.Source, recursive: rec, why: why, change: r.Len()})
		r.Set("mounts["+m.Destination+"].source", m.Source, "(idmapped copy under the run directory)", ruleVolumes,
			why+": the lower runc cannot idmap mounts; hardened-runc binds an idmapped copy", "")
	}
	return copies
}

// checkProcessIDs denies a process whose IDs the mappings do not cover:
// it would run as the overflow ID (nobody) and own nothing.
func checkProcessIDs(p *specs.Process, uids, gids []specs.LinuxIDMapping) error {
	if p == nil {
		return nil
	}
	u := p.User
	bad := !mapped(uids, u.UID) || !mapped(gids, u.GID)
	for _, g := range u.AdditionalGids {
		bad = bad || !mapped(gids, g)
	}
	if bad {
		return modifier.Deny(ruleMode, fmt.Sprintf("process user %d:%d (groups %v) is outside the container's mapped IDs (uid %s, gid %s); it would run as nobody",
			u.UID, u.GID, u.AdditionalGids, fmtMappings(uids), fmtMappings(gids)),
			"run as a user inside the mapped range, or raise userns.size")
	}
	return nil
}

func mapped(ms []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range ms {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

func fmtMappings(ms []specs.LinuxIDMapping) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%d-%d", m.ContainerID, uint64(m.ContainerID)+uint64(m.Size)-1))
	}
	return strings.Join(parts, ",")
}
