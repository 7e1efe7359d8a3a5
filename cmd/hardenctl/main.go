// Command hardenctl is the admin CLI of hardened-runc: profiles, explain,
// seccomp, apparmor, forensics, engine configuration and the host doctor.
// Each command group lives in its own file; the work is in libhardening.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hardenctl:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hardenctl",
		Short:         "Administer hardened-runc: profiles, explain, seccomp, apparmor, forensics, engines, doctor",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("output", "o", "text", "output format: text or json")
	root.PersistentFlags().String("config", "", "config file (default $HARDENED_RUNC_CONFIG or /etc/hardened-runc/config.toml)")
	root.AddCommand(
		newVersionCmd(),
		newProfileCmd(),
		newExplainCmd(),
		newSeccompCmd(),
		newAppArmorCmd(),
		newForensicsCmd(),
		newRuntimeCmd(),
		newDoctorCmd(),
		newGCCmd(),
		newImageCmd(),
		newWhyCmd(),
	)
	return root
}
