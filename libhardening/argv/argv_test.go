package argv

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// want is what a command line must parse to. Zero fields are checked too:
// an unexpected container id or bundle is a failure.
type want struct {
	verb   string
	global GlobalFlags
	id     string
	bundle string
	pos    []string
	flags  map[string]string   // Flag(name) == value, ok
	multi  map[string][]string // Flags(name)
	bools  map[string]bool     // Bool(name) == value, true
	absent []string            // Flag(name) not set
	unkn   []string            // Unknown()
	info   bool                // Informational()
	err    error               // errors.Is(Parse error, err)
}

type parseCase struct {
	name string
	args []string
	want want
}

// split keeps the tables readable; no argument in them contains a space.
func split(s string) []string { return strings.Fields(s) }

// Paths the containerd runc shim v2 uses for a Docker container: the shim's
// runc root is <Root option>/<namespace> (/var/run/docker/runtime-runc/moby),
// the log is <bundle>/log.json in JSON, init's pid file <bundle>/init.pid, an
// exec's <bundle>/<exec-id>.pid, and go-runc writes the exec process spec to
// os.CreateTemp($XDG_RUNTIME_DIR, "runc-process").
const (
	mobyID     = "3f2c9a1e7b0d4c5f8a6e2b1d9c7f0a3e5b8d2c4f6a1e9b7d0c3f5a8e2b6d4c1f"
	mobyBundle = "/run/containerd/io.containerd.runtime.v2.task/moby/" + mobyID
	mobyGlobal = "--root /var/run/docker/runtime-runc/moby --log " + mobyBundle + "/log.json --log-format json "
)

var mobyFlags = GlobalFlags{Root: "/var/run/docker/runtime-runc/moby", Log: mobyBundle + "/log.json", LogFormat: "json"}

