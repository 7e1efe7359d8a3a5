package main

import "github.com/spf13/cobra"

// Placeholder until the forensics command group lands.
func newForensicsCmd() *cobra.Command {
	return &cobra.Command{Use: "forensics", Short: "forensic records: list, show, diff, verify, export, drift (not built yet)"}
}
