package modifier

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// planner records a change in Modify and registers an effect that appends
// its name to ran, then amends or drops that change, or fails.
type planner struct {
	name string
	ran  *[]string
	do   string // "amend", "drop", "deny", "fail"
}

func (p planner) Name() string { return p.name }

func (p planner) Modify(ctx *Context, s *specs.Spec, r *Report) error {
	i := r.Len()
	r.Set(p.name, nil, "planned", "rule", "why", "")
	ctx.Effect(func(ctx *Context, s *specs.Spec, r *Report) error {
		*p.ran = append(*p.ran, p.name)
		switch p.do {
		case "amend":
			c := r.Changes[i]
			c.After = "effected"
			r.Amend(i, &c)
		case "drop":
			r.Amend(i, nil)
		case "deny":
			return Deny("rule", "no", "")
		case "fail":
			return errors.New("broken")
		}
		// Changes an effect records are its modifier's.
		r.Set(p.name+".effect", nil, 1, "rule", "why", "")
		return nil
	})
	return nil
}

func TestRunEffects(t *testing.T) {
	var ran []string
	l := List{planner{"a", &ran, "amend"}, planner{"b", &ran, "drop"}, planner{"c", &ran, ""}}
	ctx, s, r := &Context{}, &specs.Spec{}, &Report{}
	if err := l.Modify(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 || ctx.Effected() {
		t.Fatalf("Modify ran effects: %v", ran)
	}
	if err := ctx.RunEffects(s, r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ran, []string{"a", "b", "c"}) || !ctx.Effected() {
		t.Fatalf("effects ran %v, want pipeline order", ran)
	}
	var got []string
	for _, c := range r.Changes {
		got = append(got, fmt.Sprintf("%s:%s=%v", c.Modifier, c.Path, c.After))
	}
	want := []string{"a:a=effected", "c:c=planned", "a:a.effect=1", "b:b.effect=1", "c:c.effect=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %v, want %v (amended in place, dropped removed)", got, want)
	}
	// Effects run once: a second call finds none.
	if err := ctx.RunEffects(s, r); err != nil || len(ran) != 3 {
		t.Errorf("second RunEffects: err %v, ran %v", err, ran)
	}
}

// TestApply: Apply is Modify then the effects, and only Modify in DryRun.
func TestApply(t *testing.T) {
	for _, dry := range []bool{false, true} {
		var ran []string
		ctx := &Context{DryRun: dry}
		if err := (List{planner{"a", &ran, ""}, planner{"b", &ran, ""}}).Apply(ctx, &specs.Spec{}, &Report{}); err != nil {
			t.Fatal(err)
		}
		want := []string{"a", "b"}
		if dry {
			want = nil
		}
		if !reflect.DeepEqual(ran, want) || ctx.Effected() == dry {
			t.Errorf("DryRun=%v: effects ran %v, want %v", dry, ran, want)
		}
	}
}

func TestRunEffectsStopsAtFirstError(t *testing.T) {
	for _, c := range []struct {
		do     string
		denial bool
	}{{"deny", true}, {"fail", false}} {
		var ran []string
		l := List{planner{"a", &ran, c.do}, planner{"b", &ran, ""}}
		ctx, s, r := &Context{}, &specs.Spec{}, &Report{}
		if err := l.Modify(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		err := ctx.RunEffects(s, r)
		d, denied := AsDenial(err)
		if err == nil || denied != c.denial || !reflect.DeepEqual(ran, []string{"a"}) {
			t.Fatalf("%s: err %v, ran %v", c.do, err, ran)
		}
		if denied && d.Modifier != "a" {
			t.Errorf("denial names %q, want the effect's modifier", d.Modifier)
		}
		if !denied && err.Error() != "a: broken" {
			t.Errorf("error %q, want it wrapped with the modifier", err)
		}
	}
}

type countingCleaner struct {
	name  string
	order *[]string
	err   error
}

func (c countingCleaner) Name() string { return c.name }
func (c countingCleaner) Cleanup(*Context) error {
	*c.order = append(*c.order, c.name)
	return c.err
}

func TestCleanersReverseAndJoined(t *testing.T) {
	var order []string
	l := Cleaners{countingCleaner{"userns", &order, errors.New("busy")}, countingCleaner{"selinux", &order, nil}, countingCleaner{"audit", &order, errors.New("gone")}}
	err := l.Cleanup(&Context{})
	if !reflect.DeepEqual(order, []string{"audit", "selinux", "userns"}) {
		t.Errorf("order %v, want reverse pipeline order", order)
	}
	if err == nil || err.Error() != "audit: gone\nuserns: busy" {
		t.Errorf("err %q, want both failures, named", err)
	}
}
