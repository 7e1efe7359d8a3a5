package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hardened-runc/hardened-runc/libhardening/forensics"
)

// run runs hardenctl with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// noConfig points hardenctl at a config file that does not exist, so the
// host's /etc/hardened-runc is never read.
func noConfig(t *testing.T) string {
	return filepath.Join(t.TempDir(), "none.toml")
}

// forensicsFixture is a store holding one record per decision, two of them
// under pod prod/web: one whose identity the engine vouched for, one whose
// pod came only from annotations the engine does not write (claims).
func forensicsFixture(t *testing.T) (dir, witness string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "forensics")
	witness = filepath.Join(t.TempDir(), "witness")
	st := forensics.New(dir, forensics.Options{})
	trusted := &forensics.Engine{Name: "containerd-cri", Evidence: "parent /usr/bin/containerd-shim-runc-v2 -namespace k8s.io",
		PodNamespace: "prod", PodName: "web", Image: "docker.io/library/nginx:1.27",
		Trusted: []string{"io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-namespace"}}
	forged := &forensics.Engine{Name: "docker", Evidence: "parent /usr/bin/containerd-shim-runc-v2 -namespace moby",
		Claimed: map[string]string{"io.kubernetes.cri.sandbox-namespace": "prod", "io.kubernetes.cri.sandbox-name": "web"}}
	for i, r := range []struct {
		id     string
		result forensics.Result
		engine *forensics.Engine
	}{
		{"web1", forensics.Allowed, trusted},
		{"evil", forensics.Allowed, forged},
		{"off1", forensics.Off, nil},
		{"bad1", forensics.Denied, nil},
	} {
		rec := &forensics.Record{Schema: forensics.SchemaVersion, Time: time.Date(2026, 11, 30, 12, i, 0, 0, time.UTC),
			Verb: "create", ContainerID: r.id, Decision: forensics.Decision{Result: r.result}, Engine: r.engine,
			Profile: &forensics.ProfileRef{Name: "default"}}
		if _, err := st.Append(rec); err != nil {
			t.Fatal(err)
		}
		if err := forensics.AppendWitnessFile(witness, forensics.NewWitnessEntry(rec, dir)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, witness
}

func listIDs(t *testing.T, out string) []string {
	t.Helper()
	var recs []struct {
		ID string `json:"container_id"`
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("list output: %v\n%s", err, out)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestForensicsListFilters(t *testing.T) {
	dir, _ := forensicsFixture(t)
	cfg := noConfig(t)
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		// The container that claimed pod prod/web through annotations
		// Docker lets its user set is not listed under it.
		{"pod", []string{"--pod", "prod/web"}, "web1"},
		{"pod name only", []string{"--pod", "web"}, "web1"},
		{"image", []string{"--image", "nginx"}, "web1"},
		{"mode off is its own decision", []string{"--decision", "off"}, "off1"},
		{"denied", []string{"--decision", "denied"}, "bad1"},
		{"allowed", []string{"--decision", "allowed"}, "web1 evil"},
		{"id prefix", []string{"--id", "ev"}, "evil"},
		{"all", nil, "web1 evil off1 bad1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", cfg, "forensics", "list", "--dir", dir, "--output", "json"}, tc.flags...)
			out, err := run(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := strings.Join(listIDs(t, out), " "); got != tc.want {
				t.Fatalf("listed %q, want %q", got, tc.want)
			}
		})
	}
	_, err := run(t, "--config", cfg, "forensics", "list", "--dir", dir, "--decision", "failed")
	if err == nil || !strings.Contains(err.Error(), "use allowed, denied, audit, off, error") {
		t.Fatalf("bad --decision: %v", err)
	}
	out, err := run(t, "--config", cfg, "forensics", "list", "--dir", dir, "--pod", "prod/web")
	if err != nil || !strings.Contains(out, "web1") || strings.Contains(out, "evil") {
		t.Fatalf("text listing: %v\n%s", err, out)
	}
}

func TestForensicsVerifyWitness(t *testing.T) {
	dir, witness := forensicsFixture(t)
	cfg := noConfig(t)
	out, err := run(t, "--config", cfg, "forensics", "verify", "--dir", dir, "--witness", witness)
	if err != nil || !strings.Contains(out, "chain intact") || !strings.Contains(out, "witness: 4 lines") {
		t.Fatalf("intact: %v\n%s", err, out)
	}
	// The configured witness is used without --witness.
	conf := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(conf, []byte("forensics_dir = \""+dir+"\"\n[forensics_witness]\nfile = \""+witness+"\"\n"), 0o644)
	if out, err := run(t, "--config", conf, "forensics", "verify"); err != nil || !strings.Contains(out, "witness: 4 lines") {
		t.Fatalf("configured witness: %v\n%s", err, out)
	}

	// Drop the last record and rewrite the head so the chain is
	// consistent: only the witness can tell.
	files, _ := filepath.Glob(filepath.Join(dir, "records-*.ndjson"))
	data, _ := os.ReadFile(files[0])
	lines := bytes.SplitAfter(data, []byte("\n"))
	os.WriteFile(files[0], bytes.Join(lines[:len(lines)-2], nil), 0o600)
	os.WriteFile(filepath.Join(dir, "LOCK"), nil, 0o600) // head unreadable: rebuilt by the next append
	if out, err := run(t, "--config", cfg, "forensics", "verify", "--dir", dir); err != nil {
		t.Fatalf("without the witness the truncation is invisible, but verify failed: %v\n%s", err, out)
	}
	out, err = run(t, "--config", cfg, "forensics", "verify", "--dir", dir, "--witness", witness)
	if exitCode(err) != 1 || !strings.Contains(out, "PROBLEM truncated: record 4 (create bad1") {
		t.Fatalf("truncated: exit %d %v\n%s", exitCode(err), err, out)
	}
	out, err = run(t, "--config", cfg, "forensics", "verify", "--dir", dir, "--witness", witness, "--output", "json")
	var res forensics.VerifyResult
	if exitCode(err) != 1 || json.Unmarshal([]byte(out), &res) != nil || len(res.Problems) != 1 || res.Problems[0].Seq != 4 {
		t.Fatalf("json: %v\n%s", err, out)
	}
}

func TestProfileValidateRefusesWeakeningRule(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(conf, []byte("[[select]]\nprofile = \"baseline\"\nannotations = { \"hardened-runc.io/profile\" = \"baseline\" }\n"), 0o644)
	_, err := run(t, "--config", conf, "profile", "validate", "default")
	if err == nil || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), `select[0] (profile "baseline") matches on annotation "hardened-runc.io/profile"`) ||
		!strings.Contains(err.Error(), "match only on annotations the engine writes itself") {
		t.Fatalf("got %v", err)
	}
}

func TestForensicsShowClaimed(t *testing.T) {
	dir, _ := forensicsFixture(t)
	out, err := run(t, "--config", noConfig(t), "forensics", "show", "evil", "--dir", dir)
	if err != nil || !strings.Contains(out, "claimed:   io.kubernetes.cri.sandbox-namespace=prod (not vouched for by the engine: not used)") ||
		!strings.Contains(out, "evidence:  parent /usr/bin/containerd-shim-runc-v2 -namespace moby") || !strings.Contains(out, "pod= ") {
		t.Fatalf("%v\n%s", err, out)
	}
}
