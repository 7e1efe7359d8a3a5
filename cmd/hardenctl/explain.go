package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/runtime"
)

func newExplainCmd() *cobra.Command {
	var bundle, profile, id string
	cmd := &cobra.Command{
		Use:   "explain --bundle DIR [--profile NAME]",
		Short: "dry-run the hardening pipeline on a bundle: every change and why, nothing written",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			self, _ := os.Executable()
			e, err := runtime.Explain(runtime.ExplainOptions{
				Config: cfg, Pipeline: pipeline.New, Bundle: bundle,
				Profile: profile, ContainerID: id, Self: self,
			})
			if err != nil {
				return err
			}
			return emit(cmd, e, func(w io.Writer) error { return explainText(w, e) })
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory (with config.json)")
	cmd.Flags().StringVar(&profile, "profile", "", "profile to apply (default: chosen by the config's selection rules)")
	cmd.Flags().StringVar(&id, "id", "", "container id, for selection rules that match on it")
	return cmd
}

func explainText(w io.Writer, e *runtime.Explanation) error {
	fmt.Fprintf(w, "bundle:   %s\nprofile:  %s (%s, mode %s, chosen by %s)\nlower:    %s %s\n",
		e.Bundle, e.Profile, e.ProfileHash, e.Mode, e.ProfileRule, e.Lower.Path, e.Lower.Version)
	fmt.Fprintf(w, "decision: %s\n", e.Decision)
	if e.Denial != nil {
		fmt.Fprintf(w, "denied:   %s: %s\n", e.Denial.Modifier, e.Denial.Error())
	}
	if e.Error != "" {
		fmt.Fprintf(w, "error:    %s\n", e.Error)
	}
	fmt.Fprintf(w, "\n%d changes:\n", len(e.Changes))
	for _, c := range e.Changes {
		fmt.Fprintf(w, "  [%s] %s\n      %s\n      rule %s", c.Modifier, c.Path, c.Reason, c.Rule)
		if c.Control != "" {
			fmt.Fprintf(w, "; %s", c.Control)
		}
		fmt.Fprintln(w)
	}
	for _, n := range e.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}
