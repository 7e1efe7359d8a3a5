// Package apparmor confines containers with an AppArmor profile generated
// from a template in the profiles directory and the container's hardened
// spec. It renders the profile, names it after the hash of its text so
// identical profiles are loaded once, loads it with apparmor_parser where the
// kernel enforces AppArmor, and sets process.apparmorProfile. Where the kernel
// has no AppArmor it records that fact, or denies the launch when the profile
// requires AppArmor.
package apparmor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	mobyaa "github.com/moby/profiles/apparmor"
)

// Paths the kernel exposes; runc checks the same two.
const (
	enabledParam  = "/sys/module/apparmor/parameters/enabled"
	securityfsDir = "/sys/kernel/security/apparmor"
	// includeDir is where the host's AppArmor abstractions and tunables live.
	includeDir = "/etc/apparmor.d"
)

// DefaultParser is apparmor_parser, looked up in PATH.
const DefaultParser = "apparmor_parser"

// ErrNoParser is returned when apparmor_parser cannot be found.
var ErrNoParser = errors.New("apparmor_parser not found")

// ErrNotPermitted is returned when the kernel refuses to load a profile:
// loading needs CAP_MAC_ADMIN, which a rootless runtime does not have.
var ErrNotPermitted = errors.New("not permitted to load AppArmor profiles")

// Available reports whether the running kernel enforces AppArmor, and why
// not when it does not. `hardenctl doctor` prints the reason as is.
func Available() (bool, string) {
	return available(enabledParam, securityfsDir)
}

func available(param, fsDir string) (bool, string) {
	b, err := os.ReadFile(param)
	if errors.Is(err, os.ErrNotExist) {
		return false, "the kernel has no AppArmor (" + param + " does not exist)"
	}
	if err != nil {
		return false, fmt.Sprintf("cannot read %s: %v", param, err)
	}
	if v := strings.TrimSpace(string(b)); !strings.HasPrefix(v, "Y") {
		return false, fmt.Sprintf("AppArmor is disabled (%s is %q; boot with apparmor=1 security=apparmor)", param, v)
	}
	if _, err := os.Stat(fsDir); err != nil {
		return false, fmt.Sprintf("AppArmor is enabled but %s is missing (mount securityfs: mount -t securityfs securityfs /sys/kernel/security)", fsDir)
	}
	return true, "AppArmor is enabled"
}

// Host is the AppArmor side of the machine. The modifier talks to it only
// through this interface, so tests run against a fake kernel and parser.
type Host interface {
	// Available reports whether the kernel enforces AppArmor.
	Available() (bool, string)
	// Loaded reports whether a profile of that name is in the kernel.
	Loaded(name string) (bool, error)
	// Load compiles the profile file and loads (or replaces) it.
	Load(file string) error
	// HasInclude reports whether an AppArmor include such as
	// "tunables/global" exists on the host.
	HasInclude(name string) bool
}

// System is the running kernel, with apparmor_parser at Parser ("" for
// apparmor_parser in PATH).
type System struct {
	Parser string
}

// Available implements Host.
func (System) Available() (bool, string) { return Available() }

// Loaded implements Host.
func (System) Loaded(name string) (bool, error) { return mobyaa.IsLoaded(name) }

// Load implements Host: `apparmor_parser -Kr FILE`. -K skips the cache, which
// may be on a read-only filesystem; -r replaces a profile of the same name.
func (s System) Load(file string) error {
	return runParser(s.Parser, nil, "-Kr", file)
}

// HasInclude implements Host.
func (System) HasInclude(name string) bool {
	_, err := os.Stat(filepath.Join(includeDir, name))
	return err == nil
}

// Compile checks that text is a valid AppArmor profile with
// `apparmor_parser -Q -K` (parse and compile, load nothing), which works even
// where the kernel has no AppArmor. parser "" means apparmor_parser in PATH.
// An error names the rendered line the parser complains about.
func Compile(parser, text string) error {
	err := runParser(parser, strings.NewReader(text), "-QK")
	if err == nil || errors.Is(err, ErrNoParser) {
		return err
	}
	msg := err.Error()
	if m := parserLine().FindStringSubmatch(msg); m != nil {
		lines := strings.Split(text, "\n")
		if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(lines) {
			msg += fmt.Sprintf(" (line %d: %q)", n, strings.TrimSpace(lines[n-1]))
		}
	}
	return errors.New(msg)
}

var parserLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`at line (\d+):`) })

// runParser runs apparmor_parser with args, reading the profile from stdin
// when it is not nil.
func runParser(parser string, stdin io.Reader, args ...string) error {
	if parser == "" {
		parser = DefaultParser
	}
	path, err := exec.LookPath(parser)
	if err != nil {
		return fmt.Errorf("%w: %v (install the apparmor package)", ErrNoParser, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	msg := parserMessage(out)
	if strings.Contains(msg, "Permission denied") || strings.Contains(msg, "Access denied") {
		err = fmt.Errorf("%w (%v)", ErrNotPermitted, err)
	}
	return fmt.Errorf("%s %s: %w: %s", parser, strings.Join(args, " "), err, msg)
}

// parserMessage drops the cache warning apparmor_parser prints on kernels
// without AppArmor, which would bury the real error.
func parserMessage(out []byte) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "Cache read/write disabled") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "; ")
}
