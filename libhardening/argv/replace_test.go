package argv

import (
	"errors"
	"slices"
	"testing"
)

func TestReplaceFlagValue(t *testing.T) {
	tests := []struct {
		name  string
		args  string
		flag  string
		value string
		want  string // "" when ReplaceFlagValue must fail with ErrNotReplaceable
	}{
		{"moby exec", mobyGlobal + "exec --process /tmp/runc-process2417318035 --detach --pid-file /b/e.pid " + mobyID,
			"process", "/proc/self/fd/5", mobyGlobal + "exec --process /proc/self/fd/5 --detach --pid-file /b/e.pid " + mobyID},
		{"conmon exec", "exec --pid-file /ud/p --process /ud/exec-process-9f --detach abc",
			"p", "/run/hardened-runc/p.json", "exec --pid-file /ud/p --process /run/hardened-runc/p.json --detach abc"},
		{"-p X", "exec -p /a c sh", "process", "/h", "exec -p /h c sh"},
		{"--process=X", "exec --process=/a c sh", "process", "/h", "exec --process=/h c sh"},
		{"-process X", "exec -process /a c sh", "process", "/h", "exec -process /h c sh"},
		{"-p=X", "exec -p=/a c sh", "process", "/h", "exec -p=/h c sh"},
		{"every occurrence", "exec -p /a -p=/b c sh", "process", "/h", "exec -p /h -p=/h c sh"},
		{"value with =", "exec -p /a c sh", "process", "/x=y", "exec -p /x=y c sh"},
		{"value starting with -", "exec -p /a c sh", "process", "--bundle", "exec -p=--bundle c sh"},
		{"exec command arguments untouched", "exec -p /a c sh -p /a", "process", "/h", "exec -p /h c sh -p /a"},
		{"update --resources -", mobyGlobal + "update --resources - " + mobyID, "resources", "/run/r.json", mobyGlobal + "update --resources /run/r.json " + mobyID},
		{"update --resources=-", "update --resources=- c", "r", "/run/r.json", "update --resources=/run/r.json c"},
		{"update flag after the id", "update c --memory 1g", "memory", "512m", "update c --memory 512m"},
		{"runc quirk: the value runc reads is the one replaced", "create ctr --bundle", "bundle", "/x", "create /x --bundle"},
		{"bool written bare", "exec --detach c sh", "detach", "false", "exec --detach=false c sh"},
		{"bool with =", "exec --no-new-privs=false c sh", "no-new-privs", "true", "exec --no-new-privs=true c sh"},
		{"bool with a non-bool value", "exec --detach c sh", "detach", "maybe", ""},
		{"absent flag", "exec c sh", "process", "/h", ""},
		{"flag of another verb", "exec -p /a c sh", "bundle", "/h", ""},
		{"unknown flag", "exec --new=1 c sh", "new", "2", ""},
		{"global flag", "--root /r state c", "root", "/x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse(split(tc.args))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := inv.ReplaceFlagValue(tc.flag, tc.value)
			if tc.want == "" {
				if !errors.Is(err, ErrNotReplaceable) {
					t.Fatalf("ReplaceFlagValue = %q, %v; want ErrNotReplaceable", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReplaceFlagValue: %v", err)
			}
			if !slices.Equal(got, split(tc.want)) {
				t.Errorf("ReplaceFlagValue = %q\nwant %q", got, split(tc.want))
			}
			if !slices.Equal(inv.Args(), split(tc.args)) {
				t.Errorf("the Invocation changed: %q", inv.Args())
			}
			re, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(result): %v", err)
			}
			if v, _ := re.Flag(tc.flag); v != tc.value {
				t.Errorf("result reads %s=%q, want %q", tc.flag, v, tc.value)
			}
		})
	}
}

func TestInsertFlag(t *testing.T) {
	tests := []struct {
		name  string
		args  string
		flag  string
		value string
		want  string // "" when InsertFlag must fail with ErrNotReplaceable
	}{
		{"update", "update c --memory 1g", "pids-limit", "100", "update --pids-limit=100 c --memory 1g"},
		{"moby update", mobyGlobal + "update --resources - " + mobyID, "memory", "512m", mobyGlobal + "update --memory=512m --resources - " + mobyID},
		{"id equal to a flag value", "update --cpuset-cpus 1 1", "memory", "1g", "update --memory=1g --cpuset-cpus 1 1"},
		{"exec flags precede the id", "exec -p /a c sh", "no-new-privs", "true", "exec --no-new-privs=true -p /a c sh"},
		{"by alias", "exec c sh", "u", "1000:1000", "exec --user=1000:1000 c sh"},
		{"after global options and --", "--root /r -- exec c sh", "cwd", "/", "--root /r -- exec --cwd=/ c sh"},
		{"value starting with -", "update c", "cpuset-cpus", "-1", "update --cpuset-cpus=-1 c"},
		{"already set", "update c --memory 1g", "memory", "2g", ""},
		{"already set by alias", "exec -u 0 c sh", "user", "1", ""},
		{"not a flag of the verb", "state c", "memory", "1g", ""},
		{"unknown verb", "frobnicate c", "memory", "1g", ""},
		{"no verb", "--root /r", "memory", "1g", ""},
		{"bad bool", "exec c sh", "detach", "maybe", ""},
		{"bad int", "update c", "pids-limit", "lots", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Parse(split(tc.args))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := inv.InsertFlag(tc.flag, tc.value)
			if tc.want == "" {
				if !errors.Is(err, ErrNotReplaceable) {
					t.Fatalf("InsertFlag = %q, %v; want ErrNotReplaceable", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("InsertFlag: %v", err)
			}
			if !slices.Equal(got, split(tc.want)) {
				t.Errorf("InsertFlag = %q\nwant %q", got, split(tc.want))
			}
			if !slices.Equal(inv.Args(), split(tc.args)) {
				t.Errorf("the Invocation changed: %q", inv.Args())
			}
		})
	}
}
