package confine

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/hostpath"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// MountsModifier decides every host path the container would get, on the
// object it really is: root.path and bind sources (and overlay layers) are
// resolved (symlinks, "..", the bundle, bind mounts via mountinfo, device
// and inode) before any rule. It denies mounts that hand the container the
// host (engine and other host-root sockets, host procfs, writable system
// directories, the runtime's own state), filesystem types the profile does
// not list, and shared propagation; it gives bind mounts nosuid,nodev and
// the flags their source mount has locked.
type MountsModifier struct {
	// load reads the host's mount table once per spec; tests replace it.
	// load builds the resolver from the launch's mount table (tests
	// replace it).
	load func(ctx *modifier.Context) (resolver, error)
	p    *policy.Profile
}

// resolver is what the modifier needs of hostpath.Table.
type resolver interface {
	Resolve(p, base string) (*hostpath.Object, error)
	Beneath(dir string) []*mountinfo.Info
	HostPath(m *mountinfo.Info, canon string) string
}

// Mounts returns the "mounts" control of profile p.
func Mounts(p *policy.Profile) *MountsModifier {
	return &MountsModifier{load: func(ctx *modifier.Context) (resolver, error) {
		mounts, err := ctx.Mounts()
		if err != nil {
			return nil, fmt.Errorf("read mount table: %w", err)
		}
		return hostpath.NewTable(mounts), nil
	}, p: p}
}

// Name implements modifier.Modifier.
func (*MountsModifier) Name() string { return "mounts" }

// builtinTypes are the mount types engines generate for every container;
// anything else needs mounts.allow_types.
var builtinTypes = []string{"bind", "tmpfs", "proc", "sysfs", "mqueue", "devpts", "cgroup", "cgroup2"}

// socketScanLimit bounds the directory entries read, per source, looking
// for sockets: about a millisecond of getdents on a cold cache, so a large
// volume does not make create slow. Past it, a source where host services
// keep their sockets (socketDirs: /run, /tmp, /var/lib ...) is refused,
// since binding that much of it is not ordinary and what was not seen may
// hold one; any other source is allowed with a note, its listening sockets
// having all been checked.
const socketScanLimit = 4096

// Modify implements modifier.Modifier. Every denial names the mount as
// "source → destination".
func (m *MountsModifier) Modify(ctx *modifier.Context, s *specs.Spec, r *modifier.Report) error {
	if s.Linux != nil && isShared(s.Linux.RootfsPropagation) && !m.p.Mounts.AllowSharedPropagation {
		return deny("mounts.allow_shared_propagation",
			fmt.Sprintf("linux.rootfsPropagation %q propagates the container's mounts to the host", s.Linux.RootfsPropagation),
			fix(ctx, "set mounts.allow_shared_propagation = true"), ctlPropagation)
	}
	tbl, err := m.load(ctx)
	if err != nil {
		return deny("mounts.resolve", fmt.Sprintf("cannot read the host's mount table to judge the mounts: %v", err),
			"make /proc/self/mountinfo readable to hardened-runc (no profile setting skips this)", ctlSensitive)
	}
	j := newJudge(ctx, m.p, tbl)
	// Every check runs before any edit: a denied launch leaves the spec
	// (and so config.json) as it came.
	if err := j.checkRoot(s, r); err != nil {
		return err
	}
	locked := make([][]string, len(s.Mounts))
	resolved := make([]string, len(s.Mounts))
	for i := range s.Mounts {
		if locked[i], resolved[i], err = j.checkMount(&s.Mounts[i]); err != nil {
			return err
		}
	}
	j.rewriteRoot(s, r)
	for i := range s.Mounts {
		mt := &s.Mounts[i]
		if !isBind(mt) {
			continue
		}
		rewriteSource(mt, resolved[i], r)
		hardenBind(m.p, mt, locked[i], r)
	}
	return nil
}

// judge holds what one spec's mounts are judged against.
type judge struct {
	ctx *modifier.Context
	p   *policy.Profile
	tbl resolver
	// state are the runtime's own state paths, resolved where they exist.
	state []stateDir
	// stateIDs are the state directories' device and inode.
	stateIDs map[hostpath.ID]string
	// socks are the engine sockets that exist, under their own and their
	// resolved paths; sockIDs by identity (a hard link or bind of one).
	socks   []string
	sockIDs map[hostpath.ID]string
	// root is the resolved root.path, set by checkRoot.
	root *hostpath.Object
	// listen caches listening().
	listen []string
}

