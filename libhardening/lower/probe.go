package lower

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// Timeout bounds each probe of the lower runtime (`--version`, `features`):
// a hung binary costs one create this long, never the container.
const Timeout = 5 * time.Second

// probeEnv is the probe's whole environment: the runtime's answer must not
// depend on the caller's (a containerd shim's, a user's).
var probeEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// Version is what the lower runtime's `--version` says.
type Version struct {
	// Name is "runc" or "crun"; "" for a runtime hardened-runc does not
	// know.
	Name string
	// Release is the version as printed ("1.1.5+ds1", "1.8.1"); for an
	// unknown runtime, its whole first line.
	Release string
}

// versionRE reads the version line: runc prints "runc version 1.1.5+ds1",
// crun "crun version 1.8.1".
var versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^(runc|crun) version ([0-9]\S*)`) })

// ParseVersion reads the output of `--version`.
func ParseVersion(out []byte) Version {
	if m := versionRE().FindSubmatch(out); m != nil {
		return Version{Name: string(m[1]), Release: string(m[2])}
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return Version{Release: strings.TrimSpace(string(line))}
}

// Impl names the implementation for people: "runc", "crun" or "runtime".
func (v Version) Impl() string {
	if v.Name == "" {
		return "runtime"
	}
	return v.Name
}

// Pipeline is the version modifiers read (modifier.Lower.Version). runc's is
// bare and without the distribution's suffix ("1.1.5"): seccomp's baseline
// and the userns checks read it as runc's. Any other runtime keeps its name
// ("crun 1.8.1"), so nothing mistakes crun 1.8 for a runc 1.8; modifiers
// treat such a version as unknown and assume the union of what they know.
func (v Version) Pipeline() string {
	if v.Name == "" {
		return v.Release
	}
	r := v.Release
	if i := strings.IndexAny(r, "+~"); i >= 0 {
		r = r[:i]
	}
	if v.Name == "runc" {
		return r
	}
	return v.Name + " " + r
}

// Probe is what the lower runtime at Path says about itself.
type Probe struct {
	Path       string
	Version    Version
	VersionErr error // `--version` failed or timed out
	// Features is the parsed `features` output: nil when FeaturesErr is
	// set (no such verb: runc < 1.1, crun < 1.9) or the output is not the
	// OCI features document.
	Features    *features.Features
	FeaturesErr error
}

// ProbeBinary runs `path --version` and `path features`, each under Timeout.
func ProbeBinary(path string) Probe {
	return probeBinary(path, Timeout)
}

func probeBinary(path string, timeout time.Duration) Probe {
	p := Probe{Path: path}
	out, err := run(path, timeout, "--version")
	if p.VersionErr = err; err == nil {
		p.Version = ParseVersion(out)
	}
	out, err = run(path, timeout, "features")
	if p.FeaturesErr = err; err == nil {
		var f features.Features
		if json.Unmarshal(out, &f) == nil {
			p.Features = &f
		}
	}
	return p
}

// Lower is the probe as the pipeline reads it.
func (p Probe) Lower() modifier.Lower {
	info := modifier.Lower{Path: p.Path}
	if p.VersionErr == nil {
		info.Version = p.Version.Pipeline()
	}
	switch {
	case p.FeaturesErr == nil:
		info.Features = pipelineFeatures(p.Features)
	case p.VersionErr == nil && p.Version.Name == "crun":
		info.Features = crunFeatures(p.Version.Release)
	}
	return info
}

// Cached is the lower runtime's version and features as the pipeline reads
// them, cached under runDir keyed by the binary's identity (path, size,
// mtime), so `--version` and `features` run once per installed runtime, not
// per create. A create whose cache is warm costs one stat and one read.
func Cached(path, runDir string) modifier.Lower {
	return cached(path, runDir, Timeout)
}

func cached(path, runDir string, timeout time.Duration) modifier.Lower {
	info := modifier.Lower{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return info
	}
	// "2": the probe's format (crun's version carries its name since
	// then); a cache an older hardened-runc wrote is not read.
	key := sha256.Sum256(fmt.Appendf(nil, "2\x00%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano()))
	cache := filepath.Join(runDir, "lower", hex.EncodeToString(key[:8])+".json")
	if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &info) == nil && info.Path == path {
		return info
	}
	info = probeBinary(path, timeout).Lower()
	if data, err := json.Marshal(info); err == nil {
		_ = atomicfile.Write(cache, data, 0o600, 0o700)
	}
	return info
}

// run runs the lower runtime with args and returns its stdout. After
// timeout the process is killed, and its output pipe is closed a moment
// later even if a child it left behind still holds it.
func run(path string, timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = probeEnv
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s %s: no answer within %s", path, strings.Join(args, " "), timeout)
	}
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", path, strings.Join(args, " "), err)
	}
	return out, nil
}

// pipelineFeatures keeps the parts of `features` the pipeline uses; nil for
// output that is not the features document.
func pipelineFeatures(f *features.Features) *modifier.Features {
	if f == nil {
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
func crunFeatures(release string) *modifier.Features {
	r, ok := ParseRelease(release)
	if !ok {
		return &modifier.Features{}
	}
	return &modifier.Features{SeccompNotify: r.Major > 1 || r.Major == 1 && r.Minor >= 8}
}
