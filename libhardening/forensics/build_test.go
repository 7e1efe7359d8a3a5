package forensics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

func testProfile(mode policy.Mode) *policy.Profile {
	return &policy.Profile{Name: "default", Hash: "sha256:p", Mode: mode,
		Forensics: policy.Forensics{Redact: []string{"*PASSWORD*", "*TOKEN*", "*SECRET*"}}}
}

func TestBuildRedactsAndHashesReceivedBytes(t *testing.T) {
	orig, err := os.ReadFile("testdata/cri-config.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(Input{
		Verb: "create", Argv: []string{"hardened-runc", "create", "web"}, ContainerID: "web",
		Bundle:  "/run/containerd/io.containerd.runtime.v2.task/k8s.io/web",
		Profile: testProfile(policy.ModeEnforce), DocumentKind: "config.json",
		Original: orig, Hardened: orig, PPID: os.Getpid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(orig)
	if r.Original.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) || r.Original.Size != len(orig) {
		t.Fatalf("original hash is not of the received bytes: %+v", r.Original)
	}
	content := string(r.Original.Content)
	for _, secret := range []string{"hunter2", "t0k3n", "s3"} {
		if strings.Contains(content, secret) {
			t.Fatalf("secret %q stored: %s", secret, content)
		}
	}
	for _, kept := range []string{`"HOME=/root"`, `"X=1"`, `9223372036854771712`, `"DB_PASSWORD=<redacted>"`} {
		if !strings.Contains(content, kept) {
			t.Fatalf("%s lost: %s", kept, content)
		}
	}
	if got := strings.Join(r.Original.Redacted, ","); got != "DB_PASSWORD,HOOK_SECRET,api_token" {
		t.Fatalf("redacted names %q", got)
	}
	e := r.Engine
	if e == nil || e.Name != "containerd-cri" || e.Namespace != "k8s.io" || e.PodNamespace != "prod" || e.PodName != "web-7d9" ||
		e.PodUID != "0b9c-uid" || e.ContainerName != "nginx" || e.Image != "docker.io/library/nginx:1.27" || e.SandboxID != "5f1d2a" {
		t.Fatalf("engine %+v", e)
	}
	if r.Caller == nil || r.Caller.PID != os.Getpid() || r.Caller.Exe == "" || len(r.Caller.Cmdline) == 0 {
		t.Fatalf("caller %+v", r.Caller)
	}
	if r.Host == nil || r.Host.Kernel == "" || r.Host.Cgroup == "" {
		t.Fatalf("host facts %+v", r.Host)
	}
	if r.Time.Location().String() != "UTC" || r.Schema != SchemaVersion {
		t.Fatalf("time/schema %v %d", r.Time, r.Schema)
	}
}

func TestRedactNoMatchKeepsDocument(t *testing.T) {
	doc := []byte(`{"b":1, "a":{"env":["PATH=/bin"]}}`)
	got, names, err := Redact(doc, []string{"*TOKEN*"})
	if err != nil || names != nil || string(got) != `{"b":1,"a":{"env":["PATH=/bin"]}}` {
		t.Fatalf("got %s %v %v", got, names, err)
	}
}

// TestDecisionStoredAsGiven: the record stores the runtime's decision
// verbatim; nothing recomputes it (a mode = "off" launch stays "off").
func TestDecisionStoredAsGiven(t *testing.T) {
	for _, d := range []Decision{
		{Result: Allowed},
		{Result: Denied, Modifier: "namespaces", Rule: "namespaces.allow_host", Reason: "host network"},
		{Result: Audit, Modifier: "namespaces", Rule: "namespaces.allow_host", Reason: "host network"},
		{Result: Off},
		{Result: Failed, Reason: "boom"},
	} {
		t.Run(string(d.Result), func(t *testing.T) {
			r, err := Build(Input{Verb: "create", ContainerID: "x", Profile: testProfile(policy.ModeOff), Decision: d, PPID: os.Getpid()})
			if err != nil {
				t.Fatal(err)
			}
			if r.Decision != d {
				t.Fatalf("stored %+v, given %+v", r.Decision, d)
			}
		})
	}
}

func TestShortRecordAndMalformedDocument(t *testing.T) {
	r, err := Build(Input{Verb: "kill", Argv: []string{"hardened-runc", "kill", "x", "KILL"}, ContainerID: "x", DocumentKind: "resources.json", Original: []byte("not json")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != nil || r.Hardened != nil || string(r.Original.Content) != `"not json"` {
		t.Fatalf("short record: %+v", r)
	}
}

func TestEngineFrom(t *testing.T) {
	tests := []struct {
		name   string
		ann    map[string]string
		bundle string
		caller *Caller
		want   Engine
	}{
		{"docker", nil, "/run/containerd/io.containerd.runtime.v2.task/moby/abc", nil, Engine{Name: "docker", Namespace: "moby"}},
		{"containerd", nil, "/run/containerd/io.containerd.runtime.v2.task/default/abc", nil, Engine{Name: "containerd", Namespace: "default"}},
		{"cri-o", map[string]string{"io.kubernetes.pod.namespace": "ns", "io.kubernetes.pod.name": "p", "io.kubernetes.cri-o.ImageName": "quay.io/x:1", "io.kubernetes.cri-o.ImageRef": "quay.io/x@sha256:aa"},
			"/var/run/containers/storage/overlay-containers/abc/userdata", nil,
			Engine{Name: "cri-o", PodNamespace: "ns", PodName: "p", Image: "quay.io/x:1", ImageDigest: "sha256:aa"}},
		{"podman", map[string]string{"io.container.manager": "libpod"}, "/b", nil, Engine{Name: "podman"}},
		{"caller only", nil, "/b", &Caller{Manager: "dockerd"}, Engine{Name: "docker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EngineFrom(tt.ann, tt.bundle, tt.caller)
			if got == nil || *got != tt.want {
				t.Fatalf("got %+v want %+v", got, tt.want)
			}
		})
	}
	if EngineFrom(nil, "/b", nil) != nil {
		t.Fatal("unknown engine should be nil")
	}
}

func TestReadCallerFakeProc(t *testing.T) {
	proc := t.TempDir()
	mk := func(pid, stat, cmdline string) {
		d := filepath.Join(proc, pid)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(cmdline), 0o644)
	}
	mk("300", "300 (containerd-shim) S 1 300 300 0", "/usr/bin/containerd-shim-runc-v2\x00-namespace\x00moby\x00")
	mk("400", "400 (runc wrap (x)) S 300 300 300 0", "hardened-runc\x00create\x00")
	c := ReadCaller(proc, 400)
	if c.Manager != "containerd-shim" || len(c.Ancestors) != 1 || c.Ancestors[0] != "300:containerd-shim" || !bytes.Equal([]byte(strings.Join(c.Cmdline, " ")), []byte("hardened-runc create")) {
		t.Fatalf("caller %+v", c)
	}
}
