package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/audit"
	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// newImageCmd is the rollout from audit to enforcement, per image: what
// the audited strict controls saw of each image, and a profile for it.
func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "per image: what audited strict controls saw, and a profile that enforces them"}
	cmd.PersistentFlags().String("dir", "", "forensics directory (default: forensics_dir of the config)")
	cmd.PersistentFlags().Int("min-launches", 3, "audited launches, observed to delete, before an image is ready for enforcement")
	profile := &cobra.Command{Use: "profile IMAGE", Short: "print a profile for IMAGE that enforces what was audited (read-only root with its directories as tmpfs, seccomp cuts less what it called)",
		Args: cobra.ExactArgs(1), RunE: imageProfile}
	profile.Flags().String("name", "", "profile name (default: img-<image>)")
	profile.Flags().String("base", policy.DefaultProfile, "profile the generated one extends")
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "launches, audited launches and findings per image, and which are ready for enforcement", Args: cobra.NoArgs, RunE: imageList},
		&cobra.Command{Use: "show IMAGE", Short: "everything audit saw of one image", Args: cobra.ExactArgs(1), RunE: imageShow},
		profile,
	)
	return cmd
}

// observe reads every create and delete record of the store.
func observe(cmd *cobra.Command) (*audit.Observer, error) {
	st, err := forensicsStore(cmd)
	if err != nil {
		return nil, err
	}
	o := audit.NewObserver()
	err = st.Records(forensics.Filter{Verbs: []string{"create", "run", "delete"}}, func(r *forensics.Record) error {
		o.Add(r)
		return nil
	})
	return o, err
}

func imageReports(cmd *cobra.Command) ([]*audit.ImageReport, error) {
	o, err := observe(cmd)
	if err != nil {
		return nil, err
	}
	min, _ := cmd.Flags().GetInt("min-launches")
	return o.Images(min), nil
}

func imageList(cmd *cobra.Command, _ []string) error {
	reps, err := imageReports(cmd)
	if err != nil {
		return err
	}
	return emit(cmd, reps, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tLAUNCHES\tAUDITED\tROOTFS WRITES\tSYSCALLS\tREADY")
		for _, r := range reps {
			ready := "yes"
			if !r.Ready {
				ready = "no: " + r.NotReady[0]
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", r.Image, r.Launches, r.Observed,
				orNone(r.WritableDirs(nil)), orNone(r.Syscalls()), ready)
		}
		return tw.Flush()
	})
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}

// findImage returns the report of an image by exact name.
func findImage(cmd *cobra.Command, image string) (*audit.ImageReport, error) {
	reps, err := imageReports(cmd)
	if err != nil {
		return nil, err
	}
	for _, r := range reps {
		if r.Image == image {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no launches of image %q on record (`hardenctl image list` shows the images)", image)
}

func imageShow(cmd *cobra.Command, args []string) error {
	r, err := findImage(cmd, args[0])
	if err != nil {
		return err
	}
	return emit(cmd, r, func(w io.Writer) error {
		fmt.Fprintf(w, "image:     %s\nlaunches:  %d (%d audited and deleted)\naudited:   %s\n", r.Image, r.Launches, r.Observed, orNone(r.Audited))
		for _, f := range r.Findings {
			fmt.Fprintf(w, "finding:   %s: %s (%s)\n", f.Control, f.What, f.Detail)
		}
		if r.Ready {
			fmt.Fprintln(w, "ready:     yes: `hardenctl image profile "+r.Image+"`")
		}
		for _, n := range r.NotReady {
			fmt.Fprintln(w, "not ready: "+n)
		}
		for _, n := range r.Warnings {
			fmt.Fprintln(w, "warning:   "+n)
		}
		return nil
	})
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func imageProfile(cmd *cobra.Command, args []string) error {
	r, err := findImage(cmd, args[0])
	if err != nil {
		return err
	}
	name, _ := cmd.Flags().GetString("name")
	if name == "" {
		name = "img-" + strings.Trim(unsafeName.ReplaceAllString(r.Image, "-"), "-")
	}
	baseName, _ := cmd.Flags().GetString("base")
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	base, err := policy.Store{Dir: cfg.ProfilesDir}.Load(baseName)
	if err != nil {
		return err
	}
	text := r.Profile(base, name)
	return emit(cmd, map[string]any{"name": name, "ready": r.Ready, "not_ready": r.NotReady, "profile": text}, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
}
