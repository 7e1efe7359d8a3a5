package doctor

import "testing"

func TestLowerVersion(t *testing.T) {
	for _, c := range []struct{ out, impl, version string }{
		{"runc version 1.1.5+ds1\ncommit: x\n", "runc", "1.1.5+ds1"},
		{"crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\n", "crun", "1.8.1"},
		{"youki version 0.3.0\n", "runtime", "youki version 0.3.0"},
	} {
		impl, v := lowerVersion(c.out)
		if impl != c.impl || v != c.version {
			t.Errorf("lowerVersion(%q) = %q, %q; want %q, %q", c.out, impl, v, c.impl, c.version)
		}
	}
}

// crun is judged by crun's advisories, not runc's: crun 1.8.1 is not
// "runc 1.8.1 below 1.2.8".
func TestCrunCVEs(t *testing.T) {
	for _, c := range []struct {
		version string
		exposed bool
	}{
		{"1.4.3", true},
		{"1.4.4", false},
		{"1.8.1", false},
	} {
		got := false
		for _, cv := range crunCVEs {
			got = got || cv.exposed(parseVersion(c.version))
		}
		if got != c.exposed {
			t.Errorf("crun %s exposed = %v, want %v", c.version, got, c.exposed)
		}
	}
}
