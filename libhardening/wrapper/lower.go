package wrapper

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// ErrLowerIsSelf is returned when the configured lower runtime resolves to
// hardened-runc itself: exec'ing it would loop forever.
var ErrLowerIsSelf = errors.New("lower runtime is hardened-runc itself")

// resolveLower turns the configured runtime (absolute path or a name looked
// up in PATH) into an absolute, executable path that is not this binary.
// Identity is compared by device and inode, not by name, so a symlink or a
// hard link to hardened-runc under the name "runc" is caught.
func resolveLower(configured, self string) (string, error) {
	name := runtimeName(configured)
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("lower runtime %q not found in PATH: set runtime = \"/path/to/runc\" in %s", name, configHint())
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var st, selfSt syscall.Stat_t
	if err := syscall.Stat(abs, &st); err != nil {
		return "", fmt.Errorf("lower runtime %s: %w: install runc or set runtime in %s", abs, err, configHint())
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0o111 == 0 {
		return "", fmt.Errorf("lower runtime %s is not an executable file: set runtime in %s", abs, configHint())
	}
	if self != "" && syscall.Stat(self, &selfSt) == nil && st.Dev == selfSt.Dev && st.Ino == selfSt.Ino {
		return "", fmt.Errorf("%w (%s): set runtime = \"/usr/sbin/runc\" (the real runc) in %s", ErrLowerIsSelf, abs, configHint())
	}
	return abs, nil
}

// runtimeName is the configured lower runtime, "runc" when none is set.
func runtimeName(configured string) string {
	if configured == "" {
		return "runc"
	}
	return configured
}

func configHint() string {
	if p := os.Getenv("HARDENED_RUNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/hardened-runc/config.toml"
}

// lowerInfo returns the lower runtime's version and features, cached under
// runDir keyed by the binary's identity (path, size, mtime), so `runc
// --version` and `runc features` run once per installed runc, not per create.
func lowerInfo(path, runDir string) modifier.Lower {
	info := modifier.Lower{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return info
	}
	// "2": the probe's format (crun's version carries its name since
	// then); a cache an older hardened-runc wrote is not read.
	key := sha256.Sum256([]byte(fmt.Sprintf("2\x00%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())))
	cache := filepath.Join(runDir, "lower", hex.EncodeToString(key[:8])+".json")
	if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &info) == nil && info.Path == path {
		return info
	}
	info = probeLower(path)
	if data, err := json.Marshal(info); err == nil {
		_ = atomicfile.Write(cache, data, 0o600, 0o700)
	}
	return info
}

// versionRE reads the first line of `--version`: runc prints "runc
// version 1.1.5+ds1", crun "crun version 1.8.1".
var versionRE = regexp.MustCompile(`(?m)^(runc|crun) version ([0-9][^\s+~]*)`)

func probeLower(path string) modifier.Lower {
	info := modifier.Lower{Path: path}
	name := ""
	if out, err := runQuiet(path, "--version"); err == nil {
		info.Version, name = parseVersion(out)
	}
	if out, err := runQuiet(path, "features"); err == nil {
		info.Features = parseFeatures(out)
	} else if name == "crun" {
		info.Features = crunFeatures(info.Version)
	}
	return info
}

// crunFeatures is what a crun without a `features` verb (before 1.9) is
// trusted with, measured on Debian 12's crun 1.8.1 by the integration
// tests:
//   - seccomp notification (linux.seccomp.listenerPath, learning mode):
//     works from 1.8 on (TestSeccompLearnThenEnforce);
//   - idmapped volumes: not claimed. crun 1.8.1 idmaps a bind mount with
//     "idmap" but silently ignores "ridmap" (the recursive volume stays
//     owned by nobody and the container starts), and the userns modifier
//     asks for "ridmap" on every rbind; without the claim hardened-runc
//     binds its own idmapped copy, which works under any lower runtime.
func crunFeatures(version string) *modifier.Features {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "crun "), "%d.%d", &major, &minor); err != nil {
		return &modifier.Features{}
	}
	return &modifier.Features{SeccompNotify: major > 1 || major == 1 && minor >= 8}
}

// parseVersion returns the version the modifiers read and the runtime's
// name. runc's version is bare ("1.1.5"): seccomp's baseline and the
// learning check read it as runc's. Any other runtime keeps its name
// ("crun 1.8.1"), so nothing mistakes crun 1.8 for a runc 1.8; modifiers
// treat such a version as unknown and assume the union of what they know.
func parseVersion(out []byte) (version, name string) {
	if m := versionRE.FindSubmatch(out); m != nil {
		if name = string(m[1]); name == "runc" {
			return string(m[2]), name
		}
		return name + " " + string(m[2]), name
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return strings.TrimSpace(string(line)), ""
}

// lowerRoot is the lower runtime's state root for this invocation: --root
// when the caller gave one, else the runtime's own default. The two
// differ: runc keeps its state in /run/runc, crun in $XDG_RUNTIME_DIR/crun
// (honoured even as root) or /run/crun. Podman passes no --root to crun,
// and taking runc's default for it made every crun container look gone:
// exec found no container spec (its process lost every capability), and
// the ID allocator's GC, run by the next create, released a live
// container's range and restored the engine's overlay under it.
func (iv *invocation) lowerRoot() string {
	if root := iv.args.Global().Root; root != "" {
		return root
	}
	return defaultLowerRoot(lowerInfo(iv.lower, iv.cfg.RunDir).Version, os.Getenv("XDG_RUNTIME_DIR"))
}

// defaultLowerRoot is the state root of the lower runtime of version (as
// lowerInfo reports it) when no --root is given.
func defaultLowerRoot(version, xdgRuntimeDir string) string {
	if !strings.HasPrefix(version, "crun ") {
		return policy.DefaultRuncRoot
	}
	if xdgRuntimeDir != "" {
		return filepath.Join(xdgRuntimeDir, "crun")
	}
	return "/run/crun"
}

// lowerHasState reports whether the lower runtime still has state for a
// container in dir (<root>/<id>): runc writes state.json, crun status.
func lowerHasState(dir string) bool {
	for _, f := range []string{"state.json", "status"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// crunBundle reads the bundle crun records in <root>/<id>/status.
func crunBundle(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return ""
	}
	var st struct {
		Bundle string `json:"bundle"`
	}
	if json.Unmarshal(data, &st) != nil {
		return ""
	}
	return st.Bundle
}

func runQuiet(path string, args ...string) ([]byte, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	done := make(chan struct{})
	timer := time.AfterFunc(5*time.Second, func() {
		select {
		case <-done:
		default:
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
		}
	})
	defer timer.Stop()
	out, err := cmd.Output()
	close(done)
	return out, err
}

// parseFeatures reads the parts of `runc features` the pipeline uses.
func parseFeatures(out []byte) *modifier.Features {
	var f features.Features
	if json.Unmarshal(out, &f) != nil {
		return nil
	}
	feat := &modifier.Features{MountOptions: f.MountOptions}
	if f.Linux == nil {
		return feat
	}
	if me := f.Linux.MountExtensions; me != nil && me.IDMap != nil && me.IDMap.Enabled != nil {
		feat.IDMap = *me.IDMap.Enabled
	}
	if sc := f.Linux.Seccomp; sc != nil {
		feat.SeccompFlags = sc.SupportedFlags
		for _, a := range sc.Actions {
			if a == "SCMP_ACT_NOTIFY" {
				feat.SeccompNotify = true
			}
		}
	}
	return feat
}
