//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// writeLauncher writes, at path, the program an engine is configured to run
// as its runtime: it names config.toml in HARDENED_RUNC_CONFIG (engines pass
// the runtime no environment of ours) and execs hardened-runc with the same
// argv. It is a static C program, not a shell script: every runtime call of
// an engine goes through it, and a shell would add its own start-up (about a
// millisecond here) to every number the benchmarks compare with runc. What
// remains is one execve, the floor of any wrapper (BENCHMARKS.md). A host
// without a C compiler gets the shell script.
func writeLauncher(path, config, binary string) error {
	src := fmt.Sprintf(`#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
	(void)argc;
	if (setenv("HARDENED_RUNC_CONFIG", %s, 1) != 0) return 127;
	argv[0] = %s;
	execv(argv[0], argv);
	return 127;
}
`, strconv.Quote(config), strconv.Quote(binary))
	c := path + ".c"
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return err
	}
	defer os.Remove(c)
	if _, err := exec.LookPath("gcc"); err == nil {
		out, err := exec.Command("gcc", "-O2", "-static", "-o", path, c).CombinedOutput()
		if err != nil {
			return fmt.Errorf("build launcher %s: %v %s", filepath.Base(path), err, out)
		}
		return nil
	}
	script := fmt.Sprintf("#!/bin/sh\nHARDENED_RUNC_CONFIG=%s exec %s \"$@\"\n", config, binary)
	return os.WriteFile(path, []byte(script), 0o755)
}
