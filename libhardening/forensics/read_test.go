package forensics

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestFilter(t *testing.T) {
	s := New(t.TempDir(), Options{})
	base := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	add := func(id, verb string, result Result, profile, image, podNS, pod string, at time.Duration) {
		r := testRecord(0)
		r.ContainerID, r.Verb, r.Decision.Result, r.Time = id, verb, result, base.Add(at)
		r.Profile = &ProfileRef{Name: profile}
		if image != "" || pod != "" {
			r.Engine = &Engine{Evidence: "parent /usr/bin/containerd-shim-runc-v2 -namespace k8s.io", Image: image, PodNamespace: podNS, PodName: pod}
		}
		if _, err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	add("abc1", "create", Allowed, "default", "docker.io/library/nginx:1.27", "prod", "web", 0)
	add("abc2", "exec", Denied, "restricted", "", "", "", time.Minute)
	add("xyz", "create", Audit, "default", "quay.io/x:1", "dev", "web", 2*time.Minute)
	add("xyz", "delete", Allowed, "", "", "", "", 3*time.Minute)
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"all", Filter{}, "abc1 abc2 xyz xyz"},
		{"id prefix", Filter{IDPrefix: "abc"}, "abc1 abc2"},
		{"since", Filter{Since: base.Add(time.Minute)}, "abc2 xyz xyz"},
		{"until", Filter{Until: base.Add(time.Minute)}, "abc1 abc2"},
		{"verb", Filter{Verbs: []string{"create"}}, "abc1 xyz"},
		{"verbs", Filter{Verbs: []string{"exec", "delete"}}, "abc2 xyz"},
		{"decision", Filter{Decision: Denied}, "abc2"},
		{"profile", Filter{Profile: "restricted"}, "abc2"},
		{"image", Filter{Image: "nginx"}, "abc1"},
		{"pod name", Filter{Pod: "web"}, "abc1 xyz"},
		{"pod ns/name", Filter{Pod: "dev/web"}, "xyz"},
		{"combined", Filter{IDPrefix: "x", Verbs: []string{"create"}, Decision: Audit}, "xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, summary := range []bool{false, true} {
				var got []string
				err := s.records(tt.f, summary, func(r *Record) error {
					got = append(got, r.ContainerID)
					if summary && r.Original != nil {
						t.Errorf("summary decoded the documents")
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if g := join(got); g != tt.want {
					t.Errorf("summary=%v: got %q want %q", summary, g, tt.want)
				}
			}
			var buf bytes.Buffer
			n, err := s.Export(tt.f, &buf)
			if err != nil || n != len(splitWords(tt.want)) {
				t.Errorf("export: %d records, %v", n, err)
			}
		})
	}
}

func TestExportIsTheStoredBytes(t *testing.T) {
	s := New(t.TempDir(), Options{})
	fill(t, s, 3)
	var buf bytes.Buffer
	if _, err := s.Export(Filter{}, &buf); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(onlyFile(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), stored) {
		t.Fatal("export differs from the stored lines")
	}
}

func TestContainerNewestFirst(t *testing.T) {
	s := New(t.TempDir(), Options{})
	for _, verb := range []string{"create", "start", "delete"} {
		r := testRecord(1)
		r.Verb = verb
		s.Append(r)
	}
	other := testRecord(10)
	s.Append(other)
	recs, err := s.Container("c0001")
	if err != nil || len(recs) != 3 || recs[0].Verb != "delete" || recs[2].Verb != "create" {
		t.Fatalf("%v %+v", err, recs)
	}
	if _, err := s.Container("c00"); err == nil {
		t.Fatal("ambiguous prefix accepted")
	}
}

func join(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

func splitWords(s string) []string { return bytes2strings(bytes.Fields([]byte(s))) }

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