// callerCases are the command lines real callers send, taken from their
// sources: containerd/go-runc runc.go (Create, Start, Exec, Update, Kill,
// Delete, State, Ps, Top, Events, Stats, Checkpoint, Restore, Version,
// Features, List), containers/conmon src/runtime_args.c with podman's
// "--runtime-arg" list (libpod oci_conmon), CRI-O's internal/oci
// (`--root=<runtime_root>` for conmon, `--root <root>` direct), and runc's
// own usage text.
var callerCases = []parseCase{
	// Docker 20.10+ → containerd runc shim v2 → go-runc.
	{"moby create", split(mobyGlobal + "create --bundle " + mobyBundle + " --pid-file " + mobyBundle + "/init.pid " + mobyID), want{
		verb: "create", global: mobyFlags, id: mobyID, bundle: mobyBundle, pos: []string{mobyID},
		flags: map[string]string{"pid-file": mobyBundle + "/init.pid", "b": mobyBundle}, absent: []string{"console-socket", "no-pivot"},
	}},
	{"moby create tty systemd", split("--root /var/run/docker/runtime-runc/moby --log " + mobyBundle + "/log.json --log-format json --systemd-cgroup create --bundle " + mobyBundle + " --pid-file " + mobyBundle + "/init.pid --console-socket /tmp/pty1823749232/pty.sock " + mobyID), want{
		verb: "create", global: GlobalFlags{Root: mobyFlags.Root, Log: mobyFlags.Log, LogFormat: "json", SystemdCgroup: true},
		id: mobyID, bundle: mobyBundle, pos: []string{mobyID},
		flags: map[string]string{"console-socket": "/tmp/pty1823749232/pty.sock"},
	}},
	{"moby create extra files", split(mobyGlobal + "create --bundle " + mobyBundle + " --pid-file " + mobyBundle + "/init.pid --no-pivot --no-new-keyring --preserve-fds 2 " + mobyID), want{
		verb: "create", global: mobyFlags, id: mobyID, bundle: mobyBundle, pos: []string{mobyID},
		flags: map[string]string{"preserve-fds": "2"}, bools: map[string]bool{"no-pivot": true, "no-new-keyring": true},
	}},
	{"moby start", split(mobyGlobal + "start " + mobyID), want{verb: "start", global: mobyFlags, id: mobyID, pos: []string{mobyID}}},
	{"moby exec", split(mobyGlobal + "exec --process /tmp/runc-process2417318035 --detach --pid-file " + mobyBundle + "/7d1e.pid " + mobyID), want{
		verb: "exec", global: mobyFlags, id: mobyID, pos: []string{mobyID},
		flags: map[string]string{"process": "/tmp/runc-process2417318035", "pid-file": mobyBundle + "/7d1e.pid"},
		bools: map[string]bool{"detach": true}, absent: []string{"tty", "cwd", "cap"},
	}},
	{"moby exec tty", split(mobyGlobal + "exec --process /run/user/0/runc-process881 --console-socket /tmp/pty99/pty.sock --detach --pid-file " + mobyBundle + "/e1.pid " + mobyID), want{
		verb: "exec", global: mobyFlags, id: mobyID, pos: []string{mobyID},
		flags: map[string]string{"p": "/run/user/0/runc-process881", "console-socket": "/tmp/pty99/pty.sock"},
	}},
	{"moby update (go-runc < 1.1)", split(mobyGlobal + "update --resources - " + mobyID), want{
		verb: "update", global: mobyFlags, id: mobyID, pos: []string{mobyID}, flags: map[string]string{"resources": "-", "r": "-"},
	}},
	{"moby update (go-runc >= 1.1)", split(mobyGlobal + "update --resources=- " + mobyID), want{
		verb: "update", global: mobyFlags, id: mobyID, pos: []string{mobyID}, flags: map[string]string{"resources": "-"},
	}},
	{"moby kill", split(mobyGlobal + "kill " + mobyID + " 9"), want{
		verb: "kill", global: mobyFlags, id: mobyID, pos: []string{mobyID, "9"}, absent: []string{"all"},
	}},
	{"moby kill --all", split(mobyGlobal + "kill --all " + mobyID + " 15"), want{
		verb: "kill", global: mobyFlags, id: mobyID, pos: []string{mobyID, "15"}, bools: map[string]bool{"all": true},
	}},
	{"moby delete", split(mobyGlobal + "delete " + mobyID), want{verb: "delete", global: mobyFlags, id: mobyID, pos: []string{mobyID}}},
	{"moby delete --force", split(mobyGlobal + "delete --force " + mobyID), want{
		verb: "delete", global: mobyFlags, id: mobyID, pos: []string{mobyID}, bools: map[string]bool{"force": true, "f": true},
	}},
	{"moby state", split(mobyGlobal + "state " + mobyID), want{verb: "state", global: mobyFlags, id: mobyID, pos: []string{mobyID}}},
	{"moby ps", split(mobyGlobal + "ps --format json " + mobyID), want{
		verb: "ps", global: mobyFlags, id: mobyID, pos: []string{mobyID}, flags: map[string]string{"format": "json"},
	}},
	{"moby top", split(mobyGlobal + "ps --format table " + mobyID + " -ef"), want{
		verb: "ps", global: mobyFlags, id: mobyID, pos: []string{mobyID, "-ef"}, flags: map[string]string{"f": "table"},
	}},
	{"moby pause", split(mobyGlobal + "pause " + mobyID), want{verb: "pause", global: mobyFlags, id: mobyID, pos: []string{mobyID}}},
	{"moby resume", split(mobyGlobal + "resume " + mobyID), want{verb: "resume", global: mobyFlags, id: mobyID, pos: []string{mobyID}}},
	{"moby stats", split(mobyGlobal + "events --stats " + mobyID), want{
		verb: "events", global: mobyFlags, id: mobyID, pos: []string{mobyID}, bools: map[string]bool{"stats": true},
	}},
	{"moby events", split(mobyGlobal + "events --interval=5s " + mobyID), want{
		verb: "events", global: mobyFlags, id: mobyID, pos: []string{mobyID}, flags: map[string]string{"interval": "5s"},
	}},
	{"moby checkpoint", split(mobyGlobal + "checkpoint --image-path /var/lib/docker/containers/" + mobyID + "/checkpoints/c1 --work-path /tmp/criu-work --tcp-established --file-locks --manage-cgroups-mode soft --empty-ns network --lazy-pages --status-fd 3 --leave-running " + mobyID), want{
		verb: "checkpoint", global: mobyFlags, id: mobyID, pos: []string{mobyID},
		flags: map[string]string{"work-path": "/tmp/criu-work", "manage-cgroups-mode": "soft", "status-fd": "3"},
		multi: map[string][]string{"empty-ns": {"network"}},
		bools: map[string]bool{"leave-running": true, "tcp-established": true}, absent: []string{"pre-dump"},
	}},
	{"moby restore", split(mobyGlobal + "restore --image-path /ckpt --work-path /work --detach --pid-file " + mobyBundle + "/init.pid --no-pivot -no-subreaper --bundle " + mobyBundle + " " + mobyID), want{
		verb: "restore", global: mobyFlags, id: mobyID, bundle: mobyBundle, pos: []string{mobyID},
		flags: map[string]string{"image-path": "/ckpt"}, bools: map[string]bool{"detach": true, "no-subreaper": true, "no-pivot": true},
	}},
	{"go-runc list", split("--root /run/containerd/runc/default list --format=json"), want{
		verb: "list", global: GlobalFlags{Root: "/run/containerd/runc/default"}, flags: map[string]string{"format": "json"},
	}},
	{"go-runc version", split("--version"), want{global: GlobalFlags{Version: true}, info: true}},
	{"go-runc features", split("features"), want{verb: "features"}},
	{"go-runc rootless", split("--root /run/user/1000/runc --rootless=true state c1"), want{
		verb: "state", global: GlobalFlags{Root: "/run/user/1000/runc", Rootless: "true"}, id: "c1", pos: []string{"c1"},
	}},
	// ctr run --runc-binary: the same shim, namespace "default".
	{"ctr run create", split("--root /run/containerd/runc/default --log /run/containerd/io.containerd.runtime.v2.task/default/demo/log.json --log-format json create --bundle /run/containerd/io.containerd.runtime.v2.task/default/demo --pid-file /run/containerd/io.containerd.runtime.v2.task/default/demo/init.pid demo"), want{
		verb: "create", id: "demo", bundle: "/run/containerd/io.containerd.runtime.v2.task/default/demo", pos: []string{"demo"},
		global: GlobalFlags{Root: "/run/containerd/runc/default", Log: "/run/containerd/io.containerd.runtime.v2.task/default/demo/log.json", LogFormat: "json"},
	}},
	// Podman → conmon: conmon puts --systemd-cgroup first (not for exec), then
	// podman's "--runtime-arg"s, then the verb.
	{"podman create", split("--systemd-cgroup --log-format=json --log /var/lib/containers/storage/overlay-containers/abc/userdata/oci-log create --bundle /var/lib/containers/storage/overlay-containers/abc/userdata --pid-file /run/containers/storage/overlay-containers/abc/userdata/pidfile abc"), want{
		verb: "create", id: "abc", bundle: "/var/lib/containers/storage/overlay-containers/abc/userdata", pos: []string{"abc"},
		global: GlobalFlags{SystemdCgroup: true, LogFormat: "json", Log: "/var/lib/containers/storage/overlay-containers/abc/userdata/oci-log"},
		flags:  map[string]string{"pid-file": "/run/containers/storage/overlay-containers/abc/userdata/pidfile"},
	}},
	{"podman create tty no-pivot", split("--log-format=json --log /ud/oci-log create --bundle /ud --pid-file /ud/pidfile --no-pivot --no-new-keyring --console-socket /run/libpod/socket/abc/attach abc"), want{
		verb: "create", id: "abc", bundle: "/ud", pos: []string{"abc"}, global: GlobalFlags{LogFormat: "json", Log: "/ud/oci-log"},
		flags: map[string]string{"console-socket": "/run/libpod/socket/abc/attach"}, bools: map[string]bool{"no-pivot": true, "no-new-keyring": true},
	}},
	{"podman exec", split("--log-format=json --log /ud/oci-log exec --pid-file /ud/exec_pid_9f --process /ud/exec-process-9f --detach --preserve-fds 1 --tty abc"), want{
		verb: "exec", id: "abc", pos: []string{"abc"}, global: GlobalFlags{LogFormat: "json", Log: "/ud/oci-log"},
		flags: map[string]string{"process": "/ud/exec-process-9f", "preserve-fds": "1"}, bools: map[string]bool{"detach": true, "tty": true, "t": true},
	}},
	{"podman restore", split("--systemd-cgroup --log-format=json --log /ud/oci-log restore --bundle /ud --pid-file /ud/pidfile --detach --image-path /ud/checkpoint --work-path /ud --tcp-established abc"), want{
		verb: "restore", id: "abc", bundle: "/ud", pos: []string{"abc"},
		global: GlobalFlags{SystemdCgroup: true, LogFormat: "json", Log: "/ud/oci-log"},
		flags:  map[string]string{"work-path": "/ud"}, bools: map[string]bool{"tcp-established": true},
	}},
	// podman's NoCgroups passes crun's global "--cgroup-manager disabled",
	// which runc does not know: its value must not become the verb.
	{"podman no-cgroups (crun flag)", split("--log-format=json --log /ud/oci-log --cgroup-manager disabled create --bundle /ud --pid-file /ud/pidfile abc"), want{
		verb: "create", id: "abc", bundle: "/ud", pos: []string{"abc"}, global: GlobalFlags{LogFormat: "json", Log: "/ud/oci-log"},
		unkn: []string{"--cgroup-manager"},
	}},
	{"podman kill all", split("kill --all abc 15"), want{verb: "kill", id: "abc", pos: []string{"abc", "15"}, bools: map[string]bool{"all": true}}},
	{"podman update", split("update --resources /tmp/podman-update-123 abc"), want{
		verb: "update", id: "abc", pos: []string{"abc"}, flags: map[string]string{"resources": "/tmp/podman-update-123"},
	}},
	// CRI-O: conmon gets "--runtime-arg --root=<runtime_root>" and -s; direct
	// calls use "--root <root> [--systemd-cgroup]".
	{"cri-o create", split("--systemd-cgroup --root=/run/runc create --bundle /run/containers/storage/overlay-containers/p1/userdata --pid-file /run/containers/storage/overlay-containers/p1/userdata/pidfile p1"), want{
		verb: "create", id: "p1", bundle: "/run/containers/storage/overlay-containers/p1/userdata", pos: []string{"p1"},
		global: GlobalFlags{SystemdCgroup: true, Root: "/run/runc"},
	}},
	{"cri-o exec sync", split("--root=/run/runc exec --pid-file /tmp/pidfile-e1 --process /tmp/exec-process-e1 --detach p1"), want{
		verb: "exec", id: "p1", pos: []string{"p1"}, global: GlobalFlags{Root: "/run/runc"}, flags: map[string]string{"process": "/tmp/exec-process-e1"},
	}},
	{"cri-o delete", split("--root /run/runc --systemd-cgroup delete --force p1"), want{
		verb: "delete", id: "p1", pos: []string{"p1"}, global: GlobalFlags{Root: "/run/runc", SystemdCgroup: true}, bools: map[string]bool{"force": true},
	}},
	// Plain runc, as its usage text and README show it.
	{"runc run", split("run -b /mycontainer mycontainer"), want{verb: "run", id: "mycontainer", bundle: "/mycontainer", pos: []string{"mycontainer"}}},
	{"runc run cwd bundle", split("run mycontainer"), want{verb: "run", id: "mycontainer", pos: []string{"mycontainer"}}},
	{"runc exec command", split("exec -t mycontainer sh -c ls"), want{
		verb: "exec", id: "mycontainer", pos: []string{"mycontainer", "sh", "-c", "ls"}, bools: map[string]bool{"tty": true},
	}},
	{"runc spec rootless", split("spec --rootless --bundle /b"), want{verb: "spec", bundle: "/b", bools: map[string]bool{"rootless": true}}},
	{"runc list quiet", split("list -q"), want{verb: "list", bools: map[string]bool{"quiet": true}}},
	{"runc --help", split("--help"), want{global: GlobalFlags{Help: true}, info: true}},
	{"runc -h create", split("-h create"), want{global: GlobalFlags{Help: true}, info: true}},
	{"runc -v", split("-v"), want{global: GlobalFlags{Version: true}, info: true}},
	{"runc help create", split("help create"), want{verb: "help", pos: []string{"create"}, info: true}},
	{"runc h", split("h"), want{verb: "help", info: true}},
	{"runc create --help", split("create --help"), want{verb: "create", bools: map[string]bool{"help": true}, info: true}},
	{"runc exec -h after id is the command's", split("exec ctr -h"), want{verb: "exec", id: "ctr", pos: []string{"ctr", "-h"}}},
	{"no arguments", nil, want{info: true}},
	{"global flags only", split("--root /x --debug"), want{global: GlobalFlags{Root: "/x", Debug: true}, info: true}},
	{"--help=false runs the verb", split("--help=false state c"), want{verb: "state", id: "c", pos: []string{"c"}}},
	{"global single dash and =", split("-root=/r -log /l -log-format=text -debug=true -criu /usr/sbin/criu -rootless auto state c"), want{
		verb: "state", id: "c", pos: []string{"c"}, global: GlobalFlags{Root: "/r", Log: "/l", LogFormat: "text", Debug: true, Criu: "/usr/sbin/criu", Rootless: "auto"},
	}},
	{"global last occurrence wins", split("--root /a --root=/b --debug --debug=false state c"), want{
		verb: "state", id: "c", pos: []string{"c"}, global: GlobalFlags{Root: "/b"},
	}},
}

