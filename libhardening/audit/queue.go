package audit

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// drainTimeout bounds how long delete waits for the kernel to print the
// audit records still queued.
const drainTimeout = 2 * time.Second

// waitAuditQueue waits until the kernel's audit queue is empty, so every
// seccomp record the container produced has been printed to (or dropped
// from) the kernel log before it is read. kauditd prints asynchronously,
// and behind a busy neighbour's records a container's own can still be
// queued when it is deleted. The queue length is the "backlog" of
// AUDIT_GET's status, which needs CAP_AUDIT_CONTROL.
func waitAuditQueue(timeout time.Duration) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return fmt.Errorf("audit netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("audit netlink bind: %w", err)
	}
	tv := unix.NsecToTimeval(int64(500 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("audit netlink: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for seq := uint32(1); ; seq++ {
		backlog, err := auditBacklog(fd, seq)
		if err != nil {
			return err
		}
		if backlog == 0 {
			time.Sleep(10 * time.Millisecond) // the last record may be mid-print
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the kernel audit queue still held %d records after %s", backlog, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// auditBacklog asks the kernel for its audit status and returns the
// number of records waiting for kauditd.
func auditBacklog(fd int, seq uint32) (uint32, error) {
	req := make([]byte, unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint32(req[0:], unix.SizeofNlMsghdr)
	binary.NativeEndian.PutUint16(req[4:], unix.AUDIT_GET)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(req[8:], seq)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("audit status request: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, fmt.Errorf("audit status: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, fmt.Errorf("audit status: %w", err)
		}
		for _, m := range msgs {
			switch {
			case m.Header.Seq != seq:
			case m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4:
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return 0, fmt.Errorf("audit status: %w", unix.Errno(-e))
				}
			case m.Header.Type == unix.AUDIT_GET && len(m.Data) >= 32:
				// struct audit_status: mask, enabled, failure, pid,
				// rate_limit, backlog_limit, lost, backlog, ...
				return binary.NativeEndian.Uint32(m.Data[28:]), nil
			}
		}
	}
}
