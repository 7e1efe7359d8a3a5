package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/doctor"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// Exit status of `hardenctl doctor` when a selected profile's required
// setting cannot be met on this host.
const exitUnmet = 3

func newDoctorCmd() *cobra.Command {
	var profiles []string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "report what this host can enforce; exits 3 when a selected profile's requirements are not met",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			selected, err := doctorProfiles(cfg, profiles)
			if err != nil {
				return err
			}
			checks := doctor.Run(doctor.Options{Config: cfg, Profiles: selected})
			if err := emit(cmd, checks, func(w io.Writer) error { return printChecks(w, checks) }); err != nil {
				return err
			}
			if unmet := doctor.Unmet(checks); len(unmet) > 0 {
				return withExit(exitUnmet, fmt.Errorf("%d required check(s) failed: this host cannot enforce the selected profiles", len(unmet)))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&profiles, "profile", nil, "profiles whose requirements to check (default: default_profile and every profile named by a [[select]] rule)")
	return cmd
}

func doctorProfiles(cfg *policy.Config, names []string) ([]*policy.Profile, error) {
	if len(names) == 0 {
		seen := map[string]bool{}
		for _, n := range append([]string{cfg.DefaultProfile}, selectedNames(cfg)...) {
			if n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	store := policy.Store{Dir: cfg.ProfilesDir}
	var out []*policy.Profile
	for _, n := range names {
		p, err := store.Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func selectedNames(cfg *policy.Config) []string {
	var names []string
	for _, r := range cfg.Select {
		names = append(names, r.Profile)
	}
	return names
}

func printChecks(w io.Writer, checks []doctor.Check) error {
	for _, c := range checks {
		req := ""
		if c.Required {
			req = " [required]"
		}
		fmt.Fprintf(w, "%-5s %-36s %s%s\n", c.Status, c.Name, c.Detail, req)
		if c.Fix != "" && c.Status != doctor.OK {
			fmt.Fprintf(w, "      %-36s fix: %s\n", "", c.Fix)
		}
	}
	return nil
}
