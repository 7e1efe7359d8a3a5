package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/engine"
)

func newRuntimeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "configure container engines (docker, containerd, crio, podman) to use hardened-runc",
	}
	cmd.AddCommand(newRuntimeEditCmd("configure", engine.Configure,
		"register hardened-runc with an engine (atomic write, original kept as <file>"+engine.BackupSuffix+")"))
	cmd.AddCommand(newRuntimeEditCmd("unconfigure", engine.Unconfigure,
		"remove hardened-runc from an engine's config, restoring the original bytes when nothing else changed"))
	return cmd
}

type runtimeFlags struct {
	runtime, config, dropIn, name, path string
	setDefault, dryRun                  bool
}

func newRuntimeEditCmd(use string, op func(engine.Options) (*engine.Plan, error), short string) *cobra.Command {
	var f runtimeFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRuntimeEdit(cmd, op, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runtime, "runtime", "", "engine: docker, containerd, crio, podman or all (required)")
	// --config is hardenctl's own persistent flag; the engine file is --engine-config,
	// with --config-file as the spelling nvidia-ctk users know.
	fl.StringVar(&f.config, "engine-config", "", "the engine's config file (default: the engine's standard path)")
	fl.StringVar(&f.dropIn, "drop-in", "", "write a drop-in file instead of the main config ('"+engine.NoDropIn+"' to force the main file)")
	fl.StringVar(&f.name, "runtime-name", engine.DefaultRuntimeName, "name the engine knows the runtime by (a RuntimeClass handler)")
	fl.StringVar(&f.path, "runtime-path", engine.DefaultRuntimePath, "absolute path of hardened-runc")
	fl.BoolVar(&f.setDefault, "set-as-default", false, "make hardened-runc the engine's default runtime")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the resulting files, write nothing")
	_ = cmd.MarkFlagRequired("runtime")
	return cmd
}

// engineConfigFlag lets `--config PATH` after the verb mean the engine's
// file, as the issue and nvidia-ctk spell it, without clashing with the
// global --config (hardenctl's config.toml) that other commands read.
func engineConfigPath(cmd *cobra.Command, f runtimeFlags) string {
	if f.config != "" {
		return f.config
	}
	if cmd.Flags().Changed("config") {
		v, _ := cmd.Flags().GetString("config")
		return v
	}
	return ""
}

func runRuntimeEdit(cmd *cobra.Command, op func(engine.Options) (*engine.Plan, error), f runtimeFlags) error {
	kinds, err := runtimeKinds(f.runtime)
	if err != nil {
		return err
	}
	cfg := engineConfigPath(cmd, f)
	if len(kinds) > 1 && (cfg != "" || f.dropIn != "") {
		return fmt.Errorf("--runtime all: --config and --drop-in name one engine's file; configure engines one by one")
	}
	var plans []*engine.Plan
	for _, k := range kinds {
		p, err := op(engine.Options{
			Engine: k, Config: cfg, DropIn: f.dropIn, RuntimeName: f.name,
			RuntimePath: f.path, SetAsDefault: f.setDefault,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if !f.dryRun {
			if err := p.Apply(); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		plans = append(plans, p)
	}
	return emit(cmd, plans, func(w io.Writer) error { return printPlans(w, plans, f.dryRun) })
}

// runtimeKinds expands --runtime. "all" means every engine whose config
// directory exists, so it never creates /etc/crio on a host without CRI-O.
func runtimeKinds(s string) ([]engine.Kind, error) {
	if s == "all" {
		var kinds []engine.Kind
		for _, k := range engine.Kinds {
			if _, err := os.Stat(filepath.Dir(engine.DefaultConfigPath(k))); err == nil {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			return nil, fmt.Errorf("--runtime all: no engine config directory found (/etc/docker, /etc/containerd, /etc/crio, /etc/containers)")
		}
		return kinds, nil
	}
	var kinds []engine.Kind
	for _, name := range strings.Split(s, ",") {
		k, err := engine.ParseKind(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

func printPlans(w io.Writer, plans []*engine.Plan, dryRun bool) error {
	for _, p := range plans {
		if !p.Changed() {
			fmt.Fprintf(w, "%s: already as requested, nothing to do\n", p.Engine)
			continue
		}
		for _, c := range p.Changes {
			verb := "wrote"
			switch {
			case c.Remove:
				verb = "removed"
			case c.Restored:
				verb = "restored the original"
			}
			if dryRun {
				verb = "would have " + verb
			}
			fmt.Fprintf(w, "%s: %s %s\n", p.Engine, verb, c.Path)
			if dryRun && !c.Remove {
				fmt.Fprintf(w, "--- %s\n%s", c.Path, c.After)
				if len(c.After) > 0 && c.After[len(c.After)-1] != '\n' {
					fmt.Fprintln(w)
				}
				fmt.Fprintln(w, "---")
			}
		}
		for _, n := range p.Notes {
			fmt.Fprintf(w, "%s: note: %s\n", p.Engine, n)
		}
		switch {
		case dryRun:
		case p.Restart != "":
			fmt.Fprintf(w, "%s: run `%s` for the change to take effect\n", p.Engine, p.Restart)
		default:
			fmt.Fprintf(w, "%s: no restart needed (it reads its config on every command)\n", p.Engine)
		}
	}
	return nil
}
