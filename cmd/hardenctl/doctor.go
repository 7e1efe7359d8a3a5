package main

import "github.com/spf13/cobra"

// Placeholder until the doctor command group lands.
func newDoctorCmd() *cobra.Command {
	return &cobra.Command{Use: "doctor", Short: "report what this host can enforce (not built yet)"}
}
