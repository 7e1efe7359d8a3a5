package main

import "github.com/spf13/cobra"

// Placeholder until the runtime pipeline lands.
func newExplainCmd() *cobra.Command {
	return &cobra.Command{Use: "explain", Short: "dry-run the hardening pipeline on a bundle (not built yet)"}
}
