package wrapper

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/hardened-runc/hardened-runc/libhardening/inflight"
	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// delete releases what hardened-runc set up for the container (idmapped
// rootfs mounts, its ID range, an MCS pair, audit state):
//
//   - A container that holds nothing (created without a user namespace,
//     MCS pair or audited control, or by plain runc) gets its short record,
//     and runc is exec'd in place (or waited for, when the fast path
//     started it), as for kill.
//   - Otherwise runc runs as a child (or was started by the fast path).
//     A container that has exited, whose processes ended with it (a PID
//     namespace of its own) and whose delete runs no poststop hooks, needs
//     nothing of what is released whatever runc's delete does: it is
//     released while runc deletes it.
//   - Anything else (a running container under --force, a shared PID
//     namespace, hooks, crun, whose state records neither) is released
//     after runc's delete, and only if runc deleted the container.
//
// When the C program split the call (a Release: it runs runc beside this
// process and returns runc's status itself), only what the engine reads
// once the call returns is released before it does; see deleteSplit.
//
// runc is started before anything is released, and is not killed with
// hardened-runc: if hardened-runc dies half-way, runc's delete still
// completes, and what the release left is repaired by the next delete,
// the next create or `hardenctl gc` (which do not touch a container runc
// still has). A release in flight holds the container's release lock
// (package inflight), which later calls on the ID wait for. delete takes
// no terminal and no stdin, and its exit status is runc's, unchanged. A
// broken policy does not matter here: cleanup needs no profile.
func (iv *invocation) delete() int {
	id := iv.containerID()
	if r, ok := iv.rt.Started.(*Release); ok {
		return iv.deleteSplit(id, r)
	}
	if err := inflight.Wait(iv.cfg.RunDir, id, inflight.Patience); err != nil {
		iv.log.WithError(err).Warn("hardened-runc: delete: waiting for the container's release in flight")
	}
	held := iv.holdsState(id)
	iv.mark("check")
	if !held {
		iv.recordShort()
		return iv.exec(iv.args.Args())
	}
	lock := iv.holdRelease(id)
	defer lock.Release()
	wait, err := iv.startChild()
	if err != nil {
		return iv.fail(err)
	}
	if iv.exitedAlone(id) {
		iv.releaseAndRecord(id) // while runc finishes
		code := wait()
		iv.mark("lower")
		return code
	}
	code := wait()
	iv.mark("lower")
	if lower.HasState(iv.stateDir(id)) {
		iv.recordShort() // runc kept the container: it keeps what it holds
	} else {
		iv.releaseAndRecord(id)
	}
	return code
}

// deleteSplit is delete when the C program runs runc beside this process
// and returns runc's status itself (r). The C program returns once runc
// has exited and r is settled, so what the engine reads once the call
// returns is released first: the owners host processes wrote into the
// writable layer are moved back (the Settlers), and the audit evidence is
// read from that layer (Docker removes it at once after `docker run
// --rm`); the userns Settler also keeps the range lingering. Then r is
// settled, and the rest (the MCS pair, the audit state, the forensic
// record) is done after runc has exited, beside the engine's own work rather than
// beside runc's delete, which it would slow on a busy host. The
// container's release lock is held throughout: the C program's next
// delete of the ID, a create of it and hardenctl's reading of records
// wait for it.
func (iv *invocation) deleteSplit(id string, r *Release) int {
	defer r.Finish(iv.rt.Stderr)
	lock := iv.holdRelease(id)
	defer lock.Release()
	if !iv.holdsState(id) {
		r.Finish(iv.rt.Stderr)
		iv.recordShort()
		return 0
	}
	iv.mark("check")
	if !iv.exitedAlone(id) {
		r.Wait()
		iv.mark("lower")
		if lower.HasState(iv.stateDir(id)) {
			r.Settle()
			iv.recordShort() // runc kept the container: it keeps what it holds
			return 0
		}
	}
	settle, rest := iv.rt.Cleaners().Partition()
	evidence := iv.auditEvidence(id)
	notes := make(chan []string, 1)
	go func() { notes <- evidence() }()
	iv.releaseWith(settle, id)
	n := <-notes
	iv.mark("settle")
	r.Finish(iv.rt.Stderr)
	iv.mark("lower")
	iv.releaseWith(rest, id)
	iv.recordShort(n...)
	iv.mark("release")
	return 0
}

// holdRelease takes the container's release lock, waiting for a release
// in flight (inflight.Patience at most). Without it (nil: its directory
// cannot be written, or that release is stuck), the release goes on
// unmarked, as before there were locks: cleaners are idempotent.
func (iv *invocation) holdRelease(id string) *inflight.Held {
	if id == "" {
		return nil // runc refuses it; nothing is released
	}
	h, err := inflight.Hold(iv.cfg.RunDir, id, inflight.Patience)
	if err != nil {
		iv.log.WithError(err).Warn("hardened-runc: delete: release lock")
		return nil
	}
	return h
}

// releaseAndRecord releases what a container holds while its audit
// evidence is collected and its record, which needs nothing but the
// evidence, appended.
func (iv *invocation) releaseAndRecord(id string) {
	evidence := iv.auditEvidence(id)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		notes := evidence()
		iv.mark("evidence")
		iv.recordShort(notes...)
	}()
	iv.release(id)
	iv.mark("release")
	<-recorded
}

// exitedAlone reports whether the container provably has no process left
// that could use what release takes away: runc's state says its init has
// exited and it had a PID namespace of its own (the kernel ends every
// process of a PID namespace before its init becomes a zombie), and its
// delete runs no poststop hook (which gets the container's root path).
// Anything unreadable, such as the state runc has just removed, answers
// no.
func (iv *invocation) exitedAlone(id string) bool {
	st, err := lower.ReadState(iv.stateDir(id))
	return err == nil && st.OwnPIDNamespace && st.PoststopHooks == 0 && st.Exited("/proc")
}

// startChild starts the lower runtime with the invocation's arguments, or
// takes the one the fast path started, and returns what waits for it: its
// exit status, with the signals that stop a call forwarded meanwhile.
func (iv *invocation) startChild() (wait func() int, err error) {
	if s := iv.rt.Started; s != nil {
		return func() int { return s.Finish(iv.rt.Stderr) }, nil
	}
	cmd := exec.Command(iv.lower, iv.args.Args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = iv.rt.Stdin, iv.rt.Stdout, iv.rt.Stderr
	cmd.Env = iv.rt.Env
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
		return nil, err
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	return func() int {
		defer signal.Stop(sigs)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			iv.log.WithError(err).Warn("hardened-runc: delete: waiting for the lower runtime")
			return 1
		}
		return 0
	}, nil
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
	iv.releaseWith(iv.rt.Cleaners(), id)
}

// releaseWith runs cl for the container (release).
func (iv *invocation) releaseWith(cl modifier.Cleaners, id string) {
	if err := cl.Cleanup(iv.cleanupContext(id)); err != nil {
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
		Mark:        iv.rt.Mark,
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
