package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/enginestate"
)

// newWhyCmd names the controls behind a container's failure from its id
// alone: its forensic records (what was enforced, audited or denied), the
// audit evidence collected at delete, and, under Docker, the error lines of
// its own log that match each control.
func newWhyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "why ID", Short: "which hardening control broke (or would break) a container, and how to allow it", Args: cobra.ExactArgs(1), RunE: why}
	cmd.Flags().String("dir", "", "forensics directory (default: forensics_dir of the config)")
	cmd.Flags().Int("log-lines", 500, "last lines of the container's Docker log to match against the controls' errors")
	return cmd
}

func why(cmd *cobra.Command, args []string) error {
	recs, err := containerRecords(cmd, args[0])
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("no records for container %q", args[0])
	}
	slices.Reverse(recs) // oldest first
	var logLines []string
	n, _ := cmd.Flags().GetInt("log-lines")
	for i := len(recs) - 1; i >= 0 && logLines == nil; i-- {
		if s := audit.OriginalSpec(recs[i]); s != nil {
			logLines = enginestate.DockerLog(s, recs[i].ContainerID, n)
		}
	}
	causes := audit.Why(recs, logLines)
	return emit(cmd, causes, func(w io.Writer) error {
		if len(causes) == 0 {
			fmt.Fprintln(w, "no hardening control broke or would break this container on record")
			return nil
		}
		for _, c := range causes {
			fmt.Fprintf(w, "%s (%s): %s\n", c.Control, c.Mode, c.Effect)
			for _, e := range c.Evidence {
				fmt.Fprintf(w, "    %s\n", e)
			}
			if c.Fix != "" {
				fmt.Fprintf(w, "  to allow: %s\n", c.Fix)
			}
		}
		return nil
	})
}
