package audit

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KmsgPath is the kernel's log. Without an audit daemon the kernel prints
// its audit records there ("audit: type=1326 audit(<time>:<serial>): ...
// uid=<host uid> pid=... comm="..." exe="..." syscall=<nr> ...
// code=0x7ffc0000"), rate-limited like every kernel message; with auditd
// running they go to auditd instead (docs/seccomp.md, "Audit mode").
const KmsgPath = "/dev/kmsg"

// seccompRetLog is SECCOMP_RET_LOG, the code of a logged syscall.
const seccompRetLog = "0x7ffc0000"

// The kernel log's patterns are compiled on first use: only the audit
// evidence at delete reads the log, and every other invocation of the
// runtime would pay for compiling them at start.
var (
	auditTime  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`audit\((\d+)\.(\d+):\d+\)`) })
	auditField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\w+)=("[^"]*"|\S+)`) })
)

// report is one kernel seccomp record.
type report struct {
	time    time.Time
	uid     uint64
	comm    string
	exe     string
	syscall int
	code    string
}

// parseReport reads one kernel log line; false unless it is a seccomp
// audit record (type=1326).
func parseReport(line string) (report, bool) {
	if !strings.Contains(line, "type=1326") {
		return report{}, false
	}
	var r report
	m := auditTime().FindStringSubmatch(line)
	if m == nil {
		return report{}, false
	}
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	ms, _ := strconv.ParseInt(m[2], 10, 64)
	r.time = time.Unix(sec, ms*int64(time.Millisecond))
	seen := false
	for _, f := range auditField().FindAllStringSubmatch(line[strings.Index(line, m[0])+len(m[0]):], -1) {
		v := strings.Trim(f[2], `"`)
		switch f[1] {
		case "uid":
			r.uid, _ = strconv.ParseUint(v, 10, 32)
		case "comm":
			r.comm = v
		case "exe":
			r.exe = v
		case "syscall":
			r.syscall, _ = strconv.Atoi(v)
			seen = true
		case "code":
			r.code = v
		}
	}
	return r, seen
}

// SeccompReports returns the logged syscalls of the container whose state
// is st: the kernel's seccomp records with SECCOMP_RET_LOG between its
// create and now, from a host uid in its user-ID range, for a syscall its
// filter logs. Without a user namespace a report cannot be told from
// another container's, and none is attributed.
func SeccompReports(kmsg string, st *State, now time.Time) ([]Finding, error) {
	if st.UIDCount == 0 {
		return nil, fmt.Errorf("audit seccomp: the container has no user namespace; kernel reports cannot be attributed to it")
	}
	var errs []error
	if err := waitAuditQueue(drainTimeout); err != nil {
		errs = append(errs, fmt.Errorf("audit seccomp: %w: records still queued may be missing", err))
	}
	recs, err := readKmsg(kmsg)
	if err != nil {
		return nil, fmt.Errorf("audit seccomp: %w", err)
	}
	lines := make([]string, len(recs))
	for i, r := range recs {
		lines[i] = r.text
	}
	out := reportsFrom(lines, st, now)
	boot := bootTime(now)
	if oldest, ok := overwritten(recs, st.Created, boot); ok {
		errs = append(errs, fmt.Errorf("audit seccomp: the kernel log no longer holds what was logged before %s (its ring buffer was overwritten after the container started): logged syscalls may be missing; audit again", oldest.UTC().Format(time.RFC3339)))
	}
	if n := suppressed(recs, st.Created, now, boot); n > 0 {
		errs = append(errs, fmt.Errorf("audit seccomp: the kernel suppressed %d audit messages while the container ran (printk rate limit): logged syscalls may be missing; audit again", n))
	}
	return out, errors.Join(errs...)
}

// kmsgRecord is one record of /dev/kmsg: its sequence number, its time in
// microseconds since boot (the kernel's clock, CLOCK_MONOTONIC on a host
// that does not suspend) and its text.
type kmsgRecord struct {
	seq  uint64
	usec int64
	text string
}

