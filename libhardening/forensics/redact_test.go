package forensics

import (
	"slices"
	"strings"
	"testing"
)

// TestRedactFindsEveryEnvList: the pre-check that skips the tree walk must
// never skip a document that has something to redact.
func TestRedactFindsEveryEnvList(t *testing.T) {
	patterns := []string{"*TOKEN*"}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"process env", `{"process":{"env":["PATH=/bin","API_TOKEN=s3cret"]}}`, []string{"API_TOKEN"}},
		{"bare process (exec)", `{"env":["GH_TOKEN=s3cret"],"args":["sh"]}`, []string{"GH_TOKEN"}},
		{"hook env", `{"hooks":{"prestart":[{"path":"/x","env":["HOOK_TOKEN=s3cret"]}]}}`, []string{"HOOK_TOKEN"}},
		{"escaped name", `{"process":{"env":["\u0041PI_TOKEN=s3cret"]}}`, []string{"API_TOKEN"}},
		{"lower-case name", `{"process":{"env":["api_token=s3cret"]}}`, []string{"api_token"}},
		{"unexpected shape", `{"process":{"env":"API_TOKEN=s3cret"},"hooks":[]}`, nil},
		// runc's decoder (encoding/json) reads keys case-insensitively,
		// and so must redaction.
		{"key in another case", `{"Process":{"ENV":["API_TOKEN=s3cret"]}}`, []string{"API_TOKEN"}},
		{"escaped key", `{"process":{"e\u006ev":["API_TOKEN=s3cret"]}}`, []string{"API_TOKEN"}},
		{"nothing to redact", `{"process":{"env":["PATH=/bin"]}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, names, err := Redact([]byte(tc.doc), patterns)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("redacted %v, want %v", names, tc.want)
			}
			if tc.want != nil && strings.Contains(string(got), "s3cret") {
				t.Errorf("secret kept: %s", got)
			}
		})
	}
}
