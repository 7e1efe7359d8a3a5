package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/engine"
	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
)

func checkEngines(o Options, _ requirements) []Check {
	var out []Check
	for _, k := range engine.Kinds {
		cfg := o.EngineConfigs[string(k)]
		if cfg == "" {
			cfg = o.path(engine.DefaultConfigPath(k))
		}
		c := Check{Name: "engine." + string(k)}
		st, err := engine.Inspect(k, cfg, "hardened-runc")
		switch {
		case err != nil:
			c.Status, c.Detail = Warn, fmt.Sprintf("cannot read %s: %v", cfg, err)
			c.Fix = "fix the file, then `hardenctl runtime configure --runtime " + string(k) + "`"
		case len(st.Files) == 0:
			c.Status, c.Detail = OK, fmt.Sprintf("not installed or not configured (%s absent)", cfg)
		case len(st.Runtimes) == 0:
			c.Status, c.Detail = Warn, fmt.Sprintf("%s does not run hardened-runc", strings.Join(st.Files, ", "))
			c.Fix = "hardenctl runtime configure --runtime " + string(k) + " [--set-as-default]"
		case st.IsDefault:
			c.Status, c.Detail = OK, fmt.Sprintf("runtime %s = hardened-runc, and it is the default (%s)", strings.Join(st.Runtimes, ","), strings.Join(st.Files, ", "))
		default:
			c.Status = OK
			c.Detail = fmt.Sprintf("runtime %s = hardened-runc, opt-in per container (default runtime: %s)", strings.Join(st.Runtimes, ","), orRunc(st.Default))
			c.Fix = "to harden every container: hardenctl runtime configure --runtime " + string(k) + " --set-as-default"
		}
		out = append(out, c)
		out = append(out, checkBeside(o, k, st.Paths)...)
	}
	return out
}

// checkBeside checks that the hardened-runc an engine runs has its Go side
// and delete helper beside it (package fastpath): without the Go side,
// every call it cannot decide alone fails; without the helper, a delete
// that releases a container takes longer.
func checkBeside(o Options, k engine.Kind, paths []string) []Check {
	var out []Check
	for _, p := range paths {
		for _, b := range []struct {
			name   string
			status Status
			why    string
		}{
			{fastpath.GoName, Fail, "every create, exec and update fails"},
			{fastpath.DeleteHelperName, Warn, "hardened-runc-go finishes deletes instead, a millisecond slower"},
		} {
			beside := filepath.Join(filepath.Dir(p), b.name)
			if _, err := os.Stat(o.path(beside)); err == nil {
				continue
			}
			out = append(out, Check{Name: "engine." + string(k) + ".binaries", Status: b.status,
				Detail: fmt.Sprintf("%s has no %s beside it: %s", p, b.name, b.why),
				Fix:    "install hardened-runc, hardened-runc-go and hardened-runc-delete into one directory (install.sh does)"})
		}
	}
	return out
}

func orRunc(s string) string {
	if s == "" {
		return "runc"
	}
	return s
}

// minForensicsFree is the free space below which records may fail; a
// fail-closed profile then blocks launches.
const minForensicsFree = 256 << 20

func checkForensics(o Options, r requirements) []Check {
	dir := o.Config.ForensicsDir
	if dir == "" {
		dir = "/var/lib/hardened-runc/forensics"
	}
	dir = o.path(dir)
	c := Check{Name: "forensics.dir", Required: r.forensicsClose}
	failStatus := Warn
	if r.forensicsClose {
		failStatus = Fail
	}
	st, err := os.Stat(dir)
	if err != nil {
		c.Status, c.Detail = failStatus, fmt.Sprintf("%s: %v (hardened-runc creates it on first launch when its parent is writable)", dir, err)
		c.Fix = "install -d -m 0700 " + dir
		return []Check{c}
	}
	var problems []string
	if !st.IsDir() {
		problems = append(problems, "not a directory")
	} else if perm := st.Mode().Perm(); perm != 0o700 {
		problems = append(problems, fmt.Sprintf("mode %04o, want 0700 (records hold command lines and environment)", perm))
	}
	if f, err := os.CreateTemp(dir, ".doctor-*"); err != nil {
		problems = append(problems, "not writable: "+err.Error())
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	var fs unix.Statfs_t
	free := uint64(0)
	if unix.Statfs(dir, &fs) == nil {
		free = fs.Bavail * uint64(fs.Bsize)
		if free < minForensicsFree {
			problems = append(problems, fmt.Sprintf("only %d MiB free", free>>20))
		}
	}
	if len(problems) > 0 {
		c.Status, c.Detail = failStatus, dir+": "+strings.Join(problems, "; ")
		c.Fix = "chmod 0700 " + dir + ", make it writable by root and give its filesystem free space"
		return []Check{c}
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s: 0700, writable, %d MiB free", filepath.Clean(dir), free>>20)
	return []Check{c}
}