// overwritten reports whether the kernel's ring buffer has lost records
// that may be the container's: the oldest record still held is not the
// first since boot (sequence 0) and was logged after from. On a busy host
// the buffer (128 KiB by default) covers minutes; a long-lived container's
// reports, or a flood of them, push its own earliest reports out, silently.
// It returns the oldest record's wall-clock time.
func overwritten(recs []kmsgRecord, from, boot time.Time) (time.Time, bool) {
	if len(recs) == 0 {
		return time.Time{}, false
	}
	oldest := recs[0]
	at := boot.Add(time.Duration(oldest.usec) * time.Microsecond)
	return at, oldest.seq > 0 && at.After(from)
}

var suppressedLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^kauditd_printk_skb: (\d+) callbacks suppressed`)
})

// suppressed counts the audit messages the kernel dropped (printk rate
// limiting, "kauditd_printk_skb: N callbacks suppressed") between from and
// to. boot converts a record's time to the wall clock.
func suppressed(recs []kmsgRecord, from, to, boot time.Time) int {
	n := 0
	for _, r := range recs {
		m := suppressedLine().FindStringSubmatch(r.text)
		if m == nil {
			continue
		}
		// The line is printed when printing resumes: it covers messages
		// up to a few seconds before it.
		at := boot.Add(time.Duration(r.usec) * time.Microsecond)
		if at.Before(from) || at.After(to.Add(10*time.Second)) {
			continue
		}
		c, _ := strconv.Atoi(m[1])
		n += c
	}
	return n
}

// bootTime is the wall-clock time of the kernel log's zero.
func bootTime(now time.Time) time.Time {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return time.Time{}
	}
	return now.Add(-time.Duration(ts.Nano()))
}

// reportsFrom counts the container's logged syscalls among kernel log
// lines, by syscall and process.
func reportsFrom(lines []string, st *State, now time.Time) []Finding {
	type key struct{ name, comm, exe string }
	count := map[key]int{}
	from := st.Created.Add(-time.Second) // audit stamps have ms, Created is later than the filter's load by little
	for _, l := range lines {
		r, ok := parseReport(l)
		if !ok || r.code != seccompRetLog || r.time.Before(from) || r.time.After(now.Add(time.Second)) {
			continue
		}
		if r.uid < uint64(st.HostUID) || r.uid >= uint64(st.HostUID)+uint64(st.UIDCount) {
			continue
		}
		name := st.Numbers[r.syscall]
		if name == "" {
			name = "syscall " + strconv.Itoa(r.syscall)
		}
		if len(st.Logged) > 0 && !slices.Contains(st.Logged, name) {
			continue
		}
		count[key{name, r.comm, r.exe}]++
	}
	keys := make([]key, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].comm < keys[j].comm
	})
	out := make([]Finding, 0, len(keys))
	for _, k := range keys {
		control := st.LoggedBy[k.name]
		if control == "" {
			control = SeccompStrict
		}
		out = append(out, Finding{Control: control, What: k.name,
			Detail: fmt.Sprintf("comm %s, exe %s, %d reported", k.comm, k.exe, count[k])})
	}
	return out
}

// readKmsg returns the records in the kernel's log buffer. Each read of
// /dev/kmsg returns one record ("prio,seq,usec,flags;text"); EAGAIN ends
// the buffer, EPIPE means records were overwritten while reading.
func readKmsg(p string) ([]kmsgRecord, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	var out []kmsgRecord
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Read(fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return out, nil
		case errors.Is(err, syscall.EPIPE):
			continue
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return out, &os.PathError{Op: "read", Path: p, Err: err}
		case n == 0:
			return out, nil
		}
		head, text, ok := strings.Cut(string(buf[:n]), ";")
		if !ok {
			continue
		}
		text, _, _ = strings.Cut(text, "\n") // key=value continuation lines follow
		var rec kmsgRecord
		if f := strings.Split(head, ","); len(f) >= 3 {
			rec.seq, _ = strconv.ParseUint(f[1], 10, 64)
			rec.usec, _ = strconv.ParseInt(f[2], 10, 64)
		}
		rec.text = text
		out = append(out, rec)
	}
}
