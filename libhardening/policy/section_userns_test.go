package policy

import (
	"strings"
	"testing"
)

// TestTrustedSubIDUsersValidate: a profile may trust an engine's own
// subordinate-ID entry, never the one hardened-runc allocates from (a
// caller could then pick another container's range).
func TestTrustedSubIDUsersValidate(t *testing.T) {
	for _, c := range []struct {
		u       Userns
		wantErr string
	}{
		{Userns{Mode: "enabled", Fallback: "deny", TrustedSubIDUsers: []string{"dockremap"}}, ""},
		{Userns{Mode: "enabled", Fallback: "deny", TrustedSubIDUsers: []string{"hardened-runc"}}, "trusted_subid_users"},
		{Userns{Mode: "enabled", Fallback: "deny", SubIDUser: "pool", TrustedSubIDUsers: []string{"pool"}}, "trusted_subid_users"},
		{Userns{Mode: "enabled", Fallback: "deny", TrustedSubIDUsers: []string{""}}, "trusted_subid_users"},
	} {
		err := c.u.validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%+v: err = %v, want %q", c.u, err, c.wantErr)
		}
	}
}
