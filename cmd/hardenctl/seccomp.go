package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/seccomp"
	"github.com/hardened-runc/hardened-runc/libhardening/seccomp/learn"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

func newSeccompCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seccomp",
		Short: "seccomp profiles: validate, show, generate, learn",
	}
	cmd.AddCommand(newSeccompValidateCmd(), newSeccompShowCmd(), newSeccompGenerateCmd(), newSeccompLearnCmd())
	return cmd
}

func newSeccompValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "resolve every syscall of a Docker-format JSON profile against libseccomp and compile it to BPF",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []*seccomp.Stats
			var errs []error
			for _, f := range args {
				data, err := os.ReadFile(f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				st, err := seccomp.ValidateFile(f, data)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				all = append(all, st)
			}
			err := emit(cmd, all, func(w io.Writer) error {
				for _, st := range all {
					fmt.Fprintf(w, "ok: %s: %d allowed, %d conditional, %d BPF instructions\n",
						st.Profile, len(st.Allowed), len(st.Conditional), st.BPFInstructions)
				}
				return nil
			})
			if len(errs) > 0 {
				return withExit(1, errors.Join(errs...))
			}
			return err
		},
	}
}

func newSeccompShowCmd() *cobra.Command {
	var bundle string
	cmd := &cobra.Command{
		Use:   "show --bundle DIR",
		Short: "count and list what the bundle's seccomp profile allows, conditions and denies on this architecture",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := spec.Load(bundle)
			if err != nil {
				return err
			}
			s := doc.Spec
			if s.Linux == nil || s.Linux.Seccomp == nil {
				return emit(cmd, map[string]any{"bundle": bundle, "seccomp": nil}, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%s: no seccomp profile: every syscall is allowed\n", bundle)
					return err
				})
			}
			st, err := seccomp.Validate(filepath.Join(bundle, "config.json"), s.Linux.Seccomp)
			if err != nil {
				return err
			}
			return emit(cmd, st, func(w io.Writer) error { return statsText(w, st) })
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory (with config.json)")
	return cmd
}

func statsText(w io.Writer, st *seccomp.Stats) error {
	fmt.Fprintf(w, "profile:          %s\ndefault action:   %s\narchitectures:    %s\n",
		st.Profile, st.DefaultAction, strings.Join(st.Arches, " "))
	fmt.Fprintf(w, "BPF instructions: %d (libseccomp %s)\n", st.BPFInstructions, st.Libseccomp)
	for _, l := range []struct {
		name  string
		names []string
	}{
		{"allowed", st.Allowed}, {"conditional", st.Conditional}, {"notified", st.Notified},
		{"denied", st.Denied}, {"unsupported by libseccomp", st.Unsupported},
	} {
		if len(l.names) == 0 && l.name != "allowed" {
			continue
		}
		fmt.Fprintf(w, "%s (%d):\n  %s\n", l.name, len(l.names), strings.Join(l.names, " "))
	}
	return nil
}

