package main

import "github.com/spf13/cobra"

// Placeholder until the apparmor command group lands.
func newAppArmorCmd() *cobra.Command {
	return &cobra.Command{Use: "apparmor", Short: "AppArmor profiles: show, validate (not built yet)"}
}
