package wrapper

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// MarksEnv switches on the phase marks of a launch (scripts/breakdown): the
// time of each phase boundary on CLOCK_MONOTONIC, on stderr, so a driver
// that notes the same clock before starting the process can tell where
// every millisecond of a create goes, process start and runc included.
const MarksEnv = "HARDENED_RUNC_MARKS"

// MarkPrefix starts every mark line: "hardened-runc-mark <phase> <ns>".
const MarkPrefix = "hardened-runc-mark"

// MarkWriter returns a Runtime.Mark that writes one line per phase to w.
// It costs one clock read and one write(2) per mark, and nothing when the
// runtime's Mark is nil (the default).
func MarkWriter(w io.Writer) func(phase string) {
	return func(phase string) {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			return
		}
		fmt.Fprintf(w, "%s %s %d\n", MarkPrefix, phase, ts.Nano())
	}
}

// mark records that phase has just ended.
func (iv *invocation) mark(phase string) {
	if iv.rt.Mark != nil {
		iv.rt.Mark(phase)
	}
}
