// Command hardened-runc-delete finishes a delete that hardened-runc started.
// For a container that holds something of hardened-runc's (an idmapped
// root, an ID range, an MCS pair, audit evidence), hardened-runc (the C
// program engines run) forks the lower runtime's delete and execs this
// program, which does what the Go side, hardened-runc-go, would do (record
// the call, release what the container held, wait for the lower runtime
// and exit with its status) with the same code, package wrapper, built
// without cgo: a Go program that links no C library, and less code,
// starts sooner, beside the lower runtime on the path of every `docker
// stop` (BENCHMARKS.md). hardened-runc finds it beside itself, as recorded
// by package fastpath; without it, hardened-runc-go does the work.
//
// It is not meant to be run by hand: without the started runtime in its
// environment, as its child, it refuses.
package main

import (
	"fmt"
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func main() {
	started, err := wrapper.StartedFrom(os.Getenv(fastpath.StartedEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "hardened-runc-delete: %v: it finishes the deletes hardened-runc starts, and is not run by hand\n", err)
		os.Exit(1)
	}
	// Nothing this process runs may take it for a handed-over one.
	os.Unsetenv(fastpath.StartedEnv)
	rt := wrapper.ProcessRuntime()
	// No Pipeline: it handles the overlapped verb only (Runtime.Run
	// refuses any other with a started runtime). No FastPathDir: the record
	// names hardened-runc-go, which writes it.
	rt.Cleaners = cleanup.Cleaners
	rt.Started = started
	os.Exit(rt.Run(os.Args[1:]))
}
