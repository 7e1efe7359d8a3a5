package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// exitError carries a specific exit status (e.g. `forensics verify` found
// tampering, `doctor` found an unmet requirement) without printing usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// withExit wraps err so hardenctl exits with code.
func withExit(code int, err error) error { return &exitError{code: code, err: err} }

// jsonOutput reports whether --output json was given.
func jsonOutput(cmd *cobra.Command) (bool, error) {
	o, _ := cmd.Flags().GetString("output")
	switch o {
	case "json":
		return true, nil
	case "text", "":
		return false, nil
	}
	return false, fmt.Errorf("--output %q: use text or json", o)
}

// emit prints v as indented JSON with --output json, or calls text.
func emit(cmd *cobra.Command, v any, text func(w io.Writer) error) error {
	asJSON, err := jsonOutput(cmd)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(w)
}

// loadConfig reads the config named by --config, $HARDENED_RUNC_CONFIG or
// the default path.
func loadConfig(cmd *cobra.Command) (*policy.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = policy.ConfigPath()
	}
	return policy.LoadConfig(path)
}
