package forensics

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnifiedDiffMatchesDiffU compares with GNU diff -u on inputs whose
// shortest edit is unique, so both tools must agree line for line.
func TestUnifiedDiffMatchesDiffU(t *testing.T) {
	diffTool, err := exec.LookPath("diff")
	if err != nil {
		t.Skip("diff(1) not installed; TestLineEditsMinimal still covers the algorithm")
	}
	var a, b []string
	for i := 0; i < 40; i++ {
		a = append(a, "line "+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	b = append(b, a[:5]...)
	b = append(b, "inserted one", "inserted two")
	b = append(b, a[5:17]...)
	b = append(b, a[18:30]...)
	b = append(b, "changed 30")
	b = append(b, a[31:]...)
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(pa, []byte(strings.Join(a, "\n")+"\n"), 0o644)
	os.WriteFile(pb, []byte(strings.Join(b, "\n")+"\n"), 0o644)
	out, _ := exec.Command(diffTool, "-u", "--label", "a", "--label", "b", pa, pb).Output()
	if got := UnifiedDiff(a, b, "a", "b"); got != string(out) {
		t.Fatalf("got:\n%s\nwant (diff -u):\n%s", got, out)
	}
}

// TestLineEditsMinimal checks on random inputs that the edit script turns a
// into b and is as short as the longest common subsequence allows.
func TestLineEditsMinimal(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "b", "c", "d"}
	for n := 0; n < 300; n++ {
		a := make([]string, rng.Intn(30))
		b := make([]string, rng.Intn(30))
		for i := range a {
			a[i] = words[rng.Intn(len(words))]
		}
		for i := range b {
			b[i] = words[rng.Intn(len(words))]
		}
		var ga, gb []string
		changes := 0
		for _, e := range lineEdits(a, b) {
			if e.op != '+' {
				ga = append(ga, e.text)
			}
			if e.op != '-' {
				gb = append(gb, e.text)
			}
			if e.op != ' ' {
				changes++
			}
		}
		if strings.Join(ga, ",") != strings.Join(a, ",") || strings.Join(gb, ",") != strings.Join(b, ",") {
			t.Fatalf("edits do not rebuild a=%v b=%v", a, b)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("a=%v b=%v: %d changes, minimum is %d", a, b, changes, want)
		}
	}
}

func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func TestDiffDocuments(t *testing.T) {
	a := &Document{Kind: "config.json", SHA256: "sha256:a", Content: []byte(`{"root":{"path":"rootfs"},"process":{"noNewPrivileges":false}}`)}
	b := &Document{Kind: "config.json", SHA256: "sha256:b", Content: []byte(`{"process":{"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true}}`)}
	got, err := DiffDocuments(a, b, "original", "hardened")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- original sha256:a", "+++ hardened sha256:b", `-    "noNewPrivileges": false`, `+    "noNewPrivileges": true`, `+    "readonly": true`} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in\n%s", want, got)
		}
	}
	if same, _ := DiffDocuments(a, a, "x", "y"); same != "" {
		t.Fatalf("equal documents differ:\n%s", same)
	}
}
