package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func TestDecisionOf(t *testing.T) {
	deny := &modifier.Denial{Modifier: "namespaces", Rule: "namespaces.allow_host", Reason: "host network"}
	for _, tc := range []struct {
		name string
		l    Launch
		want forensics.Decision
	}{
		{"allowed", Launch{Decision: Allowed}, forensics.Decision{Result: forensics.Allowed}},
		{"mode off stays off", Launch{Decision: Unmanaged}, forensics.Decision{Result: forensics.Off}},
		{"denied", Launch{Decision: Denied, Denial: deny}, forensics.Decision{Result: forensics.Denied, Modifier: "namespaces", Rule: "namespaces.allow_host", Reason: "host network"}},
		{"audit keeps what it would deny", Launch{Decision: Audited, Denial: deny}, forensics.Decision{Result: forensics.Audit, Modifier: "namespaces", Rule: "namespaces.allow_host", Reason: "host network"}},
		{"failed", Launch{Decision: Failed, Error: "boom"}, forensics.Decision{Result: forensics.Failed, Reason: "boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decisionOf(&tc.l); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStoreRecorderWitness(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "forensics")
	witness := filepath.Join(t.TempDir(), "witness")
	var warned []error
	rec := StoreRecorder{Dir: dir, Witness: policy.Witness{File: witness}, Warn: func(err error) { warned = append(warned, err) }}
	l := &Launch{Verb: "delete", ContainerID: "web", Decision: Unmanaged}
	if err := rec.Record(l); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(witness)
	if err != nil || !strings.HasPrefix(string(data), forensics.WitnessMarker) || !strings.Contains(string(data), `"seq":1,`) ||
		!strings.Contains(string(data), `"id":"web"`) || len(warned) != 0 {
		t.Fatalf("witness %q %v, warnings %v", data, err, warned)
	}
	// A witness that cannot be written is a warning; the record is kept.
	rec.Witness = policy.Witness{File: filepath.Join(t.TempDir(), "no", "such", "dir", "witness"), Syslog: true, SyslogSocket: filepath.Join(t.TempDir(), "none")}
	if err := rec.Record(l); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0].Error(), "witness file") || !strings.Contains(warned[0].Error(), "syslog") {
		t.Fatalf("warnings %v", warned)
	}
	res, err := forensics.New(dir, forensics.Options{}).Verify()
	if err != nil || res.Records != 2 || !res.OK() {
		t.Fatalf("store %+v %v", res, err)
	}
}
