package modifier

import (
	"errors"
	"testing"
)

type cleaner struct{}

func (cleaner) Name() string           { return "cleaner" }
func (cleaner) Cleanup(*Context) error { return nil }

type holder struct {
	cleaner
	held bool
	err  error
}

func (h holder) Holds(*Context) (bool, error) { return h.held, h.err }

// TestCleanersHolds: false only when every Cleaner is a Holder that says
// so; a Cleaner that cannot answer, or fails to, counts as holding.
func TestCleanersHolds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		l       Cleaners
		want    bool
		wantErr bool
	}{
		{"no cleaners", Cleaners{}, false, false},
		{"holders holding nothing", Cleaners{holder{}, holder{}}, false, false},
		{"one holds", Cleaners{holder{}, holder{held: true}}, true, false},
		{"a cleaner that cannot tell", Cleaners{holder{}, cleaner{}}, true, false},
		{"a holder that fails", Cleaners{holder{err: errors.New("unreadable")}, holder{}}, true, true},
	} {
		got, err := tc.l.Holds(&Context{ContainerID: "c1"})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: Holds = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
