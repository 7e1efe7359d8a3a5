// Command wrapper is a minimal runc wrapper that applies only the userns
// modifier, for the package's own experiments and root tests; the product
// runtime is cmd/hardened-runc. Usage: HR_LOWER=<runc> HR_RUNDIR=<dir>
// HR_SUBID=<file> wrapper <runc args...>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

func main() {
	lower := os.Getenv("HR_LOWER")
	args := os.Args[1:]
	if err := run(lower, args); err != nil {
		fmt.Fprintln(os.Stderr, "wrapper:", err)
		logf("error: %v", err)
		os.Exit(1)
	}
	argv := append([]string{lower}, args...)
	if err := syscall.Exec(lower, argv, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	if p := os.Getenv("HR_LOG"); p != "" {
		f, _ := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintf(f, format+"\n", a...)
		f.Close()
	}
}

func run(lower string, args []string) error {
	logf("%v", args)
	var root, verb string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			verb = a
			break
		}
		switch a {
		case "--root", "--log", "--log-format", "--criu", "--rootless":
			if a == "--root" {
				root = args[i+1]
			}
			i++
		}
	}
	rest := args[i+1:]
	bundle, _ := os.Getwd()
	id := ""
	process := ""
	for k := 0; k < len(rest); k++ {
		switch rest[k] {
		case "--bundle", "-b":
			bundle = rest[k+1]
			k++
		case "--process", "-p":
			process = rest[k+1]
			k++
		case "--pid-file", "--console-socket", "--preserve-fds", "--cwd", "-u", "--user", "-e", "--env", "--cap", "--process-label", "--apparmor", "--criu":
			k++
		default:
			if !strings.HasPrefix(rest[k], "-") {
				id = rest[k]
			}
		}
	}
	sub := os.Getenv("HR_SUBID")
	m := userns.NewWithOptions(userns.Options{SubUIDFile: sub, SubGIDFile: sub})
	prof := &policy.Profile{Mode: policy.ModeEnforce, Userns: policy.Userns{Mode: "enabled", Size: 65536, SubIDUser: "hardened-runc", Fallback: "deny"}}
	ctx := &modifier.Context{Verb: verb, ContainerID: id, Bundle: bundle, Root: root, Profile: prof, RunDir: os.Getenv("HR_RUNDIR"),
		Lower: modifier.Lower{Path: lower, Features: &modifier.Features{IDMap: os.Getenv("HR_IDMAP") == "1"}}}
	switch verb {
	case "create", "run":
		path := filepath.Join(bundle, "config.json")
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := &specs.Spec{}
		if err := json.Unmarshal(data, s); err != nil {
			return err
		}
		r := &modifier.Report{}
		if err := m.Modify(ctx, s, r); err != nil {
			return err
		}
		for _, c := range r.Changes {
			logf("  %s", c)
		}
		out, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return err
		}
		if uid, gid, ok := userns.HostRoot(s); ok {
			return userns.PrepareStdio(uid, gid)
		}
	case "exec":
		if process == "" {
			return nil
		}
		data, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
		s := &specs.Spec{}
		json.Unmarshal(data, s)
		st, err := os.ReadFile(filepath.Join(root, id, "state.json"))
		if err == nil {
			var state struct {
				Config struct {
					UIDMappings []struct {
						HostID int `json:"host_id"`
					} `json:"uid_mappings"`
					GIDMappings []struct {
						HostID int `json:"host_id"`
					} `json:"gid_mappings"`
				} `json:"config"`
			}
			json.Unmarshal(st, &state)
			logf("exec mappings %v", state.Config.UIDMappings)
			if len(state.Config.UIDMappings) > 0 && len(state.Config.GIDMappings) > 0 {
				return userns.PrepareStdio(state.Config.UIDMappings[0].HostID, state.Config.GIDMappings[0].HostID)
			}
		}
	case "delete":
		return m.Cleanup(ctx)
	}
	return nil
}
