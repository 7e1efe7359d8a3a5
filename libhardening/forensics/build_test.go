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
		Caller: &Caller{PID: 300, Exe: "/usr/bin/containerd-shim-runc-v2", Cmdline: []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "web"}},
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
	// containerd 1.6 does not write sandbox-uid on containers: a pod
	// annotation passed through could have, so it is only a claim.
	if e == nil || e.Name != "containerd-cri" || e.Namespace != "k8s.io" || e.PodNamespace != "prod" || e.PodName != "web-7d9" ||
		e.PodUID != "" || e.Claimed["io.kubernetes.cri.sandbox-uid"] != "0b9c-uid" || e.ContainerName != "nginx" ||
		e.Image != "docker.io/library/nginx:1.27" || e.SandboxID != "5f1d2a" || r.Pod() != "prod/web-7d9" {
		t.Fatalf("engine %+v", e)
	}
	if r.Caller == nil || r.Caller.PID != 300 {
		t.Fatalf("caller %+v: not the one given", r.Caller)
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
	os.Symlink("/usr/bin/containerd-shim-runc-v2", filepath.Join(proc, "300", "exe"))
	c := ReadCaller(proc, 400)
	if c.Manager != "containerd-shim" || len(c.Ancestors) != 1 || c.Ancestors[0] != "300:containerd-shim" || !bytes.Equal([]byte(strings.Join(c.Cmdline, " ")), []byte("hardened-runc create")) {
		t.Fatalf("caller %+v", c)
	}
	if len(c.ManagerExes) != 1 || c.ManagerExes[0] != "300:/usr/bin/containerd-shim-runc-v2" {
		t.Fatalf("manager exes %v", c.ManagerExes)
	}
}
