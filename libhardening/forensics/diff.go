package forensics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines around each hunk, as diff -u.
const diffContext = 3

// maxEditDistance bounds the diff's work; beyond it the documents are shown
// as wholly replaced.
const maxEditDistance = 4000

// DiffDocuments returns a unified diff of two stored documents, each
// pretty-printed with sorted keys so only real changes show.
func DiffDocuments(a, b *Document, nameA, nameB string) (string, error) {
	la, err := prettyLines(a)
	if err != nil {
		return "", fmt.Errorf("%s: %w", nameA, err)
	}
	lb, err := prettyLines(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", nameB, err)
	}
	if a != nil {
		nameA += " " + a.SHA256
	}
	if b != nil {
		nameB += " " + b.SHA256
	}
	return UnifiedDiff(la, lb, nameA, nameB), nil
}

func prettyLines(d *Document) ([]string, error) {
	if d == nil || len(d.Content) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(d.Content))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"), nil
}

// edit is one line of a diff: ' ', '-' or '+'.
type edit struct {
	op   byte
	text string
}

// UnifiedDiff formats the line differences of a and b like diff -u. It is
// empty when they are equal.
func UnifiedDiff(a, b []string, nameA, nameB string) string {
	edits := lineEdits(a, b)
	var out strings.Builder
	for _, h := range hunks(edits) {
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
		}
		out.WriteString(h)
	}
	return out.String()
}

// lineEdits is the shortest edit script from a to b (Myers' O(ND) greedy
// algorithm) after stripping the common prefix and suffix.
func lineEdits(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []edit
	for _, l := range a[:pre] {
		out = append(out, edit{' ', l})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, edit{' ', l})
	}
	return out
}

func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	max := n + m
	if max == 0 {
		return nil
	}
	off := max + 1
	v := make([]int, 2*max+2)
	var trace [][]int
	for d := 0; d <= max && d <= maxEditDistance; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, a, b, off)
			}
		}
	}
	return replaceAll(a, b)
}

// backtrack walks the saved frontiers from the end to the start.
func backtrack(trace [][]int, a, b []string, off int) []edit {
	x, y := len(a), len(b)
	var rev []edit
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		k := x - y
		var pk int
		if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := v[off+pk]
		py := px - pk
		for x > px && y > py {
			rev = append(rev, edit{' ', a[x-1]})
			x, y = x-1, y-1
		}
		if d > 0 {
			if x == px {
				rev = append(rev, edit{'+', b[py]})
			} else {
				rev = append(rev, edit{'-', a[px]})
			}
		}
		x, y = px, py
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

func replaceAll(a, b []string) []edit {
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, edit{'-', l})
	}
	for _, l := range b {
		out = append(out, edit{'+', l})
	}
	return out
}

// hunks groups edits into diff -u hunks with diffContext lines of context.
func hunks(edits []edit) []string {
	var out []string
	for i := 0; i < len(edits); {
		if edits[i].op == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*diffContext {
				end = min(end+diffContext, len(edits))
				break
			}
			end = run
		}
		out = append(out, formatHunk(edits, start, end))
		i = end
	}
	return out
}

func formatHunk(edits []edit, start, end int) string {
	// Line numbers (1-based) of the hunk's first line in a and in b.
	la, lb := 1, 1
	for _, e := range edits[:start] {
		if e.op != '+' {
			la++
		}
		if e.op != '-' {
			lb++
		}
	}
	na, nb := 0, 0
	var body strings.Builder
	for _, e := range edits[start:end] {
		if e.op != '+' {
			na++
		}
		if e.op != '-' {
			nb++
		}
		body.WriteByte(e.op)
		body.WriteString(e.text)
		body.WriteByte('\n')
	}
	return fmt.Sprintf("@@ -%s +%s @@\n%s", hunkRange(la, na), hunkRange(lb, nb), body.String())
}

// hunkRange formats "start,count" as diff -u does (start is the line before
// an empty range).
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
