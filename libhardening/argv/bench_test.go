package argv

import "testing"

// Parse runs on every runc verb, liveness-probe execs included.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"moby-create", split(mobyGlobal + "create --bundle " + mobyBundle + " --pid-file " + mobyBundle + "/init.pid " + mobyID)},
		{"moby-exec", split(mobyGlobal + "exec --process /tmp/runc-process2417318035 --detach --pid-file " + mobyBundle + "/e.pid " + mobyID)},
		{"moby-state", split(mobyGlobal + "state " + mobyID)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bc.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReplaceFlagValue(b *testing.B) {
	inv, err := Parse(split(mobyGlobal + "exec --process /tmp/runc-process2417318035 --detach --pid-file " + mobyBundle + "/e.pid " + mobyID))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inv.ReplaceFlagValue("process", "/proc/self/fd/5"); err != nil {
			b.Fatal(err)
		}
	}
}
