package hostpath

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListeningDiag: sock_diag and /proc/net/unix agree on this host's
// listening sockets, including one this test binds (a path with a space)
// and not an abstract one or a bound datagram socket.
func TestListeningDiag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "engine sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	abstract, err := net.Listen("unix", "@hardened-runc-test-"+filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer abstract.Close()
	dgram, err := net.ListenPacket("unixgram", filepath.Join(dir, "dgram"))
	if err != nil {
		t.Fatal(err)
	}
	defer dgram.Close()

	got, err := listeningDiag()
	if err != nil {
		t.Skipf("skipped: sock_diag for AF_UNIX is not available here: %v", err)
	}
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	want := parseUnix(string(data))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("sock_diag: %q\n/proc/net/unix: %q", got, want)
	}
	if !slices.Contains(got, path) {
		t.Errorf("the listening socket %q is missing from %q", path, got)
	}
	if slices.Contains(got, filepath.Join(dir, "dgram")) {
		t.Errorf("a datagram socket is not listening: %q", got)
	}
}

func TestDiagName(t *testing.T) {
	attr := func(typ uint16, payload string) []byte {
		b := make([]byte, unix.SizeofRtAttr+len(payload))
		binary.NativeEndian.PutUint16(b[0:], uint16(len(b)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		copy(b[unix.SizeofRtAttr:], payload)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	msg := func(attrs ...[]byte) []byte {
		b := make([]byte, unixDiagMsgLen)
		for _, a := range attrs {
			b = append(b, a...)
		}
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
		ok   bool
	}{
		{"path", msg(attr(unixDiagName, "/run/docker.sock\x00")), "/run/docker.sock", true},
		{"path after another attribute", msg(attr(1, "vfs"), attr(unixDiagName, "/x y\x00")), "/x y", true},
		{"abstract", msg(attr(unixDiagName, "\x00abstract")), "", false},
		{"unnamed", msg(), "", false},
		{"short", []byte{1, 2}, "", false},
		{"attribute longer than the message", append(make([]byte, unixDiagMsgLen), 0xff, 0, 0, 0), "", false},
	} {
		got, ok := diagName(c.data)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: diagName = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