type stateDir struct {
	name   string   // as configured
	paths  []string // the configured path and its resolved one
	exists bool
}

func newJudge(ctx *modifier.Context, p *policy.Profile, tbl resolver) *judge {
	j := &judge{ctx: ctx, p: p, tbl: tbl, stateIDs: map[hostpath.ID]string{}, sockIDs: map[hostpath.ID]string{}}
	for _, sp := range statePaths(ctx) {
		d := stateDir{name: sp, paths: []string{sp}}
		if o, err := resolveExisting(tbl, sp); err == nil {
			d.exists = true
			for _, n := range o.Names() {
				if !slices.Contains(d.paths, n) {
					d.paths = append(d.paths, n)
				}
			}
			j.stateIDs[o.ID] = sp
		}
		j.state = append(j.state, d)
	}
	for _, sock := range p.Mounts.EngineSockets {
		o, err := resolveExisting(tbl, sock)
		if err != nil {
			continue
		}
		j.sockIDs[o.ID] = sock
		for _, n := range o.Names() {
			if !slices.Contains(j.socks, n) {
				j.socks = append(j.socks, n)
			}
		}
	}
	return j
}

// resolveExisting resolves a host path from the policy (not the spec),
// which may not exist on this host.
func resolveExisting(tbl resolver, p string) (*hostpath.Object, error) {
	if _, err := os.Lstat(p); err != nil {
		return nil, err
	}
	return tbl.Resolve(p, "")
}

