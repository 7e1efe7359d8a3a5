package lower

import (
	"slices"
	"testing"
)

func TestExposed(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		want []string
	}{
		{Version{"runc", "1.0.0-rc6"}, []string{"CVE-2019-5736", "CVE-2021-30465", "CVE-2024-21626", "CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		// rc95 carries the CVE-2021-30465 fix.
		{Version{"runc", "1.0.0-rc95"}, []string{"CVE-2024-21626", "CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.1.5+ds1"}, []string{"CVE-2024-21626", "CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.1.12"}, []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.2.7"}, []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.2.8"}, nil},
		{Version{"runc", "1.3.2"}, []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.3.3"}, nil},
		{Version{"runc", "1.4.0-rc.2"}, []string{"CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"}},
		{Version{"runc", "1.4.0-rc.3"}, nil},
		{Version{"runc", "1.5.2"}, nil},
		// crun is judged by crun's advisories, not runc's: crun 1.8.1
		// is not "runc 1.8.1 below 1.2.8".
		{Version{"crun", "1.4.3"}, []string{"CVE-2022-27650"}},
		{Version{"crun", "1.4.4"}, nil},
		{Version{"crun", "1.8.1"}, nil},
		{Version{"", "youki version 0.3.0"}, nil},
	} {
		var got []string
		for _, c := range Exposed(tc.v) {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %s: exposed to %v, want %v", tc.v.Impl(), tc.v.Release, got, tc.want)
		}
	}
}

func TestReleaseLess(t *testing.T) {
	order := []string{"1.0.0-rc6", "1.0.0-rc95", "1.0.0", "1.1.5", "1.1.12", "1.4.0-rc.2", "1.4.0-rc.3", "1.4.0", "2.0"}
	for i := range order {
		for j := range order {
			a, okA := ParseRelease(order[i])
			b, okB := ParseRelease(order[j])
			if !okA || !okB {
				t.Fatalf("ParseRelease(%q/%q) failed", order[i], order[j])
			}
			if a.Less(b) != (i < j) {
				t.Errorf("%s < %s = %v, want %v", order[i], order[j], a.Less(b), i < j)
			}
		}
	}
	if r, _ := ParseRelease("1.1.5+ds1"); r != (Release{Major: 1, Minor: 1, Patch: 5}) {
		t.Errorf("1.1.5+ds1 = %+v, want 1.1.5", r)
	}
	if _, ok := ParseRelease("youki 0.3"); ok {
		t.Error("ParseRelease accepted a non-version")
	}
}
