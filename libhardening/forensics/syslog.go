package forensics

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSyslogSocket is where syslog daemons and journald listen.
const DefaultSyslogSocket = "/dev/log"

// syslogTimeout bounds how long forwarding may delay a launch.
const syslogTimeout = 50 * time.Millisecond

// sdID is the RFC 5424 structured-data id of our parameters. 32473 is the
// private enterprise number IANA reserves for documentation examples.
const sdID = "hardened-runc@32473"

// Priority: facility authpriv (10), severity info (6) or warning (4).
const (
	priInfo    = 10*8 + 6
	priWarning = 10*8 + 4
)

// Forward sends a summary of rec (which Append has stored, so it carries
// seq and hash) to the local syslog socket as an RFC 5424 message, so log
// pipelines and SIEMs collect it centrally and hold the chain's hashes
// outside this host's reach. It is best effort: it gives up after 50 ms
// and the caller only logs its error.
func Forward(rec *Record, socket string) error {
	return sendSyslog(socket, SyslogMessage(rec))
}

// sendSyslog writes one datagram to the syslog socket (DefaultSyslogSocket
// when empty), giving up after syslogTimeout. It speaks to the socket with
// plain system calls rather than package net, which would bring its resolver
// and poller into the runtime's binary (and their init into every create)
// for one datagram. A blocking socket with a send timeout is the whole
// protocol: connect(2) on a datagram socket does not wait, and SO_SNDTIMEO
// bounds the wait for room in a full receive queue.
func sendSyslog(socket, msg string) error {
	if socket == "" {
		socket = DefaultSyslogSocket
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("syslog: socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(syslogTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return fmt.Errorf("syslog: connect %s: %w", socket, err)
	}
	for {
		_, err = unix.Write(fd, []byte(msg))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("syslog: write %s: %w", socket, err)
	}
	return nil
}

// SyslogMessage formats rec as an RFC 5424 message.
func SyslogMessage(rec *Record) string {
	pri := priInfo
	if rec.Decision.Result != Allowed {
		pri = priWarning
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "-"
	}
	var sd strings.Builder
	sd.WriteString("[" + sdID)
	param := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&sd, " %s=\"%s\"", name, sdEscape(value))
		}
	}
	param("seq", strconv.FormatUint(rec.Seq, 10))
	param("hash", rec.Hash)
	param("prev", rec.Prev)
	param("verb", rec.Verb)
	param("id", rec.ContainerID)
	param("decision", string(rec.Decision.Result))
	param("rule", rec.Decision.Rule)
	if rec.Profile != nil {
		param("profile", rec.Profile.Name)
		param("profile_hash", rec.Profile.Hash)
	}
	param("image", rec.ImageName())
	param("pod", rec.Pod())
	if rec.Original != nil {
		param("original_sha256", rec.Original.SHA256)
	}
	if rec.Hardened != nil {
		param("hardened_sha256", rec.Hardened.SHA256)
	}
	if rec.Caller != nil {
		param("caller", rec.Caller.Exe)
	}
	sd.WriteString("]")
	msg := fmt.Sprintf("%s %s: %s (%d changes)", rec.Verb, rec.ContainerID, rec.Decision.Result, len(rec.Changes))
	if rec.Decision.Reason != "" {
		msg += ": " + rec.Decision.Reason
	}
	return fmt.Sprintf("<%d>1 %s %s hardened-runc %d forensics %s %s",
		pri, rec.Time.UTC().Format(time.RFC3339Nano), host, os.Getpid(), sd.String(), msg)
}

// sdEscape escapes a PARAM-VALUE as RFC 5424 section 6.3.3 requires.
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}
