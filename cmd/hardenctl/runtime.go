package main

import "github.com/spf13/cobra"

// Placeholder until the runtime command group lands.
func newRuntimeCmd() *cobra.Command {
	return &cobra.Command{Use: "runtime", Short: "configure container engines to use hardened-runc (not built yet)"}
}
