package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/userns"
)

func newGCCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "release idmapped root filesystems and ID ranges of containers that no longer exist",
		Long: `gc releases what hardened-runc set up for containers that are gone without a
delete through hardened-runc (a foreground "runc run" that exited, a create
that failed, a lower runtime state directory that was wiped), and repairs
what a crash of hardened-runc left: an engine's overlay (Docker's merged
directory, containerd's task rootfs) still replaced by the idmapped one is
put back, and a writable layer still owned by the container's range is
shifted back to container IDs (docs/userns.md). Every create does the same
before allocating; gc does it now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			released, err := userns.GC(cfg.RunDir, nil)
			if err != nil {
				return err
			}
			if released == nil {
				released = []userns.Entry{}
			}
			return emit(cmd, released, func(w io.Writer) error {
				for _, e := range released {
					fmt.Fprintf(w, "released %s (uid %d-%d, root %s)\n", e.ID, e.HostUID, e.HostUID+e.Size-1, e.Root)
				}
				fmt.Fprintf(w, "%d containers released\n", len(released))
				return nil
			})
		},
	}
}