func newSeccompGenerateCmd() *cobra.Command {
	var bundle, profile, runcVersion string
	cmd := &cobra.Command{
		Use:   "generate --bundle DIR [--profile NAME]",
		Short: "print the seccomp profile hardened-runc would give the bundle's container",
		Long: "Run the hardening pipeline on DIR/config.json, as `hardenctl explain` does,\n" +
			"and print the seccomp profile of the hardened spec: the one the container\n" +
			"gets, computed against the capabilities and no-new-privileges the pipeline\n" +
			"leaves it. A bundle the policy denies prints the denial.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := explainBundle(cmd, bundle, profile, runcVersion)
			if err != nil {
				return err
			}
			if e.Spec == nil {
				return explanationError(e)
			}
			var sc any
			if e.Spec.Linux != nil && e.Spec.Linux.Seccomp != nil {
				sc = e.Spec.Linux.Seccomp
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(sc)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory (with config.json)")
	cmd.Flags().StringVar(&profile, "profile", "", "hardened-runc profile (default: chosen by the config's selection rules)")
	cmd.Flags().StringVar(&runcVersion, "runc-version", "", "lower runc version for the baseline (default: ask the configured runtime)")
	return cmd
}

type learnFlags struct {
	socket, out, profilesDir, bundle, runcVersion string
	count                                         int
	wait                                          time.Duration
}

func newSeccompLearnCmd() *cobra.Command {
	var f learnFlags
	cmd := &cobra.Command{
		Use:   "learn --out NAME (--socket PATH | --bundle DIR -- RUNTIME ARGS...)",
		Short: "record the syscalls of containers in learning mode and write a minimal profile to <profiles>/seccomp/NAME.json",
		Long: `learn is the seccomp agent of learning mode. runc hands it each container
process's seccomp notify fd; it lets every syscall continue, records the names
from the process's execve on, and merges them into <profiles>/seccomp/NAME.json
when the container exits (several runs merge).

With --socket it serves profiles in mode "learn" (their learn_socket must be the
same path) until interrupted or --count containers were recorded. With --bundle
it puts the learning profile into DIR/config.json, runs RUNTIME ARGS (e.g.
runc run -b DIR ID), and writes the profile when the container is gone.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runLearn(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.socket, "socket", "", "listener socket (default with --bundle: a temporary one)")
	fl.StringVar(&f.out, "out", "", "learned profile name (default: the hardened-runc profile name runc passes, then the container id)")
	fl.StringVar(&f.profilesDir, "profiles-dir", "", "profiles directory (default: the config's profiles_dir)")
	fl.StringVarP(&f.bundle, "bundle", "b", "", "run a container from this bundle in learning mode")
	fl.IntVar(&f.count, "count", 0, "with --socket: exit after this many container processes were recorded")
	fl.StringVar(&f.runcVersion, "runc-version", "", "with --bundle: lower runc version for the baseline")
	fl.DurationVar(&f.wait, "wait", 10*time.Second, "with --bundle: how long to wait, once the runtime returned, for the agent to write the profile")
	return cmd
}

func runLearn(cmd *cobra.Command, f learnFlags, args []string) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if f.profilesDir == "" {
		f.profilesDir = cfg.ProfilesDir
	}
	switch {
	case f.bundle == "" && f.socket == "":
		return errors.New("give --socket PATH (serve profiles in learning mode) or --bundle DIR -- RUNTIME ARGS")
	case f.bundle != "" && len(args) == 0:
		return errors.New("--bundle needs the command that runs the container after --, e.g. -- runc run -b DIR ID")
	case f.bundle == "" && len(args) > 0:
		return fmt.Errorf("unexpected arguments %q without --bundle", args)
	}
	cleanup := func() {}
	if f.socket == "" {
		dir, err := os.MkdirTemp("", "hardenctl-learn-")
		if err != nil {
			return err
		}
		cleanup = func() { os.RemoveAll(dir) }
		f.socket = filepath.Join(dir, "agent.sock")
	}
	defer cleanup()
	l, err := listenUnix(f.socket)
	if err != nil {
		return err
	}
	defer os.Remove(f.socket)

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var mu sync.Mutex
	var recs []learn.Recording
	lr := &learn.Agent{ProfilesDir: f.profilesDir, Out: f.out, Done: func(r learn.Recording) {
		mu.Lock()
		defer mu.Unlock()
		recs = append(recs, r)
		reportRecording(cmd.ErrOrStderr(), r)
		if f.count > 0 && len(recs) >= f.count {
			cancel()
		}
	}}
	served := make(chan error, 1)
	go func() { served <- lr.Serve(ctx, l) }()

	var runErr error
	if f.bundle != "" {
		runErr = learnBundle(cmd, f, cfg, args)
		// The container is gone when the runtime returns from `run`; give
		// the handlers a moment to see the hang-up and write the profile.
		waitRecordings(&mu, &recs, 1, f.wait)
		cancel()
	}
	if err := <-served; err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range recs {
		if r.Err != nil {
			return r.Err
		}
	}
	return runErr
}

func listenUnix(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(path) // a stale socket from an agent that was killed
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("seccomp agent: %w", err)
	}
	l.SetUnlinkOnClose(true)
	return l, nil
}

func reportRecording(w io.Writer, r learn.Recording) {
	if r.Err != nil {
		fmt.Fprintf(w, "hardenctl: seccomp learn: container %s: %v\n", r.ContainerID, r.Err)
		return
	}
	fmt.Fprintf(w, "learned %d syscalls from container %s (pid %d, %d notifications) into %s\n",
		len(r.Syscalls), r.ContainerID, r.Pid, r.Notifications, r.Path)
}

func waitRecordings(mu *sync.Mutex, recs *[]learn.Recording, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := len(*recs)
		mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// learnBundle writes the learning profile into the bundle's config.json
// (atomically, keeping every other field and the file's mode as they are)
// and runs the container.
func learnBundle(cmd *cobra.Command, f learnFlags, cfg *policy.Config, args []string) error {
	doc, err := spec.Load(f.bundle)
	if err != nil {
		return err
	}
	version := f.runcVersion
	if version == "" {
		// RUNTIME is usually a name ("runc"): probe the binary it runs.
		if path, err := lower.Resolve(args[0], "--runc-version"); err == nil {
			version = lower.Cached(path, cfg.RunDir).Version
		}
	}
	s := doc.Spec
	nnp := s.Process != nil && s.Process.NoNewPrivileges
	p, err := seccomp.LearnProfile(seccomp.Options{Baseline: seccomp.RuncBaseline(version, nnp)}, f.socket, f.out)
	if err != nil {
		return err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	s.Linux.Seccomp = p
	if _, err := doc.Write(); err != nil {
		return err
	}
	c := exec.CommandContext(cmd.Context(), args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return nil
}
