package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/policy/reference"
)

// newProfileReferenceCmd is `hardenctl profile reference`: the policy
// reference of this binary, the text of docs/policy.md, so an admin reads
// the keys and built-in values of the version actually installed.
func newProfileReferenceCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reference",
		Short: "print every config.toml and profile key: type, built-in values, meaning (Markdown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := jsonOutput(cmd)
			if err != nil {
				return err
			}
			if asJSON {
				return errors.New("profile reference: the reference is Markdown; use `profile show NAME --output json` for values")
			}
			return reference.Reference(cmd.OutOrStdout())
		},
	}
}
