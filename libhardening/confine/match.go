package confine

import (
	"path"
	"slices"
	"strings"
)

// matchPath reports whether the host path p matches the profile pattern pat:
//   - "*/name" matches any path whose last element matches name, wherever it
//     lives ("*/docker.sock" matches /var/run/docker.sock and /srv/x/docker.sock);
//   - "/dir/*" matches everything beneath /dir, at any depth;
//   - anything else is a path.Match glob on the whole cleaned path ("/lib*").
func matchPath(pat, p string) bool {
	p = path.Clean(p)
	if rest, ok := strings.CutPrefix(pat, "*/"); ok {
		m, _ := path.Match(rest, path.Base(p))
		return m
	}
	if dir, ok := strings.CutSuffix(pat, "/*"); ok && !strings.ContainsAny(dir, "*?[") {
		return p != dir && under(p, dir)
	}
	m, _ := path.Match(pat, p)
	return m
}

// matchAny returns the first pattern that matches p, or "".
func matchAny(pats []string, p string) string {
	for _, pat := range pats {
		if matchPath(pat, p) {
			return pat
		}
	}
	return ""
}

// under reports whether p is dir or beneath it (both cleaned, absolute).
func under(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// capName normalises a capability name to the spec's CAP_ form.
func capName(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// filter returns the elements of list for which keep is true, preserving
// order, and those dropped. A nil list stays nil.
func filter(list []string, keep func(string) bool) (kept, dropped []string) {
	if list == nil {
		return nil, nil
	}
	kept = []string{}
	for _, v := range list {
		if keep(v) {
			kept = append(kept, v)
		} else {
			dropped = append(dropped, v)
		}
	}
	return kept, dropped
}

// missing returns the elements of want that are not in have, in want's order,
// without duplicates.
func missing(have, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func hasOption(opts []string, o string) bool { return slices.Contains(opts, o) }

func ptr[T any](v T) *T { return &v }

// deref returns *p, or nil (typed any) when p is nil, for Change.Before.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
