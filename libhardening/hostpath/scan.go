package hostpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Socket is a unix socket file found beneath a directory.
type Socket struct {
	Path string
	UID  uint32
	ID   ID
}

// ScanResult is what FindSockets saw.
type ScanResult struct {
	// Sockets are the socket files that match, in breadth-first order.
	Sockets []Socket
	// Complete is false when the walk stopped at the entry limit: what lies
	// beyond was not looked at.
	Complete bool
	// Entries is how many directory entries were read.
	Entries int
}

// FindSockets walks dir breadth first, reading at most limit directory
// entries, and returns the socket files for which match is true. It never
// follows symlinks, and the file type comes from the directory entry, so
// only sockets cost a stat. Breadth first finds what lies near the top (an
// engine's socket sits in /run, not ten levels down) before the limit.
// A directory that cannot be read is an error: what cannot be seen is not
// known to be free of sockets.
func FindSockets(dir string, limit int, match func(Socket) bool) (ScanResult, error) {
	var res ScanResult
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		entries, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed while we looked: nothing to expose
		}
		if err != nil {
			return res, fmt.Errorf("scan %s for sockets: %w", d, err)
		}
		for _, e := range entries {
			if res.Entries >= limit {
				return res, nil
			}
			res.Entries++
			p := filepath.Join(d, e.Name())
			switch {
			case e.Type()&fs.ModeSocket != 0:
				var st unix.Stat_t
				if err := unix.Lstat(p, &st); err != nil {
					return res, fmt.Errorf("inspect socket %s: %w", p, err)
				}
				s := Socket{Path: p, UID: st.Uid, ID: ID{Dev: uint64(st.Dev), Ino: st.Ino}}
				if match(s) {
					res.Sockets = append(res.Sockets, s)
				}
			case e.IsDir():
				queue = append(queue, p)
			}
		}
	}
	res.Complete = true
	return res, nil
}

// soAcceptCon is __SO_ACCEPTCON in /proc/net/unix's Flags: a listening
// socket.
const soAcceptCon = 0x10000

// Listening returns the filesystem paths of the unix sockets listening in
// this network namespace (/proc/net/unix), the host's when hardened-runc
// runs there, as engines call it. Unlike a directory walk it costs the
// number of sockets, not the size of a tree, and it sees a service's
// socket whatever its name. Abstract sockets have no path and are left
// out.
//
// The kernel is asked through sock_diag first (listeningDiag: only the
// listening sockets come back); /proc/net/unix is read where that is not
// available (a kernel without unix_diag).
func Listening() ([]string, error) {
	if paths, err := listeningDiag(); err == nil {
		return paths, nil
	}
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return nil, fmt.Errorf("list listening sockets: %w", err)
	}
	return parseUnix(string(data)), nil
}

func parseUnix(table string) []string {
	var out []string
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 || !strings.HasPrefix(f[7], "/") {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&soAcceptCon == 0 {
			continue
		}
		// A path may hold spaces; everything after the inode is the path.
		out = append(out, strings.Join(f[7:], " "))
	}
	return out
}
