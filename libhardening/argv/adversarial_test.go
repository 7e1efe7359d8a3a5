package argv

import (
	"errors"
	"testing"
)

// adversarialCases are command lines built to confuse a parser that matches
// strings instead of reading runc's grammar. Where runc itself reads them
// oddly (reordering quirks), the expectation is runc's reading, checked
// against runc 1.1.5 and 1.5.2 by hand: `runc create --no-pivot id --bundle
// /x` is "Incorrect Usage" in both, `runc create id --bundle /x` uses /x.
var adversarialCases = []parseCase{
	// Verbs as container ids, bundle paths and command arguments.
	{"id named create", split("--root /r delete create"), want{verb: "delete", global: GlobalFlags{Root: "/r"}, id: "create", pos: []string{"create"}}},
	{"id named run, bundle named run", split("run -b run run"), want{verb: "run", id: "run", bundle: "run", pos: []string{"run"}}},
	{"state of a container named run", split("state run"), want{verb: "state", id: "run", pos: []string{"run"}}},
	{"--bundle=run", split("create --bundle=run create"), want{verb: "create", id: "create", bundle: "run", pos: []string{"create"}}},
	{"exec args with create and -b", split("exec --process /p ctr runc create -b /evil x"), want{
		verb: "exec", id: "ctr", pos: []string{"ctr", "runc", "create", "-b", "/evil", "x"},
		flags: map[string]string{"process": "/p"}, absent: []string{"b", "bundle"},
	}},
	{"exec of a program named exec", split("exec ctr exec --cap CAP_SYS_ADMIN"), want{
		verb: "exec", id: "ctr", pos: []string{"ctr", "exec", "--cap", "CAP_SYS_ADMIN"}, absent: []string{"cap"},
	}},
	{"global value named create", split("--root create --log run state exec"), want{
		verb: "state", global: GlobalFlags{Root: "create", Log: "run"}, id: "exec", pos: []string{"exec"},
	}},
	{"pid-file named create", split("create --pid-file create --bundle /b c"), want{
		verb: "create", id: "c", bundle: "/b", pos: []string{"c"}, flags: map[string]string{"pid-file": "create"},
	}},
	// "--" ends flags.
	{"-- before the verb", split("--root /r -- create c"), want{verb: "create", global: GlobalFlags{Root: "/r"}, id: "c", pos: []string{"c"}}},
	{"-- before an id that looks like a flag", split("create -- --id"), want{verb: "create", id: "--id", pos: []string{"--id"}}},
	{"-- after bundle", split("create --bundle /b -- -x"), want{verb: "create", id: "-x", bundle: "/b", pos: []string{"-x"}}},
	{"-- hides a later bundle", split("create c -- --bundle /evil"), want{verb: "create", id: "c", pos: []string{"c", "--bundle", "/evil"}}},
	{"-- as a bundle value", split("create --bundle -- c"), want{verb: "create", id: "c", bundle: "--", pos: []string{"c"}}},
	{"exec --", split("exec -- ctr ls -l"), want{verb: "exec", id: "ctr", pos: []string{"ctr", "ls", "-l"}}},
	{"exec command starting with --", split("exec ctr -- ls"), want{verb: "exec", id: "ctr", pos: []string{"ctr", "--", "ls"}}},
	{"ps -- id -ef", split("ps -- ctr -ef"), want{verb: "ps", id: "ctr", pos: []string{"ctr", "-ef"}}},
	// Flags after the positional: reordered for most verbs, not for exec/ps.
	{"delete id --force", split("delete ctr --force"), want{verb: "delete", id: "ctr", pos: []string{"ctr"}, bools: map[string]bool{"force": true}}},
	{"create id --bundle", split("create ctr --bundle /b"), want{verb: "create", id: "ctr", bundle: "/b", pos: []string{"ctr"}}},
	{"kill id sig --all", split("kill ctr KILL --all"), want{verb: "kill", id: "ctr", pos: []string{"ctr", "KILL"}, bools: map[string]bool{"all": true}}},
	{"run id -d -b", split("run ctr -d -b /b"), want{verb: "run", id: "ctr", bundle: "/b", pos: []string{"ctr"}, bools: map[string]bool{"detach": true}}},
	{"update id --memory", split("update ctr --memory 100m --pids-limit=50"), want{
		verb: "update", id: "ctr", pos: []string{"ctr"}, flags: map[string]string{"memory": "100m", "pids-limit": "50"},
	}},
	{"runc quirk: bool flag pulls the id, parsing stops there", split("create --no-pivot ctr --bundle /b"), want{
		verb: "create", id: "ctr", pos: []string{"ctr", "--bundle", "/b"}, bools: map[string]bool{"no-pivot": true},
	}},
	{"runc quirk: trailing value flag takes the id", split("create ctr --bundle"), want{verb: "create", bundle: "ctr"}},
	{"value flag takes a flag-looking value", split("create --bundle --pid-file c"), want{verb: "create", id: "c", bundle: "--pid-file", pos: []string{"c"}}},
	{"exec flags after the id belong to the command", split("exec ctr --cap CAP_SYS_ADMIN -u 0 sh"), want{
		verb: "exec", id: "ctr", pos: []string{"ctr", "--cap", "CAP_SYS_ADMIN", "-u", "0", "sh"}, absent: []string{"cap", "user"},
	}},
	{"ps id -ef", split("ps ctr -ef"), want{verb: "ps", id: "ctr", pos: []string{"ctr", "-ef"}}},
	{"exec value flag takes a flag-looking value", split("exec --cwd --detach ctr"), want{
		verb: "exec", id: "ctr", pos: []string{"ctr"}, flags: map[string]string{"cwd": "--detach"}, absent: []string{"detach"},
	}},
	{"- as an id", split("state -"), want{verb: "state", id: "-", pos: []string{"-"}}},
	{"empty id", []string{"state", ""}, want{verb: "state", pos: []string{""}}},
	{"empty verb runs nothing", []string{"", "create"}, want{info: true, pos: []string{"create"}}},
	// exec flags the hardening checks.
	{"-p", split("exec -p /a c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"process": "/a"}}},
	{"--process=", split("exec --process=/a c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"p": "/a"}}},
	{"-process", split("exec -process /a c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"process": "/a"}}},
	{"-p=", split("exec -p=/a c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"process": "/a"}}},
	{"--p", split("exec --p /a c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"process": "/a"}}},
	{"-p last wins", split("exec -p /a -p=/b c"), want{verb: "exec", id: "c", pos: []string{"c"}, flags: map[string]string{"process": "/b"}}},
	{"--cap twice", split("exec --cap CAP_SYS_ADMIN --cap=CAP_NET_RAW c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"}, multi: map[string][]string{"cap": {"CAP_SYS_ADMIN", "CAP_NET_RAW"}, "c": {"CAP_SYS_ADMIN", "CAP_NET_RAW"}},
		flags: map[string]string{"cap": "CAP_NET_RAW"},
	}},
	{"-c twice", split("exec -c CAP_SYS_ADMIN -c CAP_NET_RAW c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"}, multi: map[string][]string{"cap": {"CAP_SYS_ADMIN", "CAP_NET_RAW"}},
	}},
	{"--no-new-privs=false", split("exec --no-new-privs=false c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"}, bools: map[string]bool{"no-new-privs": false},
	}},
	{"--no-new-privs", split("exec --no-new-privs c sh"), want{verb: "exec", id: "c", pos: []string{"c", "sh"}, bools: map[string]bool{"no-new-privs": true}}},
	{"--detach=0", split("exec --detach=0 c sh"), want{verb: "exec", id: "c", pos: []string{"c", "sh"}, bools: map[string]bool{"d": false}}},
	{"--cwd /proc/self/fd/7", split("exec --cwd /proc/self/fd/7 c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"}, flags: map[string]string{"cwd": "/proc/self/fd/7"},
	}},
	{"-u 0:0", split("exec -u 0:0 c id"), want{verb: "exec", id: "c", pos: []string{"c", "id"}, flags: map[string]string{"user": "0:0"}}},
	{"env and gids", split("exec -e A=1 -e B=2 -g 10 -g 20 --apparmor unconfined --process-label system_u:system_r:spc_t:s0 --cgroup pids:/x c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"},
		multi: map[string][]string{"env": {"A=1", "B=2"}, "additional-gids": {"10", "20"}, "cgroup": {"pids:/x"}},
		flags: map[string]string{"apparmor": "unconfined", "process-label": "system_u:system_r:spc_t:s0"},
	}},
	{"env value with =", split("exec --env=PATH=/bin:/sbin c sh"), want{
		verb: "exec", id: "c", pos: []string{"c", "sh"}, multi: map[string][]string{"env": {"PATH=/bin:/sbin"}},
	}},
	// Unknown flags and verbs pass through and are reported.
	{"unknown bare global flag", split("--new-global create --bundle /b c"), want{
		verb: "create", id: "c", bundle: "/b", pos: []string{"c"}, unkn: []string{"--new-global"},
	}},
	{"unknown global value flag before a verb", split("--new-global /some/path create --bundle /b c"), want{
		verb: "create", id: "c", bundle: "/b", pos: []string{"c"}, unkn: []string{"--new-global"},
	}},
	{"unknown global flag with =", split("--new-global=x --root /r create c"), want{
		verb: "create", global: GlobalFlags{Root: "/r"}, id: "c", pos: []string{"c"}, unkn: []string{"--new-global=x"},
	}},
	{"unknown verb flag cannot hide the bundle", split("create --new-flag v --bundle /b c"), want{
		verb: "create", id: "v", bundle: "/b", pos: []string{"v", "c"}, unkn: []string{"--new-flag"},
	}},
	{"unknown verb flag with =", split("create --new-flag=v --bundle /b c"), want{
		verb: "create", id: "c", bundle: "/b", pos: []string{"c"}, unkn: []string{"--new-flag=v"}, flags: map[string]string{"new-flag": "v"},
	}},
	{"unknown exec flag guessed bool", split("exec --new-flag --process /p c"), want{
		verb: "exec", id: "c", pos: []string{"c"}, unkn: []string{"--new-flag"}, flags: map[string]string{"process": "/p"}, bools: map[string]bool{"new-flag": true},
	}},
	{"global flag after the verb is unknown there", split("create --root /r c"), want{
		verb: "create", id: "/r", pos: []string{"/r", "c"}, unkn: []string{"--root"},
	}},
	{"unknown verb", split("--root /r frobnicate --x c"), want{
		verb: "frobnicate", global: GlobalFlags{Root: "/r"}, pos: []string{"c"}, unkn: []string{"--x"},
	}},
	// What runc refuses before doing anything.
	{"value flag at the end", split("create --bundle"), want{err: ErrMissingValue}},
	{"global value flag at the end", split("--root"), want{err: ErrMissingValue}},
	{"exec -p at the end", split("exec c -p"), want{verb: "exec", id: "c", pos: []string{"c", "-p"}}},
	{"exec -p with no id", split("exec -p"), want{err: ErrMissingValue}},
	{"three dashes", split("---root /r state c"), want{err: ErrBadSyntax}},
	{"-=x", split("exec -=x c"), want{err: ErrBadSyntax}},
	{"bad bool", split("delete --force=maybe c"), want{err: ErrBadValue}},
	{"bad global bool", split("--debug=yes state c"), want{err: ErrBadValue}},
	{"bad int", split("create --preserve-fds=x c"), want{err: ErrBadValue}},
	{"int with base prefix", split("create --preserve-fds 0x2 c"), want{verb: "create", id: "c", pos: []string{"c"}, flags: map[string]string{"preserve-fds": "0x2"}}},
	{"int64 slice is base 10", split("exec -g 0x10 c sh"), want{err: ErrBadValue}},
	{"duration without unit", split("events --interval 5 c"), want{err: ErrBadValue}},
	{"two forms of --force", split("delete -f --force c"), want{err: ErrTwoForms}},
	{"two forms of --cap", split("exec --cap A -c B c sh"), want{err: ErrTwoForms}},
	{"two forms of help", split("-h --help"), want{err: ErrTwoForms}},
	{"two forms of bundle after the id", split("create c -b /a --bundle /b"), want{err: ErrTwoForms}},
}

func TestParseAdversarial(t *testing.T) { runParseCases(t, adversarialCases) }

func TestUsageErrorKeepsWhatWasParsed(t *testing.T) {
	inv, err := Parse(split("--root /r create --pid-file /p --bundle"))
	var ue *UsageError
	if !errors.As(err, &ue) || !errors.Is(err, ErrMissingValue) {
		t.Fatalf("error = %v, want a *UsageError for ErrMissingValue", err)
	}
	if ue.Verb != "create" || ue.Arg != "--bundle" || ue.Index != 5 {
		t.Errorf("UsageError = %+v, want verb create, arg --bundle, index 5", ue)
	}
	if inv == nil || inv.Verb() != "create" || inv.Global().Root != "/r" {
		t.Fatalf("partial Invocation = %+v, want verb create and root /r", inv)
	}
	if got, want := err.Error(), `runc create: flag needs an argument: "--bundle" (argument 5)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestArgsIsACopy(t *testing.T) {
	in := split("exec -p /a c")
	inv, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	in[2] = "/changed"
	out := inv.Args()
	out[0] = "create"
	if got, _ := inv.Flag("process"); got != "/a" || inv.Args()[0] != "exec" {
		t.Errorf("Invocation changed through the caller's slices: process=%q args=%q", got, inv.Args())
	}
}
