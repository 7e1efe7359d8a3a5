// Command hardened-runc-delete finishes a delete that hardened-runc started.
// For a container that holds something of hardened-runc's (an idmapped
// root, an ID range, an MCS pair, audit evidence), hardened-runc (the C
// program engines run) forks the lower runtime's delete and this program,
// which does what the Go side, hardened-runc-go, would do (record the call
// and release what the container held) with the same code, package
// wrapper, built without cgo: a Go program that links no C library, and
// less code, starts sooner, beside the lower runtime on the path of every
// `docker stop` (BENCHMARKS.md). hardened-runc returns the runtime's status
// once this program has settled what the engine reads after delete; the
// rest of the release is finished after that (wrapper's deleteSplit). A
// hardened-runc that cannot split the call execs this program as the
// runtime's parent instead (HARDENED_RUNC_STARTED), which then waits for it
// and exits with its status. hardened-runc finds it beside itself, as
// recorded by package fastpath; without it, hardened-runc-go does the work.
//
// It is not meant to be run by hand: without the runtime hardened-runc
// started named in its environment and reachable as described, it refuses.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func main() {
	// It lives for a few milliseconds and allocates a few megabytes: the
	// collector would only take CPU from runc's delete beside it. The
	// limit bounds the heap of a release that walks a large layer.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(64 << 20)
	running, err := handedOver()
	// Nothing this process runs may take it for a handed-over one.
	os.Unsetenv(fastpath.StartedEnv)
	os.Unsetenv(fastpath.ReleaseEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hardened-runc-delete: %v: it finishes the deletes hardened-runc starts, and is not run by hand\n", err)
		os.Exit(1)
	}
	rt := wrapper.ProcessRuntime()
	// No Pipeline: it handles the overlapped verb only (Runtime.Run
	// refuses any other with a started runtime). No FastPathDir: the record
	// names hardened-runc-go, which writes it.
	rt.Cleaners = cleanup.Cleaners
	rt.Started = running
	os.Exit(rt.Run(os.Args[1:]))
}

// handedOver is the runtime hardened-runc started: a split delete's
// sibling, or a child to wait for.
func handedOver() (wrapper.Running, error) {
	if v, ok := os.LookupEnv(fastpath.ReleaseEnv); ok {
		return wrapper.ReleaseFrom(v)
	}
	return wrapper.StartedFrom(os.Getenv(fastpath.StartedEnv))
}
