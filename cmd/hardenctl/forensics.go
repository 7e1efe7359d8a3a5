package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func newForensicsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "forensics", Short: "forensic records: list, show, diff, verify, export, drift"}
	cmd.PersistentFlags().String("dir", "", "forensics directory (default: forensics_dir of the config)")
	list := &cobra.Command{Use: "list", Short: "list records, oldest first", Args: cobra.NoArgs, RunE: forensicsList}
	export := &cobra.Command{Use: "export", Short: "write records as NDJSON (the stored lines, hashes included) for a SIEM", Args: cobra.NoArgs, RunE: forensicsExport}
	addFilterFlags(list)
	addFilterFlags(export)
	export.Flags().StringP("file", "f", "", "write to FILE instead of stdout")
	diff := &cobra.Command{Use: "diff ID", Short: "show what hardening changed: diff -u of the original and hardened spec", Args: cobra.ExactArgs(1), RunE: forensicsDiff}
	diff.Flags().Uint64("seq", 0, "diff this record instead of the container's newest one with a spec")
	verify := &cobra.Command{Use: "verify", Short: "check the hash chain across all files, and against the witness; exits 1 if a record was altered, removed, reordered, rewritten or truncated", Args: cobra.NoArgs, RunE: forensicsVerify}
	verify.Flags().String("witness", "", `witness lines to compare with: a file (forensics_witness.file, a syslog file, journalctl output), "-" for stdin or "journald" (default: forensics_witness.file of the config)`)
	drift := &cobra.Command{Use: "drift", Short: "running containers launched under a profile other than the one in force now", Args: cobra.NoArgs, RunE: forensicsDrift}
	drift.Flags().StringSlice("root", lower.StateRoots(), "lower runtime state directories to scan (globs allowed)")
	cmd.AddCommand(
		list,
		&cobra.Command{Use: "show ID", Short: "every record of one container, newest first", Args: cobra.ExactArgs(1), RunE: forensicsShow},
		diff,
		verify,
		export,
		drift,
	)
	return cmd
}

func addFilterFlags(c *cobra.Command) {
	f := c.Flags()
	f.String("id", "", "container id prefix")
	f.String("since", "", "records at or after: RFC 3339 time, date (2006-01-02) or duration ago (24h)")
	f.String("until", "", "records at or before (same forms as --since)")
	f.StringSlice("verb", nil, "verbs (create, run, exec, start, kill, delete, update, restore)")
	f.String("decision", "", resultNames())
	f.String("profile", "", "profile name")
	f.String("image", "", "image name contains")
	f.String("pod", "", "Kubernetes pod: namespace/name or name")
}

func filterFromFlags(cmd *cobra.Command) (forensics.Filter, error) {
	f := cmd.Flags()
	var flt forensics.Filter
	flt.IDPrefix, _ = f.GetString("id")
	flt.Verbs, _ = f.GetStringSlice("verb")
	decision, _ := f.GetString("decision")
	flt.Decision = forensics.Result(decision)
	flt.Profile, _ = f.GetString("profile")
	flt.Image, _ = f.GetString("image")
	flt.Pod, _ = f.GetString("pod")
	var err error
	if flt.Since, err = timeFlag(cmd, "since"); err != nil {
		return flt, err
	}
	if flt.Until, err = timeFlag(cmd, "until"); err != nil {
		return flt, err
	}
	if flt.Decision != "" && !slices.Contains(forensics.Results(), flt.Decision) {
		return flt, fmt.Errorf("--decision %q: use %s", decision, resultNames())
	}
	return flt, nil
}

