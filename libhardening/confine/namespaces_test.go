package confine

import "testing"

func TestProcOneNS(t *testing.T) {
	for p, want := range map[string]bool{
		"/proc/1/ns/net":              true,
		"/proc/self/ns/pid":           true,
		"/proc/thread-self/ns/uts":    true,
		"/proc/1/ns/pid_for_children": true,
		"/proc/1/ns/":                 false,
		"/proc/12/ns/net":             false,
		"/proc/1/ns/net/x":            false,
		"/var/run/netns/cni-1234":     false,
	} {
		if got := procOneNS(p); got != want {
			t.Errorf("procOneNS(%q) = %v, want %v", p, got, want)
		}
	}
}
