package fastpath

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/argv"
	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
)

// TestVerbTable holds the table to the rules the runtime relies on.
func TestVerbTable(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Verbs() {
		if seen[v.Name] {
			t.Errorf("%s: listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.Fast && (v.Managed || v.Recorded) {
			t.Errorf("%s: a fast verb is passed through verbatim, so it can neither run policy nor write a record", v.Name)
		}
		if v.Managed && (!v.Recorded || v.NeverBlocks) {
			t.Errorf("%s: a managed verb is recorded, and a failed record may stop it", v.Name)
		}
		if v.Spooled && (v.Fast || v.Managed || v.Full || !v.Recorded) {
			t.Errorf("%s: a spooled verb takes a short record and is exec'd by the fast path", v.Name)
		}
		if v.Overlap && (v.Fast || v.Managed || !v.Recorded || !v.NeverBlocks) {
			t.Errorf("%s: an overlapped verb runs before its record is written, so it must be a recorded verb that no record may block", v.Name)
		}
		if v.Full && !v.Recorded {
			t.Errorf("%s: full record without a record", v.Name)
		}
		// Every verb runc 1.1 and 1.5 have: argv's table knows it.
		if inv, err := argv.Parse([]string{v.Name}); err == nil && !inv.VerbKnown() {
			t.Errorf("%s: not a runc verb", v.Name)
		}
	}
	if got := Lookup("no-such-verb"); got != (Verb{Name: "no-such-verb"}) {
		t.Errorf("unknown verb has properties: %+v", got)
	}
}

// TestPreexecTables checks the tables of the C program (cmd/hardened-runc's
// main.c) against the Go side: its verbs are the table's Fast verbs, its
// record directory, header and file names are this package's, and every global flag it skips
// is one runc's grammar (package argv) reads the same way.
func TestPreexecTables(t *testing.T) {
	src, err := os.ReadFile("../../cmd/hardened-runc/main.c")
	if err != nil {
		t.Fatal(err)
	}
	c := string(src)
	if got := cStrings(t, c, `fast_verbs\[\] = \{([^}]*)\}`); !slices.Equal(got, FastVerbs()) {
		t.Errorf("main.c fast_verbs = %v, the verb table's Fast verbs are %v", got, FastVerbs())
	}
	if got := cStrings(t, c, `spooled_verbs\[\] = \{([^}]*)\}`); !slices.Equal(got, SpooledVerbs()) {
		t.Errorf("main.c spooled_verbs = %v, the verb table's Spooled verbs are %v", got, SpooledVerbs())
	}
	if got := cStrings(t, c, `overlap_verbs\[\] = \{([^}]*)\}`); !slices.Equal(got, OverlapVerbs()) {
		t.Errorf("main.c overlap_verbs = %v, the verb table's Overlap verbs are %v", got, OverlapVerbs())
	}
	if got := cDefine(t, c, "RECORD_DIR"); got != Dir+"/" {
		t.Errorf("main.c RECORD_DIR = %q, want %q", got, Dir+"/")
	}
	if got := cDefine(t, c, "HEADER"); got != header {
		t.Errorf("main.c HEADER = %q, want %q", got, header)
	}
	if got := cDefine(t, c, "GO_NAME"); got != GoName {
		t.Errorf("main.c GO_NAME = %q, want %q", got, GoName)
	}
	if got := cDefine(t, c, "HELPER_NAME"); got != DeleteHelperName {
		t.Errorf("main.c HELPER_NAME = %q, want %q", got, DeleteHelperName)
	}
	if got := cDefine(t, c, "STARTED_ENV"); got != StartedEnv {
		t.Errorf("main.c STARTED_ENV = %q, want %q", got, StartedEnv)
	}
	if got := cDefine(t, c, "RELEASE_ENV"); got != ReleaseEnv {
		t.Errorf("main.c RELEASE_ENV = %q, want %q", got, ReleaseEnv)
	}
	for name, want := range map[string]int{"RELEASE_PIDFD": ReleasePidFD, "SETTLED_FD": SettledFD, "RELEASE_PATIENCE": int(inflight.Patience.Seconds())} {
		m := regexp.MustCompile(`(?m)^#define ` + name + ` ([0-9]+)$`).FindStringSubmatch(c)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("main.c %s = %v, want %d", name, m, want)
		}
	}
	for _, f := range cStrings(t, c, `value_flags\[\] = \{([^}]*)\}`) {
		for _, args := range [][]string{{"--" + f, "v", "state", "c"}, {"--" + f + "=v", "state", "c"}, {"-" + f, "v", "state", "c"}} {
			if inv, err := argv.Parse(args); err != nil || inv.Verb() != "state" || inv.ContainerID() != "c" {
				t.Errorf("main.c skips %v as a global flag with a value; runc's grammar reads it otherwise", args)
			}
		}
	}
	bools := regexp.MustCompile(`strlen\("([a-z-]+)"\)[^\n]*\n\s*return FLAG_BOOL`).FindAllStringSubmatch(c, -1)
	if len(bools) == 0 {
		t.Fatal("main.c: no boolean global flag found; update this test with the C code")
	}
	for _, m := range bools {
		if inv, err := argv.Parse([]string{"--" + m[1], "state", "c"}); err != nil || inv.Verb() != "state" {
			t.Errorf("main.c skips --%s as a boolean global flag; runc's grammar reads it otherwise", m[1])
		}
	}
}

// cStrings returns the string literals of the C initializer re matches.
func cStrings(t *testing.T, c, re string) []string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(c)
	if m == nil {
		t.Fatalf("main.c: %s not found; update this test with the C code", re)
	}
	var out []string
	for _, lit := range regexp.MustCompile(`"[^"]*"`).FindAllString(m[1], -1) {
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func cDefine(t *testing.T, c, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^#define ` + name + ` (".*")$`).FindStringSubmatch(c)
	if m == nil {
		t.Fatalf("main.c: #define %s not found", name)
	}
	s, err := strconv.Unquote(strings.TrimSpace(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
