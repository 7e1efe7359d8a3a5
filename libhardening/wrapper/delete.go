package wrapper

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// delete runs the lower runtime as a child instead of exec'ing it when
// hardened-runc set something up for the container (idmapped rootfs mounts,
// its ID range, an MCS pair, audit state): that can only be released after
// runc has deleted the container, and only if it did. delete is short,
// takes no terminal and no stdin, and its exit status is passed on
// unchanged. A container that holds nothing (created without a user
// namespace, MCS pair or audited control, or by plain runc) gets the short
// record and runc exec'd in place, as kill does. A broken policy does not
// matter here: cleanup needs no profile.
func (iv *invocation) delete() int {
	id := iv.containerID()
	held := iv.holdsState(id)
	iv.mark("check")
	if !held {
		iv.recordShort()
		return iv.exec(iv.args.Args())
	}
	cmd := exec.Command(iv.lower, iv.args.Args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = iv.rt.Stdin, iv.rt.Stdout, iv.rt.Stderr
	cmd.Env = iv.rt.Env
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return iv.fail(err)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	iv.mark("lower")
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return iv.fail(err)
	}
	var notes []string
	if id != "" && !lower.HasState(iv.stateDir(id)) {
		notes = iv.auditEvidence(id)
		iv.release(id)
	}
	iv.mark("release")
	iv.recordShort(notes...)
	return code
}

// holdsState reports whether id may hold host state that release frees
// after runc's delete. Anything it cannot decide counts as held (the
// child path, as before), so an exec'd delete never leaks a range or a
// mount.
func (iv *invocation) holdsState(id string) bool {
	if id == "" {
		return false // runc refuses it; there is nothing to release
	}
	if iv.rt.Cleaners == nil {
		return false // a runtime that sets nothing up (tests) releases nothing
	}
	held, err := iv.rt.Cleaners().Holds(iv.cleanupContext(id))
	if err != nil {
		iv.log.WithError(err).Warn("hardened-runc: delete: what the container holds")
	}
	return held || err != nil
}

// release runs every Cleaner for a container that no longer exists in the
// --root of this delete. Cleaners key what they release by (root, id):
// `--root /other delete ID` finds nothing under /other and must not free
// what the container ID of another root holds (userns.Allocator.Release).
func (iv *invocation) release(id string) {
	if iv.rt.Cleaners == nil {
		return
	}
	if err := iv.rt.Cleaners().Cleanup(iv.cleanupContext(id)); err != nil {
		iv.log.WithError(err).Warn("hardened-runc: releasing container resources")
	}
}

// cleanupContext is what Cleaners key a container's state by.
func (iv *invocation) cleanupContext(id string) *modifier.Context {
	return &modifier.Context{
		Verb:        "delete",
		ContainerID: id,
		Root:        iv.lowerRoot(),
		RunDir:      iv.cfg.RunDir,
	}
}

// recordShort writes the short forensic record for start, kill and delete,
// with notes (delete: the audit evidence). It is best effort: these verbs
// must never be blocked by forensics.
func (iv *invocation) recordShort(notes ...string) {
	l := &Launch{Verb: iv.args.Verb(), Args: iv.args.Args(), ContainerID: iv.containerID(), Decision: Unmanaged, Notes: notes}
	l.Lower.Path = iv.lower
	if err := iv.recorder().Record(l); err != nil {
		iv.log.WithError(err).Warn("hardened-runc: forensic record")
	}
}
