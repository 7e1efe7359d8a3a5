// Command hardened-runc is an OCI runtime that hardens every container before
// handing it to the real runc. Engines call it exactly as they call runc.
package main

import (
	"os"
	"path/filepath"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	// The pass-through fast path's C half: it runs before main, and
	// before the Go runtime: it execs the lower runtime for state, list,
	// ps, events, pause, resume and features, and starts it for kill and
	// delete.
	"github.com/hardened-runc/hardened-runc/libhardening/fastpath/preexec"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
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
	// The delete helper is installed beside this binary.
	if exe, err := os.Executable(); err == nil {
		rt.DeleteHelper = filepath.Join(filepath.Dir(exe), fastpath.DeleteHelperName)
	}
	if pid, lower := preexec.Started(); pid > 0 {
		rt.Started = &wrapper.Started{Pid: pid, Lower: lower}
	}
	if os.Getenv(wrapper.MarksEnv) != "" {
		rt.Mark = wrapper.MarkWriter(os.Stderr)
		rt.Mark("main")
	}
	os.Exit(rt.Run(os.Args[1:]))
}
