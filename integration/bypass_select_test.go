//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// legacyRule gives pods of namespace "legacy" the baseline profile (a
// writable root filesystem, Docker's capabilities): weaker than the
// default, so it may match only on keys the engine writes itself.
const legacyRule = `
[[select]]
profile = "baseline"
annotations = { "io.kubernetes.cri.sandbox-namespace" = "legacy" }
`

// forge sets annotations the way `docker run --annotation`, `ctr run
// --annotation` or a pod annotation next to CRI-O's own keys would, on a
// writable root filesystem as Docker and containerd ask for it.
func forge(ann map[string]string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Root.Readonly = false
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		for k, v := range ann {
			s.Annotations[k] = v
		}
	}
}

// baselineProbe tells the two profiles apart from inside: baseline keeps
// Docker's CAP_SYS_CHROOT, which the default profile's allow list drops.
// (Both leave the root filesystem writable now that the default only
// audits a read-only root.)
var baselineProbe = []string{"sh", "-c", "chroot / true 2>/dev/null && echo BASELINE-CAPS; echo DONE"}

// TestBypassSelect is bypass #11, second half: annotations that whoever
// asks for the container can set must not select a weaker profile.
// forgedLegacy is a case where annotations nobody vouches for name the
// "legacy" namespace, which legacyRule gives the weaker baseline profile:
// the launch goes ahead under the default profile.
func forgedLegacy(name string, ann map[string]string) bypass {
	return bypass{
		name: name,
		mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
			h.setConfig(legacyRule)
			forge(ann)(s)
		},
		argv: baselineProbe,
		harmless: func(r Result) string {
			if strings.Contains(r.Stdout, "BASELINE-CAPS") {
				return "the forged annotation selected baseline: chroot (CAP_SYS_CHROOT) worked"
			}
			if !strings.Contains(r.Stdout, "DONE") {
				return "the container did not run: " + r.Stdout
			}
			return ""
		},
	}
}

// TestBypassSelect is bypass #11, second half: annotations that whoever
// asks for the container can set must not select a weaker profile.
func TestBypassSelect(t *testing.T) {
	runBypasses(t, "select", []bypass{
		// hardened-runc is called here by the test, not by containerd's
		// CRI shim: the engine did not write these keys.
		forgedLegacy("forged io.kubernetes.cri.* annotations select a weaker profile", map[string]string{
			"io.kubernetes.cri.container-type":    "container",
			"io.kubernetes.cri.sandbox-namespace": "legacy",
			"io.kubernetes.cri.sandbox-name":      "web",
		}),
		// CRI-O passes every pod annotation: a pod can set any key beside
		// CRI-O's own.
		forgedLegacy("a pod annotation next to CRI-O's keys selects a weaker profile", map[string]string{
			"io.kubernetes.pod.namespace":         "prod",
			"io.kubernetes.pod.name":              "web",
			"io.kubernetes.cri.sandbox-namespace": "legacy",
		}),
		{
			// A rule on a key no engine writes would let anyone choose
			// the weaker profile: the config does not load.
			name: "a [[select]] rule weakens the policy on a pod annotation",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				h.setConfig("[[select]]\nprofile = \"baseline\"\nannotations = { \"hardened-runc.io/profile\" = \"baseline\" }\n")
				forge(map[string]string{"hardened-runc.io/profile": "baseline"})(s)
			},
			want: []string{`select[0] (profile "baseline") matches on annotation "hardened-runc.io/profile"`, "match only on annotations the engine writes itself"},
		},
		{
			name: "a [[select]] rule weakens the policy on the container's argv",
			mod: func(t *testing.T, h *Harness, l Lower, s *specs.Spec) {
				h.setConfig("[[select]]\nprofile = \"baseline\"\nargs = \"sh *\"\n")
			},
			want: []string{`select[0] (profile "baseline") matches on args`},
		},
	})
}

// TestBypassSelectForensicIdentity: a container that forges another pod's
// annotations is not listed under that pod; the forged keys are on record
// as claims.
func TestBypassSelectForensicIdentity(t *testing.T) {
	forEachLower(t, func(t *testing.T, l Lower) {
		h := newHarness(t)
		forged := map[string]string{
			"io.kubernetes.cri.container-type":    "container",
			"io.kubernetes.cri.sandbox-namespace": "kube-system",
			"io.kubernetes.cri.sandbox-name":      "coredns",
			"io.kubernetes.pod.namespace":         "kube-system",
			"io.kubernetes.pod.name":              "coredns",
		}
		r := h.run(t, l, "default", forge(forged), "true")
		if r.Code != 0 {
			t.Fatalf("launch: %s", r)
		}
		list := h.hardenctl(t, l, "forensics", "list", "--dir", h.Forensics, "--output", "json", "--pod", "kube-system/coredns")
		if list.Code != 0 || strings.TrimSpace(list.Stdout) != "[]" {
			t.Fatalf("the forged pod lists records: %s", list)
		}
		show := h.hardenctl(t, l, "forensics", "show", r.ID, "--dir", h.Forensics, "--output", "json")
		var recs []struct {
			Verb   string `json:"verb"`
			Engine *struct {
				Name     string            `json:"name"`
				Evidence string            `json:"evidence"`
				PodName  string            `json:"pod_name"`
				Claimed  map[string]string `json:"claimed"`
			} `json:"engine"`
		}
		if err := json.Unmarshal([]byte(show.Stdout), &recs); err != nil || len(recs) == 0 {
			t.Fatalf("forensics show: %v\n%s", err, show)
		}
		run := recs[len(recs)-1]
		if run.Verb != "run" || run.Engine == nil || run.Engine.PodName != "" || run.Engine.Evidence == "" ||
			run.Engine.Claimed["io.kubernetes.cri.sandbox-namespace"] != "kube-system" || run.Engine.Claimed["io.kubernetes.pod.name"] != "coredns" {
			t.Fatalf("run record engine: %+v", run.Engine)
		}
	})
}

