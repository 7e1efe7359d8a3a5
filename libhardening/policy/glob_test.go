package policy

import "testing"

// TestReferenceGlobs holds the reference to what it says of patterns.
func TestReferenceGlobs(t *testing.T) {
	for _, tc := range []struct {
		pattern, value string
		want           bool
	}{
		{"*/nginx:*", "docker.io/nginx:1.27", true},
		{"*/nginx:*", "docker.io/library/nginx:1.27", true},
		{"/usr/sbin/nginx *", "/usr/sbin/nginx -c /etc/nginx.conf", true},
		{"prod-?", "prod-12", false},
		{"prod-[0-9]*", "prod-1x", true},
		{"prod-[!0-9]*", "prod-1x", false},
		{"prod-*", "prod-web", true},
	} {
		if got := glob(tc.pattern, tc.value); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, the reference says %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}