// resultNames lists the decisions a record can hold: "allowed, denied, ...".
func resultNames() string {
	results := forensics.Results()
	names := make([]string, len(results))
	for i, r := range results {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// timeFlag parses an absolute time, a date or a duration before now.
func timeFlag(cmd *cobra.Command, name string) (time.Time, error) {
	v, _ := cmd.Flags().GetString(name)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: not a time (2006-01-02T15:04:05Z), date or duration", name, v)
}

// releaseWait bounds how long hardenctl waits for deletes still
// releasing before it reads records.
const releaseWait = 10 * time.Second

// forensicsStore opens the store named by --dir or the config. The store
// first gets what the fast path spooled onto its chain
// (forensics.Store.Fold), so nothing recorded is missing from what is
// read; the configured store's additions are witnessed as the runtime
// witnesses. A store that cannot be written (a read-only copy being
// examined) is read as it is, with a warning.
func forensicsStore(cmd *cobra.Command) (*forensics.Store, error) {
	dir, _ := cmd.Flags().GetString("dir")
	cfg, err := loadConfig(cmd)
	if dir == "" {
		if err != nil {
			return nil, err
		}
		dir = cfg.ForensicsDir
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("forensics directory: %w", err)
	}
	if cfg != nil {
		// A delete returns before its record is written: what deletes
		// are still releasing is waited for, so a record read right after
		// `docker stop` is there.
		pending, err := inflight.WaitAll(cfg.RunDir, releaseWait)
		switch {
		case err != nil:
			fmt.Fprintf(cmd.ErrOrStderr(), "hardenctl: %v: the records of deletes still releasing may be missing\n", err)
		case len(pending) > 0:
			fmt.Fprintf(cmd.ErrOrStderr(), "hardenctl: the delete of %s is still releasing after %v: its record may be missing\n", strings.Join(pending, ", "), releaseWait)
		}
	}
	configured := cfg != nil && filepath.Clean(cfg.ForensicsDir) == filepath.Clean(dir)
	if !configured {
		st := forensics.New(dir, forensics.Options{})
		if _, err := st.Fold(); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "hardenctl: records the fast path spooled in %s are not on the chain: %v\n", dir, err)
		}
		return st, nil
	}
	st := forensics.New(dir, forensics.RetentionOptions(cfg.ForensicsRetention))
	rc, err := st.Fold()
	if err == nil {
		err = forensics.WriteWitness(cfg.ForensicsWitness, dir, rc.Folded...)
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "hardenctl: records the fast path spooled in %s are not all on the chain and witnessed: %v\n", dir, err)
	}
	return st, nil
}

// recordSummary is one line of `list` in text form.
type recordSummary struct {
	Seq      uint64
	Time     time.Time
	Verb     string
	ID       string
	Decision forensics.Result
	Rule     string
	Profile  string
	Image    string
	Pod      string
	Caller   string
	Changes  int
}

func summarize(r *forensics.Record) recordSummary {
	s := recordSummary{Seq: r.Seq, Time: r.Time, Verb: r.Verb, ID: r.ContainerID, Decision: r.Decision.Result,
		Rule: r.Decision.Rule, Profile: r.ProfileName(), Image: r.ImageName(), Pod: r.Pod(), Changes: len(r.Changes)}
	if r.Caller != nil {
		s.Caller = r.Caller.Manager
		if s.Caller == "" {
			s.Caller = r.Caller.Exe
		}
	}
	return s
}

// storeAndFilter opens the store and reads the filter flags.
func storeAndFilter(cmd *cobra.Command) (*forensics.Store, forensics.Filter, error) {
	st, err := forensicsStore(cmd)
	if err != nil {
		return nil, forensics.Filter{}, err
	}
	flt, err := filterFromFlags(cmd)
	return st, flt, err
}