// statePaths are the context's state paths and its run directory; where
// the runtime gave none (hardenctl, tests), also the lower runtime's root
// and runc's default one.
func statePaths(ctx *modifier.Context) []string {
	out := slices.Clone(ctx.StatePaths)
	extra := []string{ctx.StateDir()}
	if len(ctx.StatePaths) == 0 {
		extra = append(extra, ctx.Root, policy.DefaultRuncRoot)
	}
	for _, p := range extra {
		if p != "" && !slices.Contains(out, filepath.Clean(p)) {
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}

// use is how a host object is handed to the container.
type use struct {
	what      string // "bind mount /a → /b", "root.path /x", ...
	writable  bool
	recursive bool
	// noWalk skips the walk for socket files (root.path: see checkRoot);
	// listening sockets are still looked for.
	noWalk bool
}

func (j *judge) checkMount(mt *specs.Mount) (locked []string, resolved string, err error) {
	p, ctx := j.p, j.ctx
	name := mountName(mt)
	if !p.Mounts.AllowSharedPropagation && slices.ContainsFunc(mt.Options, isShared) {
		return nil, "", deny("mounts.allow_shared_propagation",
			fmt.Sprintf("mount %s has shared propagation: its mounts reach the host", name),
			fix(ctx, "set mounts.allow_shared_propagation = true"), ctlPropagation)
	}
	if !isBind(mt) && !slices.Contains(builtinTypes, mt.Type) && !slices.Contains(p.Mounts.AllowTypes, mt.Type) {
		return nil, "", deny("mounts.allow_types",
			fmt.Sprintf("mount %s has type %q: only bind, tmpfs, proc, sysfs, mqueue, devpts and cgroup mounts are allowed", name, mt.Type),
			fix(ctx, "add %q to mounts.allow_types", mt.Type), ctlSensitive)
	}
	dst := path.Clean(mt.Destination)
	if (mt.Type == "proc" && dst != "/proc") || (mt.Type == "sysfs" && dst != "/sys") {
		if !slices.Contains(p.Mounts.AllowKernelFS, dst) {
			return nil, "", deny("mounts.allow_kernel_fs",
				fmt.Sprintf("extra %s mount %s: only the container's own /proc and /sys are allowed", mt.Type, name),
				fix(ctx, "add %q to mounts.allow_kernel_fs", dst), ctlKernelFS)
		}
	}
	if !isBind(mt) {
		return nil, "", j.checkLayers(mt, name)
	}
	u := use{what: "bind mount " + name, writable: !isReadonly(mt), recursive: hasOption(mt.Options, "rbind")}
	// The spelling is judged too, first: a source named like a denied
	// path is denied for that, whether or not it exists here.
	sp := spelled(mt.Source, j.ctx.Bundle)
	if matchAny(p.Mounts.AllowSources, sp) == "" {
		if err := j.checkPatterns([]string{sp}, u, fix(ctx, "add %q to mounts.allow_sources", sp)); err != nil {
			return nil, "", err
		}
	}
	if err := j.inState(sp, u.what, stateFix); err != nil {
		return nil, "", err
	}
	o, err := j.tbl.Resolve(mt.Source, j.ctx.Bundle)
	if err != nil {
		return nil, "", deny("mounts.resolve",
			fmt.Sprintf("bind mount %s: the source cannot be resolved to a host object: %v", name, err),
			"create the source (or fix its path) before the container starts; no profile setting allows an unresolved source", ctlSensitive)
	}
	if err := j.check(o, u); err != nil {
		return nil, "", err
	}
	src, err := sourcePath(o)
	if err != nil {
		return nil, "", deny("mounts.resolve", fmt.Sprintf("bind mount %s: %v", name, err),
			"bind the directory by its own path", ctlSensitive)
	}
	return hostpath.MountFlags(o.Mount), src, nil
}

// sourcePath is the path runc should bind for a resolved source: where the
// source lies on a bind mount (a volume's _data bound from /srv/app), the
// directory it really is, reached by its own path. Later decisions that go
// by path (which volumes the user namespace idmaps) then see the real
// directory, not a volume's name for it: a volume bound from /root must
// not be idmapped like a named volume, or the container's root would own
// /root. It is the same object (same device and inode); where the real
// path now shows another one (something mounted over it), nothing can
// decide by path, and the mount is refused.
func sourcePath(o *hostpath.Object) (string, error) {
	if o.Host == "" || o.Host == o.Path {
		return o.Path, nil
	}
	id, err := hostpath.Stat(o.Host)
	if err != nil || id != o.ID {
		return "", fmt.Errorf("its source %s is a bind mount of %s, which that path no longer reaches (something is mounted over it)", o.Path, o.Host)
	}
	return o.Host, nil
}

// spelled is a source as written, made absolute against the bundle.
func spelled(src, bundle string) string {
	if !filepath.IsAbs(src) && bundle != "" {
		src = filepath.Join(bundle, src)
	}
	return filepath.Clean(src)
}

// checkLayers checks the host directories a filesystem mount names in its
// options (overlay's lowerdir, upperdir and workdir) like bind sources: an
// overlay with lowerdir=/etc is a bind of /etc by another name.
func (j *judge) checkLayers(mt *specs.Mount, name string) error {
	for _, opt := range mt.Options {
		key, val, ok := strings.Cut(opt, "=")
		if !ok {
			continue
		}
		var dirs []string
		writable := false
		switch key {
		case "lowerdir", "lowerdir+", "datadir+":
			dirs = hostpath.SplitLowerdir(val)
		case "upperdir", "workdir":
			dirs, writable = []string{val}, true
		default:
			continue
		}
		for _, d := range dirs {
			what := fmt.Sprintf("%s mount %s (%s=%s)", mt.Type, name, key, d)
			if !filepath.IsAbs(d) {
				return deny("mounts.resolve",
					fmt.Sprintf("%s: a relative layer path is resolved against runc's working directory, which hardened-runc cannot judge", what),
					"give the layer as an absolute host path", ctlSensitive)
			}
			o, err := j.tbl.Resolve(d, "")
			if err != nil {
				return deny("mounts.resolve", fmt.Sprintf("%s: the layer cannot be resolved to a host object: %v", what, err),
					"create the layer directory before the container starts", ctlSensitive)
			}
			if err := j.check(o, use{what: what, writable: writable}); err != nil {
				return err
			}
		}
	}
	return nil
}

// check applies the source rules to a resolved host object, on every name
// it is known by: unless mounts.allow_sources lists it, deny_sources,
// sockets and deny_writable_sources; then, whatever the profile says, the
// runtime's own state; for a recursive bind, the same for every mount
// beneath it, judged as what it is.
func (j *judge) check(o *hostpath.Object, u use) error {
	names := o.Names()
	allowed := slices.ContainsFunc(names, func(n string) bool { return matchAny(j.p.Mounts.AllowSources, n) != "" })
	allowFix := fix(j.ctx, "add %q to mounts.allow_sources", o.Path)
	if !allowed {
		if err := j.checkPatterns(names, u, allowFix); err != nil {
			return err
		}
		if err := j.checkSockets(o, u, allowFix); err != nil {
			return err
		}
	}
	if err := j.checkState(names, o, u.what); err != nil {
		return err
	}
	if !u.recursive || !o.IsDir() {
		return nil
	}
	for _, m := range j.tbl.Beneath(o.Path) {
		sub := []string{m.Mountpoint}
		if h := j.tbl.HostPath(m, m.Mountpoint); h != "" && h != m.Mountpoint {
			sub = append(sub, h)
		}
		what := fmt.Sprintf("%s (the mount at %s beneath it comes along)", u.what, m.Mountpoint)
		if !allowed {
			if err := j.checkPatterns(sub, use{what: what, writable: u.writable}, allowFix); err != nil {
				return err
			}
		}
		if err := j.checkState(sub, nil, what); err != nil {
			return err
		}
	}
	return nil
}

// stateFix is the "to allow" of a runtime_state denial.
const stateFix = "mount a directory that holds none of hardened-runc's or the lower runtime's state (no profile setting allows this)"

// inState denies a spelled path inside the runtime's state, before it is
// resolved (it may be gone already).
func (j *judge) inState(p, what, fixText string) error {
	for _, d := range j.state {
		if under(p, d.name) {
			return deny("mounts.runtime_state",
				fmt.Sprintf("%s: %s is in the runtime's own state %s", what, p, d.name), fixText, ctlSensitive)
		}
	}
	return nil
}

// checkState denies an object that is, lies in, or contains the runtime's
// own state (by path, and by device and inode through bind mounts).
func (j *judge) checkState(names []string, o *hostpath.Object, what string) error {
	for _, d := range j.state {
		for _, sp := range d.paths {
			for _, n := range names {
				if under(n, sp) {
					return deny("mounts.runtime_state",
						fmt.Sprintf("%s: %s is in the runtime's own state %s", what, n, d.name), stateFix, ctlSensitive)
				}
				if d.exists && under(sp, n) {
					return deny("mounts.runtime_state",
						fmt.Sprintf("%s: %s contains the runtime's own state %s", what, n, d.name), stateFix, ctlSensitive)
				}
			}
		}
	}
	if o == nil {
		return nil
	}
	if name, ok := o.Within(j.stateIDs); ok {
		return deny("mounts.runtime_state",
			fmt.Sprintf("%s: %s is the runtime's own state %s (same device and inode)", what, o.Path, name), stateFix, ctlSensitive)
	}
	return nil
}

// checkPatterns applies deny_sources and, for a writable use,
// deny_writable_sources to every name.
func (j *judge) checkPatterns(names []string, u use, allowFix string) error {
	for _, n := range names {
		if pat := matchAny(j.p.Mounts.DenySources, n); pat != "" {
			ctl := ctlSockets
			if under(n, "/proc") {
				ctl = ctlKernelFS
			}
			return deny("mounts.deny_sources",
				fmt.Sprintf("%s: %s matches %q (read-only does not help: sockets still connect)", u.what, n, pat),
				allowFix, ctl)
		}
		if sock := socketBeneath(j.socks, n); sock != "" {
			return deny("mounts.engine_sockets",
				fmt.Sprintf("%s exposes the container-engine socket %s", u.what, sock),
				allowFix, ctlSockets)
		}
	}
	if !u.writable {
		return nil
	}
	for _, n := range names {
		if pat := matchAny(j.p.Mounts.DenyWritableSources, n); pat != "" {
			return deny("mounts.deny_writable_sources",
				fmt.Sprintf("writable %s of a sensitive host path %s (%q)", u.what, n, pat),
				fmt.Sprintf("mount it read-only (add \"ro\"), or %s", allowFix), ctlSensitive)
		}
	}
	return nil
}

// checkSockets finds a host service's socket by what it is, not by name:
// a socket owned by host root (every engine's API socket is, and so is
// every other root service's) or one of the engine sockets by identity, at
// or beneath the object. Two looks: every socket listening in the host's
// network namespace (/proc/net/unix, exact and as cheap as the number of
// sockets), and a bounded walk for socket files (which also finds one no
// process listens on yet, or one of another namespace). Sockets that
// containers or users create (their own uids) stay allowed: sharing one
// through a volume is ordinary.
func (j *judge) checkSockets(o *hostpath.Object, u use, allowFix string) error {
	found := func(sock string) error {
		return deny("mounts.engine_sockets",
			fmt.Sprintf("%s exposes the socket %s, owned by host root (read-only does not stop connect(2))", u.what, sock),
			allowFix, ctlSockets)
	}
	if !o.IsDir() {
		if o.Mode&fs.ModeSocket != 0 && j.hostSocket(hostpath.Socket{Path: o.Path, UID: o.UID, ID: o.ID}) {
			return found(o.Path)
		}
		return nil
	}
	sock, err := j.listeningBeneath(o.Names())
	if err != nil {
		return deny("mounts.engine_sockets", fmt.Sprintf("%s: %v", u.what, err), allowFix, ctlSockets)
	}
	if sock != "" {
		return found(sock)
	}
	if u.noWalk {
		return nil
	}
	res, err := hostpath.FindSockets(o.Path, socketScanLimit, j.hostSocket)
	if err != nil {
		return deny("mounts.engine_sockets",
			fmt.Sprintf("%s: cannot look for sockets beneath it: %v", u.what, err), allowFix, ctlSockets)
	}
	if len(res.Sockets) > 0 {
		return found(res.Sockets[0].Path)
	}
	if res.Complete {
		return nil
	}
	for _, n := range o.Names() {
		if socketDir(n) {
			return deny("mounts.engine_sockets",
				fmt.Sprintf("%s: %s is where host services keep their sockets and has more than %d entries to look through; it cannot be shown to hold none", u.what, n, socketScanLimit),
				allowFix, ctlSockets)
		}
	}
	j.ctx.Note("mounts: %s: looked for socket files in the first %d entries only (listening sockets: all)", u.what, res.Entries)
	return nil
}

// hostSocket reports whether a socket file belongs to the host: owned by
// host root, or an engine socket by device and inode.
func (j *judge) hostSocket(s hostpath.Socket) bool {
	_, engine := j.sockIDs[s.ID]
	return engine || s.UID == 0
}

// listening returns, once per spec, the paths of the sockets listening in
// this network namespace, as bound and with their directory's symlinks
// resolved (/var/run/docker.sock is also /run/docker.sock). A host has
// hundreds, in a few directories: each directory is resolved once, and a
// socket is inspected (owner, identity) only when it lies beneath a source.
func (j *judge) listening() ([]string, error) {
	if j.listen != nil {
		return j.listen, nil
	}
	paths, err := hostpath.Listening()
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	j.listen = []string{}
	for _, p := range paths {
		p = filepath.Clean(p)
		d := filepath.Dir(p)
		canon, ok := dirs[d]
		if !ok {
			if c, err := filepath.EvalSymlinks(d); err == nil {
				canon = c
			}
			dirs[d] = canon
		}
		j.listen = append(j.listen, p)
		if canon != "" && canon != d {
			j.listen = append(j.listen, filepath.Join(canon, filepath.Base(p)))
		}
	}
	return j.listen, nil
}

// listeningBeneath returns the first host socket listening at or beneath
// one of names, "" if none.
func (j *judge) listeningBeneath(names []string) (string, error) {
	listening, err := j.listening()
	if err != nil {
		return "", err
	}
	for _, l := range listening {
		if !slices.ContainsFunc(names, func(n string) bool { return under(l, n) }) {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(l, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			continue // gone, or bound in another mount namespace
		}
		if j.hostSocket(hostpath.Socket{Path: l, UID: st.Uid, ID: hostpath.ID{Dev: uint64(st.Dev), Ino: st.Ino}}) {
			return l, nil
		}
	}
	return "", nil
}

// socketDirs are where host services create their sockets (FHS: /run,
// /tmp, daemons' /var/lib directories, /dev/log): past the walk's bound, a
// source here is refused, not guessed. /usr, /etc, /boot and /lib hold no
// sockets by convention, and the listening sockets were all checked.
var socketDirs = []string{"/run", "/var/run", "/var/lib", "/tmp", "/var/tmp", "/dev", "/home", "/root"}

func socketDir(n string) bool {
	return n == "/" || n == "/var" || slices.ContainsFunc(socketDirs, func(d string) bool { return under(n, d) })
}

// hardenBind gives a bind mount nosuid and nodev (setuid binaries and
// device nodes from a host directory must not work inside; a device path
// the profile allows keeps nodev off) and the flags its source mount has
// locked: in the container's user namespace runc (1.1) remounts the bind
// with the spec's flags, and the kernel refuses to drop a locked ro,
// nosuid, nodev, noexec or atime flag (EPERM). Adding them changes
// nothing the container could have had.
func hardenBind(p *policy.Profile, mt *specs.Mount, locked []string, r *modifier.Report) {
	want := []string{"nosuid", "nodev"}
	if matchAny(p.Devices.Allow, filepath.Clean(mt.Source)) != "" {
		want = []string{"nosuid"}
	}
	for _, f := range locked {
		// relatime is what a remount without atime flags gets anyway.
		if f != "relatime" && !slices.Contains(want, f) {
			want = append(want, f)
		}
	}
	conflicts := conflicting(want)
	add := missing(mt.Options, want)
	drop := slices.ContainsFunc(mt.Options, func(o string) bool { return conflicts[o] })
	if len(add) == 0 && !drop {
		return
	}
	before := slices.Clone(mt.Options)
	opts, _ := filter(mt.Options, func(o string) bool { return !conflicts[o] })
	if opts == nil {
		opts = []string{}
	}
	mt.Options = append(opts, add...)
	reason := "bind mounts get nosuid,nodev: no setuid binaries or device nodes from the host"
	if len(locked) > 0 && slices.ContainsFunc(add, func(o string) bool { return o != "nosuid" && o != "nodev" }) {
		reason += "; and the flags the source's mount locks in a user namespace (" + strings.Join(locked, ",") + ")"
	}
	r.Set("mounts["+path.Clean(mt.Destination)+"].options", before, slices.Clone(mt.Options), "mounts",
		reason, ctlSensitive)
}

// conflicting returns the options that undo one in want.
func conflicting(want []string) map[string]bool {
	c := map[string]bool{}
	atimes := []string{"relatime", "norelatime", "noatime", "atime", "strictatime", "nostrictatime"}
	for _, w := range want {
		switch w {
		case "nosuid":
			c["suid"] = true
		case "nodev":
			c["dev"] = true
		case "noexec":
			c["exec"] = true
		case "ro":
			c["rw"] = true
		case "nodiratime":
			c["diratime"] = true
		case "relatime", "noatime", "strictatime":
			for _, a := range atimes {
				if a != w {
					c[a] = true
				}
			}
		}
	}
	return c
}

// rewriteSource points a bind mount at its canonical path (sourcePath).
// The decision was made on that object, and runc resolves a spelled path
// again when it mounts: a symlink swapped in between (in a volume a
// container writes) would mount another object. The canonical path is the
// same object now and has no symlink left to swap.
func rewriteSource(mt *specs.Mount, resolved string, r *modifier.Report) {
	if resolved == "" || resolved == mt.Source {
		return
	}
	r.Set("mounts["+path.Clean(mt.Destination)+"].source", mt.Source, resolved, "mounts",
		"the source's canonical path (symlinks, .. and bind mounts resolved): runc mounts, and the user namespace idmaps, the object that was judged", ctlSensitive)
	mt.Source = resolved
}

// socketBeneath returns the first engine socket at or beneath dir ("" if
// none): binding /run or /var/run read-only still hands the container
// /run/docker.sock.
func socketBeneath(socks []string, dir string) string {
	for _, s := range socks {
		if under(s, dir) {
			return s
		}
	}
	return ""
}

func mountName(mt *specs.Mount) string {
	src := mt.Source
	if src == "" {
		src = mt.Type
	}
	return src + " → " + mt.Destination
}

func isBind(mt *specs.Mount) bool {
	return mt.Type == "bind" || hasOption(mt.Options, "bind") || hasOption(mt.Options, "rbind")
}

// isReadonly reports whether the last of ro/rw in the options is ro, as
// runc applies them in order.
func isReadonly(mt *specs.Mount) bool {
	ro := false
	for _, o := range mt.Options {
		switch o {
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	return ro
}

func isShared(o string) bool { return o == "shared" || o == "rshared" }
