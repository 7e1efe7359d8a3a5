// Command hardened-runc-go is hardened-runc's Go side: the hardened-runc
// program that engines run (cmd/hardened-runc, C) execs it, from beside
// itself, for every call it cannot decide alone: create, run, exec,
// update, and every call the fast path has no record for. It hardens the
// spec before handing it to the real runc (package wrapper).
package main

import (
	"fmt"
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/fastpath"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline"
	"github.com/hardened-runc/hardened-runc/libhardening/pipeline/cleanup"
	"github.com/hardened-runc/hardened-runc/libhardening/wrapper"
)

func main() {
	// A delete whose lower runtime hardened-runc already started, when no
	// delete helper is installed: taken out of the environment first, so
	// nothing this process runs sees it.
	v, started := os.LookupEnv(fastpath.StartedEnv)
	os.Unsetenv(fastpath.StartedEnv)
	os.Unsetenv(fastpath.ReleaseEnv) // a split delete is the helper's only
	rt := wrapper.ProcessRuntime()
	rt.Pipeline = pipeline.New
	rt.Cleaners = cleanup.Cleaners
	// Records are per boot and root's: /run/hardened-runc/fastpath.
	rt.FastPathDir = fastpath.Dir
	if started {
		s, err := wrapper.StartedFrom(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hardened-runc: %v\n", err)
			os.Exit(1)
		}
		rt.Started = s
	}
	os.Exit(rt.Run(os.Args[1:]))
}
