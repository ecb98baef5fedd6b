package surge

import (
	"fmt"
	"testing"
	"time"
)

// endHold looks at scopes at at, as the service does when a hold ends.
func (b *brand) endHold(at time.Time, scopes []Scope, mayWait bool) HoldEnd {
	obs := b.counter.Observe("", at, scopes, b.cfg)
	b.step(obs)
	return b.st.EndHold(obs, scopes, mayWait, b.cfg)
}

func TestTheFirstComplaintsOfAnOutageWaitForItsIncidentThenJoinIt(t *testing.T) {
	b := newBrand(t)
	scopes := ScopesOf([]string{"broadband"}, "")
	// 3 seconds apart: the 10th author crosses the threshold after 27s;
	// the incident opens once that has lasted persist, at about 147s.
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 3 * time.Second) }
	for i := range 45 {
		b.complain(fmt.Sprintf("a%d", i), at(i), []string{"broadband"}, "")
	}
	// The first complaint's 2m hold ends before the incident opens, while
	// the surge is rising: it waits.
	if got := b.endHold(t0.Add(2*time.Minute), scopes, true); got.Wait != time.Minute || got.Join {
		t.Fatalf("at the first hold's end: %+v, want it to wait half the persist for the rising surge", got)
	}
	if got := b.endHold(t0.Add(2*time.Minute), scopes, false); got.Wait != 0 || got.Join {
		t.Fatalf("at the end of a hold that waited all it may with no incident: %+v, want it to page", got)
	}
	for i := 45; i < 80; i++ {
		b.complain(fmt.Sprintf("a%d", i), at(i), []string{"broadband"}, "")
	}
	if len(b.st.OpenGroups()) != 1 {
		t.Fatalf("open groups %v, want the outage", b.st.OpenGroups())
	}
	got := b.endHold(t0.Add(4*time.Minute), scopes, false)
	if !got.Join || got.Group != "outage" || got.Incident.Seq != 1 {
		t.Fatalf("at the extended hold's end: %+v, want it to join the outage", got)
	}
}

func TestALoneComplaintPagesAtItsHoldsEnd(t *testing.T) {
	b := newBrand(t)
	b.complain("a1", t0, []string{"billing"}, "x:post")
	if got := b.endHold(t0.Add(2*time.Minute), ScopesOf([]string{"billing"}, "x:post"), true); got.Wait != 0 || got.Join {
		t.Fatalf("a lone complaint's hold ended: %+v, want it to page", got)
	}
}
