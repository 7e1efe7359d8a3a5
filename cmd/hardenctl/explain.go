package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func newExplainCmd() *cobra.Command {
	var bundle, profile, id string
	cmd := &cobra.Command{
		Use:   "explain --bundle DIR [--profile NAME]",
		Short: "dry-run the hardening pipeline on a bundle: every change and why, nothing written",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := explain(cmd, wrapper.ExplainOptions{Bundle: bundle, Profile: profile, ContainerID: id})
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

// explain runs the runtime's own apply path on a bundle in dry-run, with the
// config named on the command line: every command that shows what the
// pipeline does to a bundle goes through it.
func explain(cmd *cobra.Command, o wrapper.ExplainOptions) (*wrapper.Explanation, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	o.Config, o.Pipeline = cfg, pipeline.New
	o.Self, _ = os.Executable()
	return wrapper.Explain(o)
}

// explainBundle is explain for commands that only take a bundle, a profile
// and a lower runtime version.
func explainBundle(cmd *cobra.Command, bundle, profile, lowerVersion string) (*wrapper.Explanation, error) {
	return explain(cmd, wrapper.ExplainOptions{Bundle: bundle, Profile: profile, LowerVersion: lowerVersion})
}

// explanationError is why an explanation has no hardened spec.
func explanationError(e *wrapper.Explanation) error {
	switch {
	case e.Denial != nil:
		return fmt.Errorf("%s (profile %q): %s", e.Bundle, e.Profile, e.Denial.Error())
	case e.Error != "":
		return fmt.Errorf("%s (profile %q): %s", e.Bundle, e.Profile, e.Error)
	}
	return fmt.Errorf("%s: profile %q is %s: the pipeline does not run", e.Bundle, e.Profile, e.Mode)
}

func explainText(w io.Writer, e *wrapper.Explanation) error {
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
