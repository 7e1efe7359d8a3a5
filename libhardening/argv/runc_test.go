package argv

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// These tests hold the parser against the runc binaries on the machine:
// Debian's runc 1.1 and the current release installed for the integration
// tests, or any listed in HARDENED_RUNC_TEST_RUNC (colon-separated).

func runcBinaries(t *testing.T) []string {
	t.Helper()
	candidates := filepath.SplitList(os.Getenv("HARDENED_RUNC_TEST_RUNC"))
	candidates = append(candidates, "/usr/sbin/runc", "/opt/hardened-runc-test/runc-1.5/runc")
	if p, err := exec.LookPath("runc"); err == nil {
		candidates = append(candidates, p)
	}
	var found []string
	for _, c := range candidates {
		if c == "" {
			continue
		}
		real, err := filepath.EvalSymlinks(c)
		if err != nil || slices.Contains(found, real) {
			continue
		}
		if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			found = append(found, real)
		}
	}
	if len(found) == 0 {
		t.Skip("no runc binary found (looked at $HARDENED_RUNC_TEST_RUNC, /usr/sbin/runc, /opt/hardened-runc-test/runc-1.5/runc, $PATH)")
	}
	return found
}

// helpFlag is one option line of urfave/cli's help: "--bundle value, -b value".
type helpOption struct {
	names      []string
	takesValue bool
}

// helpOptions reads the option lines of a `runc [verb] --help` output, from
// the section header on (the update --resources usage spans several lines
// that do not start with an option).
func helpOptions(out, header string) []helpOption {
	var opts []helpOption
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, header):
			in = true
			continue
		case strings.HasSuffix(line, "OPTIONS:"):
			in = false
		}
		if !in || !strings.HasPrefix(line, "   -") {
			continue
		}
		spec, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		var o helpOption
		for _, part := range strings.Split(spec, ", ") {
			name, hasValue := strings.CutSuffix(part, " value")
			o.names = append(o.names, strings.TrimLeft(name, "-"))
			o.takesValue = o.takesValue || hasValue
		}
		opts = append(opts, o)
	}
	return opts
}

func runHelp(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestFlagTableMatchesRuncHelp: every flag an installed runc documents is in
// the table, under the same names, with the same arity.
func TestFlagTableMatchesRuncHelp(t *testing.T) {
	for _, bin := range runcBinaries(t) {
		t.Run(bin, func(t *testing.T) {
			global := helpOptions(runHelp(t, bin, "--help"), "GLOBAL OPTIONS:")
			if len(global) < 5 {
				t.Fatalf("read only %d global options from %s --help", len(global), bin)
			}
			checkOptions(t, "global", global, lookupGlobal)
			for i := range verbs {
				v := &verbs[i]
				if v.name == "help" {
					continue
				}
				opts := helpOptions(runHelp(t, bin, v.name, "--help"), "OPTIONS:")
				checkOptions(t, v.name, opts, v.lookup)
			}
		})
	}
}

func checkOptions(t *testing.T, scope string, opts []helpOption, lookup func(string) *flagSpec) {
	t.Helper()
	for _, o := range opts {
		for _, name := range o.names {
			f := lookup(name)
			switch {
			case f == nil:
				t.Errorf("%s: runc documents -%s, the table does not know it", scope, name)
			case f.kind.takesValue() != o.takesValue:
				t.Errorf("%s: -%s takes a value: runc %v, table %v", scope, name, o.takesValue, f.kind.takesValue())
			case !slices.Contains(o.names, f.name) || (f.alias != "" && !slices.Contains(o.names, f.alias)):
				t.Errorf("%s: runc spells the flag %q, the table {%s, %s}", scope, o.names, f.name, f.alias)
			}
		}
	}
}

// bundleTokens build create/run command lines; none names an existing path,
// so runc stops at "chdir <bundle>" (or at config.json missing in the empty
// working directory) before touching anything.
var bundleTokens = []string{
	"--bundle", "-b", "-bundle", "--bundle=/nx/eq", "-b=/nx/beq", "--bundle=", "/nx/a", "/nx/b", "run", "create",
	"c1", "c2", "--", "-", "--no-pivot", "--no-pivot=false", "--pid-file", "--pid-file=/nx/pid", "--detach", "-d",
	"--keep", "--preserve-fds", "0", "--preserve-fds=x", "--console-socket", "--no-new-keyring", "--bogus", "--bogus=1",
	"-h=false", "---bundle",
}

var globalTokens = []string{"--debug=false", "--systemd-cgroup=false", "--rootless=false", "--log-format=text", "--"}

func generatedBundleCases(n int) [][]string {
	r := rand.New(rand.NewPCG(2, 7))
	cases := make([][]string, 0, n)
	for range n {
		var args []string
		for range r.IntN(3) {
			args = append(args, globalTokens[r.IntN(len(globalTokens))])
		}
		args = append(args, []string{"create", "run"}[r.IntN(2)])
		for range 1 + r.IntN(6) {
			args = append(args, bundleTokens[r.IntN(len(bundleTokens))])
		}
		cases = append(cases, args)
	}
	return cases
}

// TestBundleMatchesRunc runs create and run through the installed runc
// binaries and checks that runc uses exactly the bundle Bundle() reports,
// and refuses exactly the command lines Parse refuses or that carry unknown
// flags or the wrong number of arguments.
func TestBundleMatchesRunc(t *testing.T) {
	bins := runcBinaries(t)
	if os.Geteuid() != 0 {
		t.Skip("runc create needs root to get as far as reading the bundle")
	}
	cases := [][]string{
		split("create --bundle=run create"), split("create --bundle -- c"), split("create --bundle --pid-file c"),
		split("create c -- --bundle /nx/evil"), split("create --new-flag v --bundle /nx/b c"), split("create ctr --bundle"),
		split("create --no-pivot ctr --bundle /nx/b"), split("run ctr -d -b /nx/b"), split("-- create --bundle /nx/dd c"),
		split("create c -b /nx/a --bundle /nx/b"), split("run -b run run"),
	}
	cases = append(cases, generatedBundleCases(100)...)
	// runc takes tens of milliseconds to start on a busy machine: a few at once.
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, bin := range bins {
		for _, args := range cases {
			argv := append([]string{"--root", t.TempDir()}, args...)
			dir := t.TempDir()
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				checkAgainstRunc(t, bin, dir, argv)
			}()
		}
	}
	wg.Wait()
}

func checkAgainstRunc(t *testing.T, bin, dir string, argv []string) {
	cmd := exec.Command(bin, argv...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	want, ok := runcOutcome(argv)
	if !strings.Contains(string(out), want) || !ok && strings.Contains(string(out), "chdir") {
		t.Errorf("%s %q:\nrunc said: %s\nwant it to contain %q", bin, argv[2:], strings.TrimSpace(string(out)), want)
	}
}

// runcOutcome is what runc must print for argv if this package reads it as
// runc does; ok is false for a command line runc refuses.
func runcOutcome(argv []string) (want string, ok bool) {
	inv, err := Parse(argv)
	switch {
	case err == nil && !inv.VerbKnown():
		return "No help topic", false
	case err != nil || len(inv.Unknown()) > 0 || len(inv.Positional()) != 1:
		return "Incorrect Usage", false
	case inv.Bundle() == "":
		return "config.json", true
	}
	return "chdir " + inv.Bundle() + ":", true
}
