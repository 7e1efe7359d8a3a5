package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/version"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print hardenctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := map[string]string{"version": version.Version}
			return emit(cmd, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "hardenctl version %s\n", version.Version)
				return err
			})
		},
	}
}
