package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func newProfileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "list, show and validate policy profiles"}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "list the profiles (profiles directory and built-in)",
			Args:  cobra.NoArgs,
			RunE:  profileList,
		},
		&cobra.Command{
			Use:   "show NAME",
			Short: "print a profile with every inherited value resolved",
			Args:  cobra.ExactArgs(1),
			RunE:  profileShow,
		},
		newProfileReferenceCmd(),
		&cobra.Command{
			Use:   "validate NAME|FILE...",
			Short: "check profiles; errors name the file, line and field",
			Args:  cobra.MinimumNArgs(1),
			RunE:  profileValidate,
		},
	)
	return cmd
}

type profileSummary struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	Mode        string `json:"mode"`
	Hash        string `json:"hash"`
	Description string `json:"description"`
	Error       string `json:"error,omitempty"`
}

func profileStore(cmd *cobra.Command) (policy.Store, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return policy.Store{}, err
	}
	return policy.Store{Dir: cfg.ProfilesDir}, nil
}

func profileList(cmd *cobra.Command, _ []string) error {
	st, err := profileStore(cmd)
	if err != nil {
		return err
	}
	names, err := st.List()
	if err != nil {
		return err
	}
	var out []profileSummary
	for _, n := range names {
		p, err := st.Load(n)
		if err != nil {
			out = append(out, profileSummary{Name: n, Error: err.Error()})
			continue
		}
		out = append(out, profileSummary{Name: n, Source: p.Source, Mode: string(p.Mode), Hash: p.Hash, Description: p.Description})
	}
	return emit(cmd, out, func(w io.Writer) error {
		for _, s := range out {
			if s.Error != "" {
				fmt.Fprintf(w, "%-14s INVALID  %s\n", s.Name, s.Error)
				continue
			}
			fmt.Fprintf(w, "%-14s %-8s %-40s %s\n", s.Name, s.Mode, s.Source, s.Description)
		}
		return nil
	})
}

func profileShow(cmd *cobra.Command, args []string) error {
	st, err := profileStore(cmd)
	if err != nil {
		return err
	}
	p, err := st.Load(args[0])
	if err != nil {
		return err
	}
	return emit(cmd, p, func(w io.Writer) error {
		fmt.Fprintf(w, "# profile %s from %s (%s)\n", p.Name, p.Source, p.Hash)
		return toml.NewEncoder(w).Encode(p)
	})
}

// profileValidate accepts profile names or paths to .toml files; a path is
// validated as if it were installed in its own directory.
func profileValidate(cmd *cobra.Command, args []string) error {
	st, err := profileStore(cmd)
	if err != nil {
		return err
	}
	var out []profileSummary
	bad := 0
	for _, a := range args {
		s, name := st, a
		if strings.HasSuffix(a, ".toml") || strings.Contains(a, "/") {
			if _, err := os.Stat(a); err != nil {
				return err
			}
			s = policy.Store{Dir: filepath.Dir(a)}
			name = strings.TrimSuffix(filepath.Base(a), ".toml")
		}
		p, err := s.Load(name)
		if err != nil {
			bad++
			out = append(out, profileSummary{Name: a, Error: err.Error()})
			continue
		}
		out = append(out, profileSummary{Name: a, Source: p.Source, Mode: string(p.Mode), Hash: p.Hash})
	}
	err = emit(cmd, out, func(w io.Writer) error {
		for _, s := range out {
			if s.Error != "" {
				fmt.Fprintf(w, "%s: INVALID: %s\n", s.Name, s.Error)
			} else {
				fmt.Fprintf(w, "%s: ok (%s)\n", s.Name, s.Hash)
			}
		}
		return nil
	})
	if err == nil && bad > 0 {
		return withExit(1, fmt.Errorf("%d of %d profiles invalid", bad, len(args)))
	}
	return err
}
