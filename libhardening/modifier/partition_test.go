package modifier

import (
	"slices"
	"testing"
)

type named struct {
	cleaner
	name string
}

func (n named) Name() string { return n.name }

type settler struct{ named }

func (settler) SettlesEngineView() {}

// TestPartition: a split delete runs the Settlers first and the rest
// after, each group in the list's order.
func TestPartition(t *testing.T) {
	a, b := settler{named{name: "a"}}, settler{named{name: "b"}}
	x, y := named{name: "x"}, named{name: "y"}
	for _, tc := range []struct {
		name         string
		in           Cleaners
		settle, rest []string
	}{
		{"none", nil, nil, nil},
		{"no settlers", Cleaners{x, y}, nil, []string{"x", "y"}},
		{"mixed, order kept", Cleaners{x, a, y, b}, []string{"a", "b"}, []string{"x", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r := tc.in.Partition()
			names := func(l Cleaners) (out []string) {
				for _, c := range l {
					out = append(out, c.Name())
				}
				return out
			}
			if !slices.Equal(names(s), tc.settle) || !slices.Equal(names(r), tc.rest) {
				t.Errorf("Partition = %v, %v; want %v, %v", names(s), names(r), tc.settle, tc.rest)
			}
		})
	}
}
