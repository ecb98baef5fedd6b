package cases

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func held(team string, p fbv1.Priority, hold time.Duration) *fbv1.Decision {
	d := decision(team, p, "complaint")
	d.Hold = durationpb.New(hold)
	return d
}

func clocksOf(c *fbv1.Case) Clocks {
	ch, _ := settings().Chain(c.Chain)
	return Clocks{Chain: ch}
}

func TestHeldCaseOpensQuietlyAtLevelZeroAndPagesAtTheHoldsEnd(t *testing.T) {
	m := mention("m1", t0)
	m.ReplyToId = "x:brand-post"
	c, events := Decide(Current{}, "tag", held("standard", fbv1.Priority_PRIORITY_NORMAL, 2*time.Minute), m, settings(), t0)
	if c.Level != 0 || !Held(c) || !c.HeldUntil.AsTime().Equal(t0.Add(2*time.Minute)) || c.HeldPostId != "x:brand-post" {
		t.Fatalf("case level %d held until %v post %q: want level 0, held 2m, knowing the post it replies to", c.Level, c.HeldUntil, c.HeldPostId)
	}
	if len(events) != 1 || !events[0].Quiet || len(events[0].Receivers) != 0 || events[0].Level != 0 {
		t.Fatalf("opening events %v: want one, quiet, paging nobody", events)
	}
	k := clocksOf(c)
	if _, e, due := Tick(c, k, t0.Add(time.Minute)); e != nil || !due.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("a minute in: event %v, next due %v; want nothing, due at the hold's end", e, due)
	}
	if HoldOver(c, t0.Add(time.Minute)) || !HoldOver(c, t0.Add(2*time.Minute)) {
		t.Fatal("HoldOver: want false before the hold's end and true at it")
	}
	after, e, _ := Tick(c, k, t0.Add(2*time.Minute))
	if e == nil || e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED || e.Level != 1 || len(e.Receivers) != 1 || e.Receivers[0] != "queue" {
		t.Fatalf("at the hold's end: %v, want level 1 paging the queue", e)
	}
	if e.Reasons[0].Code != "hold_ended" || !strings.Contains(e.Reasons[0].Text, "no incident covers it") || after.HeldUntil != nil || Held(after) {
		t.Fatalf("page reasons %v, case held until %v: want the hold's end explained and the hold over", e.Reasons, after.HeldUntil)
	}
	// Fired again (a second replica, a redelivery), it is the same page.
	_, again, _ := Tick(c, k, t0.Add(2*time.Minute+time.Second))
	if again.Id != e.Id {
		t.Fatalf("event ids %s and %s: the hold's page must have one id", e.Id, again.Id)
	}
}

func TestAckOrResolveDuringTheHoldMeansNoPage(t *testing.T) {
	c, _ := Decide(Current{}, "tag", held("standard", fbv1.Priority_PRIORITY_NORMAL, 2*time.Minute), mention("m1", t0), settings(), t0)
	acked, _, err := Acknowledge(c, "ana", "", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, e, _ := Tick(acked, clocksOf(acked), t0.Add(time.Hour)); e != nil || HoldOver(acked, t0.Add(time.Hour)) {
		t.Fatalf("acknowledged during the hold, then: %v; want no page", e)
	}
	resolved, _, _ := Resolve(c, "ana", "", t0.Add(time.Minute))
	if _, e, _ := Tick(resolved, clocksOf(resolved), t0.Add(time.Hour)); e != nil || HoldOver(resolved, t0.Add(time.Hour)) {
		t.Fatalf("resolved during the hold, then: %v; want no page", e)
	}
}

func TestRepeatComplaintDuringTheHoldPagesAtOnce(t *testing.T) {
	c, _ := Decide(Current{}, "tag", held("standard", fbv1.Priority_PRIORITY_NORMAL, 2*time.Minute), mention("m1", t0), settings(), t0)
	same, events := Decide(Current{Case: c, N: 1}, "tag", held("standard", fbv1.Priority_PRIORITY_NORMAL, 2*time.Minute), mention("m2", t0.Add(time.Minute)), settings(), t0.Add(time.Minute))
	if !Held(same) || !same.HeldUntil.AsTime().Equal(t0.Add(2*time.Minute)) || events[0].Type != fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED {
		t.Fatalf("a second standard complaint: held until %v, event %v; want the same hold, an update", same.HeldUntil, events[0].Type)
	}
	raised, events := Decide(Current{Case: same, N: 1}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "repeat"), mention("m3", t0.Add(90*time.Second)), settings(), t0.Add(90*time.Second))
	if raised.Level != 1 || Held(raised) || raised.HeldUntil != nil || events[0].Quiet || len(events[0].Receivers) == 0 {
		t.Fatalf("the third complaint: level %d held %v event %v; want it to page senior at once", raised.Level, raised.HeldUntil, events[0])
	}
}

func TestHeldCaseJoinsAnIncidentQuietlyOrWaitsOnce(t *testing.T) {
	c, _ := Decide(Current{}, "tag", held("standard", fbv1.Priority_PRIORITY_NORMAL, 2*time.Minute), mention("m1", t0), settings(), t0)
	end := t0.Add(2 * time.Minute)
	longer, e := ExtendHold(c, 2*time.Minute, end)
	if !Held(longer) || longer.HoldWaits != 1 || !longer.HeldUntil.AsTime().Equal(end.Add(2*time.Minute)) || !e.Quiet || e.Reasons[0].Code != "held" {
		t.Fatalf("extended: held until %v, waits %d, event %v", longer.HeldUntil, longer.HoldWaits, e)
	}
	if _, fired, due := Tick(longer, clocksOf(longer), end.Add(time.Minute)); fired != nil || !due.Equal(end.Add(2*time.Minute)) {
		t.Fatalf("while extended: %v due %v; want nothing until the new end", fired, due)
	}
	joined, e := JoinHeld(longer, "acme-incident-1", "41 people complained about broadband in 15 minutes; usually 3 ± 2", end.Add(2*time.Minute))
	if joined.IncidentId != "acme-incident-1" || joined.Chain != "" || Held(joined) || !e.Quiet || len(e.Receivers) != 0 ||
		!strings.Contains(e.Reasons[0].Text, "joined incident acme-incident-1 at the end of its hold: 41 people complained") {
		t.Fatalf("joined: %v, event %v; want it linked, chainless and quiet, saying why", joined, e)
	}
	if _, again := JoinHeld(longer, "acme-incident-1", "why", end.Add(3*time.Minute)); again.Id != e.Id {
		t.Fatalf("event ids %s and %s: joining must have one id whoever does it", e.Id, again.Id)
	}
}
