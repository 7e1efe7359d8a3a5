package modifier

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

type plain struct{}

func (plain) Name() string                                { return "plain" }
func (plain) Modify(*Context, *specs.Spec, *Report) error { return nil }

type cleaner struct{ plain }

func (cleaner) Cleanup(*Context) error { return nil }

type holder struct {
	cleaner
	held bool
	err  error
}

func (h holder) Holds(*Context) (bool, error) { return h.held, h.err }

// TestListHolds: false only when every Cleaner is a Holder that says so;
// a Cleaner that cannot answer, or fails to, counts as holding.
func TestListHolds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		l       List
		want    bool
		wantErr bool
	}{
		{"no cleaners", List{plain{}}, false, false},
		{"holders holding nothing", List{plain{}, holder{}, holder{}}, false, false},
		{"one holds", List{holder{}, holder{held: true}}, true, false},
		{"a cleaner that cannot tell", List{holder{}, cleaner{}}, true, false},
		{"a holder that fails", List{holder{err: errors.New("unreadable")}, holder{}}, true, true},
	} {
		got, err := tc.l.Holds(&Context{ContainerID: "c1"})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: Holds = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
