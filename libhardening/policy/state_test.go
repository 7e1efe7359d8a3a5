package policy

import (
	"slices"
	"testing"
)

func TestStatePaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		root string
		want []string
	}{
		{"defaults", *DefaultConfig(), "",
			[]string{"/etc/hardened-runc", "/etc/hardened-runc/profiles", "/var/lib/hardened-runc/forensics", "/run/hardened-runc", "/run/runc"}},
		{"moved config and dirs, docker's runc root",
			Config{Path: "/srv/hr/config.toml", ProfilesDir: "/srv/hr/profiles", ForensicsDir: "/data/f/", RunDir: "/run/hr"},
			"/run/docker/runtime-runc/moby",
			[]string{"/etc/hardened-runc", "/srv/hr/config.toml", "/srv/hr/profiles", "/data/f", "/run/hr", "/run/docker/runtime-runc/moby"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if c.Path == "" {
				c.Path = DefaultConfigPath
			}
			if got := c.StatePaths(tc.root); !slices.Equal(got, tc.want) {
				t.Fatalf("StatePaths = %v, want %v", got, tc.want)
			}
		})
	}
}