func forensicsList(cmd *cobra.Command, _ []string) error {
	st, flt, err := storeAndFilter(cmd)
	if err != nil {
		return err
	}
	// JSON gets the records themselves, without the documents and host
	// facts (show and export have those); text gets one line each.
	recs := []*forensics.Record{}
	if err := st.Summaries(flt, func(r *forensics.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		return err
	}
	return emit(cmd, recs, func(w io.Writer) error {
		out := make([]recordSummary, len(recs))
		for i, r := range recs {
			out[i] = summarize(r)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tVERB\tCONTAINER\tDECISION\tPROFILE\tCHANGES\tIMAGE\tPOD\tCALLER")
		for _, s := range out {
			dec := string(s.Decision)
			if s.Rule != "" {
				dec += " (" + s.Rule + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Seq, s.Time.Format("2006-01-02 15:04:05.000"),
				s.Verb, shortID(s.ID), dec, s.Profile, s.Changes, s.Image, s.Pod, s.Caller)
		}
		return tw.Flush()
	})
}

func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

// containerRecords reads every record of one container from the store the
// command names.
func containerRecords(cmd *cobra.Command, id string) ([]*forensics.Record, error) {
	st, err := forensicsStore(cmd)
	if err != nil {
		return nil, err
	}
	return st.Container(id)
}

func forensicsShow(cmd *cobra.Command, args []string) error {
	recs, err := containerRecords(cmd, args[0])
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("no records for container %q", args[0])
	}
	return emit(cmd, recs, func(w io.Writer) error {
		for i, r := range recs {
			if i > 0 {
				fmt.Fprintln(w)
			}
			showRecord(w, r)
		}
		return nil
	})
}

func showRecord(w io.Writer, r *forensics.Record) {
	fmt.Fprintf(w, "#%d %s %s %s: %s\n", r.Seq, r.Time.Format(time.RFC3339Nano), r.Verb, r.ContainerID, r.Decision.Result)
	if r.Decision.Rule != "" || r.Decision.Reason != "" {
		fmt.Fprintf(w, "  decision:  %s %s: %s\n", r.Decision.Modifier, r.Decision.Rule, r.Decision.Reason)
	}
	fmt.Fprintf(w, "  argv:      %s\n", strings.Join(r.Argv, " "))
	if r.Bundle != "" {
		fmt.Fprintf(w, "  bundle:    %s\n", r.Bundle)
	}
	if r.Profile != nil {
		fmt.Fprintf(w, "  profile:   %s (%s, %s)\n", r.Profile.Name, r.Profile.Mode, r.Profile.Hash)
	}
	if r.Lower != nil {
		fmt.Fprintf(w, "  lower:     %s %s\n", r.Lower.Path, r.Lower.Version)
	}
	if c := r.Caller; c != nil {
		fmt.Fprintf(w, "  caller:    pid %d %s [%s] manager=%s\n", c.PID, c.Exe, strings.Join(c.Cmdline, " "), c.Manager)
	}
	if e := r.Engine; e != nil {
		fmt.Fprintf(w, "  engine:    %s namespace=%s pod=%s container=%s image=%s %s\n", e.Name, e.Namespace, r.Pod(), e.ContainerName, e.Image, e.ImageDigest)
		if e.Evidence != "" {
			fmt.Fprintf(w, "  evidence:  %s; trusted keys: %s\n", e.Evidence, strings.Join(e.Trusted, ", "))
		}
		for _, k := range slices.Sorted(maps.Keys(e.Claimed)) {
			fmt.Fprintf(w, "  claimed:   %s=%s (not vouched for by the engine: not used)\n", k, e.Claimed[k])
		}
	}
	for _, d := range []*forensics.Document{r.Original, r.Hardened} {
		if d != nil {
			red := ""
			if len(d.Redacted) > 0 {
				red = " redacted: " + strings.Join(d.Redacted, ",")
			}
			fmt.Fprintf(w, "  document:  %s %d bytes %s%s\n", d.Kind, d.Size, d.SHA256, red)
		}
	}
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  change:    %s\n", c)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note:      %s\n", n)
	}
	if h := r.Host; h != nil {
		fmt.Fprintf(w, "  host:      kernel %s, lsm %q, cgroup %s, userns_clone=%s max_user_namespaces=%s bpf_disabled=%s perf_paranoid=%s userfaultfd=%s\n",
			h.Kernel, h.LSMs, h.Cgroup, h.UnprivilegedUsernsClone, h.MaxUserNamespaces, h.UnprivilegedBPFDisabled, h.PerfEventParanoid, h.UnprivilegedUserfaultfd)
	}
	if r.Repair != nil {
		fmt.Fprintf(w, "  repair:    %+v\n", *r.Repair)
	}
	fmt.Fprintf(w, "  hash:      %s (prev %s)\n", r.Hash, r.Prev)
}

// diffResult is `diff --output json`.
type diffResult struct {
	Seq      uint64 `json:"seq"`
	ID       string `json:"container_id"`
	Verb     string `json:"verb"`
	Original string `json:"original_sha256,omitempty"`
	Hardened string `json:"hardened_sha256,omitempty"`
	Diff     string `json:"diff"`
}

func forensicsDiff(cmd *cobra.Command, args []string) error {
	recs, err := containerRecords(cmd, args[0])
	if err != nil {
		return err
	}
	seq, _ := cmd.Flags().GetUint64("seq")
	var rec *forensics.Record
	for _, r := range recs {
		if (seq == 0 && r.Original != nil) || (seq != 0 && r.Seq == seq) {
			rec = r
			break
		}
	}
	if rec == nil {
		return fmt.Errorf("no record with a spec for container %q", args[0])
	}
	text, err := forensics.DiffDocuments(rec.Original, rec.Hardened, "original", "hardened")
	if err != nil {
		return err
	}
	res := diffResult{Seq: rec.Seq, ID: rec.ContainerID, Verb: rec.Verb, Diff: text}
	if rec.Original != nil {
		res.Original = rec.Original.SHA256
	}
	if rec.Hardened != nil {
		res.Hardened = rec.Hardened.SHA256
	}
	return emit(cmd, res, func(w io.Writer) error {
		switch {
		case rec.Hardened == nil:
			fmt.Fprintf(w, "# record %d (%s, %s): no hardened spec was written\n", rec.Seq, rec.Verb, rec.Decision.Result)
		case text == "":
			fmt.Fprintf(w, "# record %d (%s): hardening changed nothing\n", rec.Seq, rec.Verb)
		}
		_, err := io.WriteString(w, text)
		return err
	})
}

