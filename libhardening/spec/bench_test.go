package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// reportCPU adds cpu-ns/op: the CPU time the process spent per operation.
// On a loaded shared machine wall time (ns/op) includes waiting for a core;
// CPU time is what every create actually pays.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() int64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchSpec returns docker-20.10.json grown to about 15 KB with the kind of
// content real containers add (environment, bind mounts).
func benchSpec(b *testing.B) []byte {
	d, err := Parse(readTestdata(b, "docker-20.10.json"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; ; i++ {
		data, _ := json.Marshal(d.Spec)
		if len(data) >= 15<<10 {
			return data
		}
		d.Spec.Process.Env = append(d.Spec.Process.Env, fmt.Sprintf("APP_SETTING_%d=/srv/app/config/value-%d", i, i))
	}
}

func BenchmarkLoadBytes(b *testing.B) {
	data := benchSpec(b)
	bundle := b.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("spec size %d bytes", len(data))
	run := func(name string, edit func(d *Document)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				d, err := Load(bundle)
				if err != nil {
					b.Fatal(err)
				}
				edit(d)
				if _, err := d.Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Baseline in the same run: what decoding the typed struct alone costs.
	b.Run("baseline-json-unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			var s specs.Spec
			if err := json.Unmarshal(data, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("unchanged", func(*Document) {})
	run("hardened", func(d *Document) { harden(d.Spec) })

	// A config with unknown fields takes the merge path.
	d, err := Load(bundle)
	if err != nil {
		b.Fatal(err)
	}
	d.Spec.Process.Env = append(d.Spec.Process.Env, "X=1")
	withUnknown := mustAddUnknown(b, d)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), withUnknown, 0o644); err != nil {
		b.Fatal(err)
	}
	run("hardened-unknown-fields", func(d *Document) { harden(d.Spec) })
}

// mustAddUnknown returns d's document with unknown fields at a few depths.
func mustAddUnknown(b *testing.B, d *Document) []byte {
	out, err := d.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		b.Fatal(err)
	}
	m["x-vendor"] = map[string]any{"a": 1}
	m["process"].(map[string]any)["x-future"] = true
	m["mounts"].([]any)[0].(map[string]any)["x-order"] = 1
	out, err = json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func BenchmarkWrite(b *testing.B) {
	data := benchSpec(b)
	bundle := b.TempDir()
	path := filepath.Join(bundle, "config.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		d, err := Load(bundle)
		if err != nil {
			b.Fatal(err)
		}
		harden(d.Spec)
		if _, err := d.Write(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClone(b *testing.B) {
	d, err := Parse(benchSpec(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		Clone(d.Spec)
	}
}
