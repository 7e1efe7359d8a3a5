package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hardened-runc/hardened-runc/libhardening/engine"
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
