// Command hardened-runc-go is hardened-runc's Go side: the hardened-runc
// program that engines run (cmd/hardened-runc, C) execs it, from beside
// itself, for every call it cannot decide alone: create, run, exec,
// update, and every call the fast path has no record for. It hardens the
// spec before handing it to the real runc (package wrapper).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func main() {
	rt := &wrapper.Runtime{
		ConfigPath: policy.ConfigPath(),
		Self:       "/proc/self/exe",
		Env:        os.Environ(),
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Exec:       wrapper.SyscallExec{},
		Pipeline:   pipeline.New,
		Cleaners:   cleanup.Cleaners,
		// Records are per boot and root's: /run/hardened-runc/fastpath.
		FastPathDir: fastpath.Dir,
	}
	// hardened-runc and the delete helper are beside this binary.
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		rt.Self = exe
		rt.Front = filepath.Join(dir, "hardened-runc")
		rt.DeleteHelper = filepath.Join(dir, fastpath.DeleteHelperName)
	}
	// A delete whose lower runtime hardened-runc already started, when no
	// delete helper is installed.
	if v, ok := os.LookupEnv(fastpath.StartedEnv); ok {
		os.Unsetenv(fastpath.StartedEnv)
		rt.Env = os.Environ()
		started, err := wrapper.StartedFrom(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hardened-runc: %v\n", err)
			os.Exit(1)
		}
		rt.Started = started
	}
	if os.Getenv(wrapper.MarksEnv) != "" {
		rt.Mark = wrapper.MarkWriter(os.Stderr)
		rt.Mark("main")
	}
	os.Exit(rt.Run(os.Args[1:]))
}