// dockerEngine returns the engine of the create record of the container
// docker ran with args (plus a --cidfile), and the profile it ran under.
func dockerEngine(t *testing.T, d *Docker, l Lower, args ...string) (Result, map[string]any, string) {
	t.Helper()
	cidfile := filepath.Join(t.TempDir(), "cid")
	r := d.Run(t, append([]string{"run", "--rm", "--cidfile", cidfile, "--runtime", d.runtimeFor(l)}, args...)...)
	if r.Code != 0 {
		return r, nil, ""
	}
	id, err := os.ReadFile(cidfile)
	if err != nil {
		t.Fatal(err)
	}
	show := runCmd(t, time.Minute, nil, nil, filepath.Join(env.bin, "hardenctl"), "forensics", "show", strings.TrimSpace(string(id)),
		"--dir", d.Forensics, "--output", "json")
	var recs []struct {
		Verb    string         `json:"verb"`
		Engine  map[string]any `json:"engine"`
		Profile *struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	if err := json.Unmarshal([]byte(show.Stdout), &recs); err != nil {
		t.Fatalf("forensics show: %v\n%s", err, show)
	}
	for _, rec := range recs {
		if rec.Verb == "create" && rec.Profile != nil {
			return r, rec.Engine, rec.Profile.Name
		}
	}
	t.Fatalf("no create record for %s:\n%s", id, show.Stdout)
	return r, nil, ""
}

// TestBypassSelectDocker is bypass #11 through Docker: the record names
// Docker from its shim, and on Docker ≥ 24, whose user sets any annotation,
// `docker run --annotation` with containerd's CRI keys neither selects the
// weaker profile the legacy rule gives that namespace nor lists the
// container under the pod it names.
func TestBypassSelectDocker(t *testing.T) {
	d := docker(t)
	forEachLower(t, func(t *testing.T, l Lower) {
		r, engine, profile := dockerEngine(t, d, l, Image, "true")
		if r.Code != 0 {
			t.Fatalf("docker run: %s", r)
		}
		if engine["name"] != "docker" || !strings.Contains(fmt.Sprint(engine["evidence"]), "containerd-shim") ||
			!strings.Contains(fmt.Sprint(engine["evidence"]), "-namespace moby") || profile != "default" {
			t.Fatalf("plain docker run recorded as engine %v, profile %q", engine, profile)
		}
		api, err := d.cli("version", "--format", "{{.Server.APIVersion}}")
		if err != nil {
			t.Fatalf("docker version: %v", err)
		}
		if major, minor, _ := strings.Cut(strings.TrimSpace(api), "."); major == "1" && len(minor) == 2 && minor < "43" {
			t.Skipf("dockerd speaks API %s: docker run --annotation needs 1.43 (Docker 24), so this Docker cannot produce the forgery", strings.TrimSpace(api))
		}
		r, engine, profile = dockerEngine(t, d, l,
			"--annotation", "io.kubernetes.cri.container-type=container",
			"--annotation", "io.kubernetes.cri.sandbox-namespace=legacy",
			"--annotation", "io.kubernetes.cri.sandbox-name=web",
			Image, baselineProbe[0], baselineProbe[1], baselineProbe[2])
		if r.Code != 0 || !strings.Contains(r.Stdout, "DONE") {
			t.Fatalf("docker run: %s", r)
		}
		if strings.Contains(r.Stdout, "BASELINE-CAPS") || profile != "default" {
			t.Errorf("NOT BLOCKED: the forged annotation selected %q (chroot worked: %v)", profile, strings.Contains(r.Stdout, "BASELINE-CAPS"))
		}
		claimed, _ := engine["claimed"].(map[string]any)
		if engine["name"] != "docker" || engine["pod_name"] != nil || claimed["io.kubernetes.cri.sandbox-namespace"] != "legacy" {
			t.Errorf("record of the forged container: engine %v", engine)
		}
	})
}
