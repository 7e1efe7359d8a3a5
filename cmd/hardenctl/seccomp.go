package main

import "github.com/spf13/cobra"

// Placeholder until the seccomp command group lands.
func newSeccompCmd() *cobra.Command {
	return &cobra.Command{Use: "seccomp", Short: "seccomp profiles: validate, show, learn (not built yet)"}
}