func TestParseCallers(t *testing.T) { runParseCases(t, callerCases) }

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse(tc.args)
			checkParse(t, tc.args, inv, err, tc.want)
		})
	}
}

func checkParse(t *testing.T, args []string, inv *Invocation, err error, w want) {
	t.Helper()
	if w.err != nil {
		var ue *UsageError
		if !errors.Is(err, w.err) || !errors.As(err, &ue) {
			t.Fatalf("Parse(%q) error = %v, want %v as *UsageError", args, err, w.err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	if !slices.Equal(inv.Args(), args) {
		t.Errorf("Args() = %q, want the input %q", inv.Args(), args)
	}
	if got := inv.Verb(); got != w.verb {
		t.Errorf("Verb() = %q, want %q", got, w.verb)
	}
	if got := inv.Global(); got != w.global {
		t.Errorf("Global() = %+v, want %+v", got, w.global)
	}
	if got := inv.ContainerID(); got != w.id {
		t.Errorf("ContainerID() = %q, want %q", got, w.id)
	}
	if got := inv.Bundle(); got != w.bundle {
		t.Errorf("Bundle() = %q, want %q", got, w.bundle)
	}
	if got := inv.Positional(); !slices.Equal(got, w.pos) {
		t.Errorf("Positional() = %q, want %q", got, w.pos)
	}
	if got := inv.Informational(); got != w.info {
		t.Errorf("Informational() = %v, want %v", got, w.info)
	}
	if got := inv.Unknown(); !slices.Equal(got, w.unkn) {
		t.Errorf("Unknown() = %q, want %q", got, w.unkn)
	}
	for _, name := range slices.Sorted(maps.Keys(w.flags)) {
		if got, ok := inv.Flag(name); !ok || got != w.flags[name] {
			t.Errorf("Flag(%q) = %q, %v; want %q, true", name, got, ok, w.flags[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.multi)) {
		if got := inv.Flags(name); !slices.Equal(got, w.multi[name]) {
			t.Errorf("Flags(%q) = %q, want %q", name, got, w.multi[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.bools)) {
		got, set := inv.Bool(name)
		if got != w.bools[name] || !set {
			t.Errorf("Bool(%q) = %v, %v; want %v, true", name, got, set, w.bools[name])
		}
	}
	for _, name := range w.absent {
		if got, ok := inv.Flag(name); ok {
			t.Errorf("Flag(%q) = %q, want absent", name, got)
		}
	}
}