func forensicsVerify(cmd *cobra.Command, _ []string) error {
	st, err := forensicsStore(cmd)
	if err != nil {
		return err
	}
	res, err := st.Verify()
	if err != nil {
		return err
	}
	source, err := checkWitness(cmd, st, res)
	if err != nil {
		return err
	}
	err = emit(cmd, res, func(w io.Writer) error {
		for _, p := range res.Problems {
			fmt.Fprintf(w, "PROBLEM %s\n", p)
		}
		for _, p := range res.Warnings {
			fmt.Fprintf(w, "warning %s\n", p)
		}
		from := "seq 1"
		if res.Anchor != nil {
			from = fmt.Sprintf("anchor %d (%s, removed %s: %s)", res.Anchor.Seq, res.Anchor.File, res.Anchor.Removed.Format(time.RFC3339), res.Anchor.Reason)
		}
		fmt.Fprintf(w, "%d records in %d files, from %s to seq %d, last hash %s\n", res.Records, len(res.Files), from, res.LastSeq, res.LastHash)
		if source != "" {
			fmt.Fprintf(w, "witness: %d lines for this store in %s\n", res.Witnessed, source)
		}
		if res.OK() {
			fmt.Fprintln(w, "chain intact")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !res.OK() {
		return withExit(1, fmt.Errorf("chain broken: %s", res.Problems[0]))
	}
	return nil
}

// checkWitness compares the store with the witness named by --witness, or
// by the config's forensics_witness.file when the store is the config's,
// and returns where the witness was read ("" when there is none).
func checkWitness(cmd *cobra.Command, st *forensics.Store, res *forensics.VerifyResult) (string, error) {
	source, _ := cmd.Flags().GetString("witness")
	if source == "" {
		cfg, err := loadConfig(cmd)
		if err != nil || cfg.ForensicsWitness.File == "" || !sameDir(cfg.ForensicsDir, st.Dir()) {
			return "", nil
		}
		source = cfg.ForensicsWitness.File
	}
	r, closeWitness, err := openWitness(cmd, source)
	if errors.Is(err, os.ErrNotExist) {
		res.Warnings = append(res.Warnings, forensics.Problem{Kind: forensics.Unwitnessed, File: source, Detail: "the witness file does not exist"})
		return source, nil
	}
	if err != nil {
		return "", err
	}
	defer closeWitness()
	entries, err := forensics.ReadWitness(r, st.Dir())
	if err != nil {
		return "", err
	}
	return source, st.CheckWitness(entries, res)
}

// openWitness opens a witness source: "-" is stdin, "journald" the
// journal's hardened-runc lines, anything else a file.
func openWitness(cmd *cobra.Command, source string) (io.Reader, func(), error) {
	switch source {
	case "-":
		return cmd.InOrStdin(), func() {}, nil
	case "journald":
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "journalctl", "--no-pager", "--output", "cat", "SYSLOG_IDENTIFIER=hardened-runc").Output()
		if err != nil {
			return nil, nil, fmt.Errorf("witness: journalctl: %w", err)
		}
		return bytes.NewReader(out), func() {}, nil
	}
	f, err := os.Open(source)
	if err != nil {
		return nil, nil, fmt.Errorf("witness: %w", err)
	}
	return f, func() { f.Close() }, nil
}

func sameDir(a, b string) bool {
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && a == b
}

func forensicsExport(cmd *cobra.Command, _ []string) error {
	st, flt, err := storeAndFilter(cmd)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if path, _ := cmd.Flags().GetString("file"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := st.Export(flt, bw); err != nil {
		return err
	}
	return bw.Flush()
}

func forensicsDrift(cmd *cobra.Command, _ []string) error {
	st, err := forensicsStore(cmd)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	roots, _ := cmd.Flags().GetStringSlice("root")
	running, err := lower.RunningContainers("/proc", roots)
	if err != nil {
		return err
	}
	profiles := policy.Store{Dir: cfg.ProfilesDir}
	cache := map[string]*policy.Profile{}
	current := func(name string) (*policy.Profile, error) {
		if p, ok := cache[name]; ok {
			return p, nil
		}
		p, err := profiles.Load(name)
		if err != nil {
			return nil, err
		}
		cache[name] = p
		return p, nil
	}
	drift, err := st.FindDrift(running, current)
	if err != nil {
		return err
	}
	if drift == nil {
		drift = []forensics.Drift{}
	}
	return emit(cmd, drift, func(w io.Writer) error {
		fmt.Fprintf(w, "%d running containers, %d not under the profile in force\n", len(running), len(drift))
		for _, d := range drift {
			fmt.Fprintf(w, "%s (pid %d, %s)", d.ID, d.PID, d.Root)
			if d.Problem != "" {
				fmt.Fprintf(w, ": %s\n", d.Problem)
				continue
			}
			fmt.Fprintf(w, ": launched %s under %q %s, now %s\n", d.Launched.Format(time.RFC3339), d.Profile, d.LaunchHash, d.CurrentHash)
			for _, diff := range d.Differences {
				fmt.Fprintf(w, "    %s\n", diff)
			}
		}
		return nil
	})
}
