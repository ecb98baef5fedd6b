package surge

import (
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// learn gives a brand n ordinary windows of count authors each.
func learn(st State, scope Scope, n, count int, cfg Config) State {
	closed := make([]Closed, n)
	for i := range closed {
		closed[i] = Closed{Start: t0.Add(time.Duration(i-n) * cfg.Window).UnixMilli(), Count: count}
	}
	st, _ = Step(st, Observation{At: t0, Closed: map[Scope][]Closed{scope: closed}}, cfg)
	return st
}

func complaint(st State, at time.Time, counts map[Scope]int) (State, []Change) {
	return Step(st, Observation{At: at, Counts: counts, Complaint: true}, Defaults)
}

func TestBaselineLearnsTheUsualCount(t *testing.T) {
	st := learn(State{}, Brand, 50, 3, Defaults)
	b := st.Scopes[Brand].Baseline
	if b.Mean < 2.9 || b.Mean > 3.1 || b.SD() != 1 {
		t.Fatalf("baseline %+v after 50 windows of 3, want mean 3 and the floor sd 1", b)
	}
	// Windows with no complaint at all count as zero.
	st, _ = Step(st, Observation{At: t0, Closed: map[Scope][]Closed{Brand: {
		{Start: t0.UnixMilli(), Count: 3}, {Start: t0.Add(11 * Defaults.Window).UnixMilli(), Count: 3}}}}, Defaults)
	if m := st.Scopes[Brand].Baseline.Mean; m > 2 {
		t.Fatalf("mean %g after ten empty windows, want it to fall", m)
	}
}

func TestOneBurstMinuteIsNotAnIncident(t *testing.T) {
	st := learn(State{}, Brand, 20, 2, Defaults)
	var changes []Change
	for i := range 50 {
		var c []Change
		st, c = complaint(st, t0.Add(time.Duration(i)*time.Second), map[Scope]int{Brand: i + 1})
		changes = append(changes, c...)
	}
	if len(changes) != 0 {
		t.Fatalf("a burst of 50 in under a minute opened %+v; it must persist %s", changes, Defaults.Persist)
	}
	// The timer looking at the high count later opens nothing either:
	// complaints must still be coming.
	st, c := Step(st, Observation{At: t0.Add(5 * time.Minute), Counts: map[Scope]int{Brand: 50}}, Defaults)
	if len(c) != 0 {
		t.Fatalf("the timer opened %+v with no complaint coming", c)
	}
	_ = st
}

func TestSustainedSurgeOpensOneIncidentOnTheTopic(t *testing.T) {
	st := learn(State{}, Brand, 20, 3, Defaults)
	st = learn(st, Topic("broadband"), 20, 1, Defaults)
	var opened []Change
	for i := range 200 {
		at := t0.Add(time.Duration(i) * 3 * time.Second)
		var c []Change
		st, c = complaint(st, at, map[Scope]int{Brand: i + 4, Topic("broadband"): i + 1})
		opened = append(opened, c...)
	}
	if len(opened) != 1 || !opened[0].Opened {
		t.Fatalf("changes %+v, want one incident opened", opened)
	}
	inc := opened[0].Incident
	if inc.Scope != Topic("broadband") || inc.Seq != 1 {
		t.Fatalf("incident %+v, want the topic's first", inc)
	}
	if at := time.UnixMilli(inc.OpenedAt); at.Sub(t0) < Defaults.Persist {
		t.Fatalf("opened %s after the surge began, before the persistence %s", at.Sub(t0), Defaults.Persist)
	}
	if _, got, ok := st.Active(ScopesOf([]string{"broadband"}, "")); !ok || got.Seq != 1 {
		t.Fatalf("a broadband complaint finds no open incident")
	}
	if _, _, ok := st.Active(ScopesOf([]string{"billing"}, "")); !ok {
		t.Fatalf("a complaint on another topic is not part of the brand's outage")
	}
}

func TestIncidentResolvesAfterTheQuietPeriodAndCoolsDown(t *testing.T) {
	st := learn(State{}, Brand, 20, 3, Defaults)
	for i := range 40 {
		st, _ = complaint(st, t0.Add(time.Duration(i)*10*time.Second), map[Scope]int{Brand: 5 + i})
	}
	if st.Groups["outage"].Open == nil {
		t.Fatal("no incident opened")
	}
	// Back to the usual count: not resolved until the quiet period passed.
	quiet := t0.Add(time.Hour)
	st, c := Step(st, Observation{At: quiet, Counts: map[Scope]int{Brand: 3}}, Defaults)
	if len(c) != 0 {
		t.Fatalf("resolved at once: %+v", c)
	}
	st, c = Step(st, Observation{At: quiet.Add(Defaults.Quiet - time.Second), Counts: map[Scope]int{Brand: 3}}, Defaults)
	if len(c) != 0 {
		t.Fatalf("resolved before the quiet period: %+v", c)
	}
	st, c = Step(st, Observation{At: quiet.Add(Defaults.Quiet), Counts: map[Scope]int{Brand: 2}}, Defaults)
	if len(c) != 1 || c[0].Opened {
		t.Fatalf("changes %+v, want the incident resolved", c)
	}
	// A new surge during the cooldown opens nothing; after it, a second
	// incident.
	again := quiet.Add(Defaults.Quiet + time.Minute)
	for i := range 40 {
		st, c = complaint(st, again.Add(time.Duration(i)*10*time.Second), map[Scope]int{Brand: 50})
		if len(c) != 0 {
			t.Fatalf("opened during the cooldown: %+v", c)
		}
	}
	// It persisted through the cooldown, so the first complaint after it
	// opens the second incident.
	_, c = complaint(st, again.Add(Defaults.Cooldown), map[Scope]int{Brand: 50})
	if len(c) != 1 || !c[0].Opened || c[0].Incident.Seq != 2 {
		t.Fatalf("changes %+v, want the second incident", c)
	}
}

func TestPileOnIsItsOwnIncident(t *testing.T) {
	st := State{}
	post := Post("x:brand-reply")
	var opened []Change
	for i := range 30 {
		var c []Change
		st, c = complaint(st, t0.Add(time.Duration(i)*10*time.Second), map[Scope]int{Brand: i + 1, post: i + 1})
		opened = append(opened, c...)
	}
	if len(opened) != 1 || opened[0].Incident.Scope != post {
		t.Fatalf("changes %+v, want the pile-on alone (the brand's count is its complaints)", opened)
	}
	g, inc, ok := st.Active(ScopesOf(nil, "x:brand-reply"))
	if !ok || g != post || inc.Scope != post {
		t.Fatalf("a reply to the post belongs to %q %+v, want the pile-on", g, inc)
	}
}

func TestSeverityAndReason(t *testing.T) {
	for _, tc := range []struct {
		count    int
		mean, sd float64
		want     fbv1.Priority
	}{
		{count: 15, mean: 3, sd: 2, want: fbv1.Priority_PRIORITY_HIGH},
		{count: 41, mean: 3, sd: 2, want: fbv1.Priority_PRIORITY_CRITICAL},
		{count: 200, mean: 0, sd: 1, want: fbv1.Priority_PRIORITY_CRITICAL},
		{count: 30, mean: 0, sd: 1, want: fbv1.Priority_PRIORITY_HIGH},
	} {
		if got := Severity(tc.count, tc.mean, tc.sd, Defaults); got != tc.want {
			t.Errorf("Severity(%d, %g ± %g) = %s, want %s", tc.count, tc.mean, tc.sd, got, tc.want)
		}
	}
	if got, want := Reason(Topic("broadband"), 41, 3.2, 1.6, Defaults), "41 people complained about broadband in 15 minutes; usually 3 ± 2"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if got, want := Reason(Post("x:1"), 30, 0, 1, Defaults), "30 people piled on one post in 15 minutes; usually next to none"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

func TestTargetPrefersTheQuotedPost(t *testing.T) {
	m := &fbv1.Mention{ReplyToId: "x:1", QuoteOfId: "x:2"}
	if Target(m) != "x:2" {
		t.Fatal("a quote piles on the quoted post")
	}
	if Target(&fbv1.Mention{ReplyToId: "x:1"}) != "x:1" {
		t.Fatal("a reply piles on the post it replies to")
	}
}

func TestASurgeWindowIsNotLearnedAsTheUsual(t *testing.T) {
	st := learn(State{}, Brand, 20, 3, Defaults)
	st, _ = Step(st, Observation{At: t0, Closed: map[Scope][]Closed{Brand: {{Start: t0.UnixMilli(), Count: 60}}}}, Defaults)
	if m := st.Scopes[Brand].Baseline.Mean; m > 3.1 {
		t.Fatalf("mean %g after a window of 60, want the usual 3 kept", m)
	}
}

func TestAnIncidentNobodyComplainedInSinceIsQuietFromWhenItsWindowEmptied(t *testing.T) {
	st := State{}
	for i := range 40 {
		st, _ = complaint(st, t0.Add(time.Duration(i)*10*time.Second), map[Scope]int{Brand: i + 1})
	}
	last := t0.Add(390 * time.Second)
	_, c := Step(st, Observation{At: last.Add(Defaults.Window + Defaults.Quiet), Counts: map[Scope]int{Brand: 0}}, Defaults)
	if len(c) != 1 || c[0].Opened {
		t.Fatalf("changes %+v, want the incident resolved at the first look after the quiet period", c)
	}
}

func TestAComplaintDecidedLateDoesNotResetPersistence(t *testing.T) {
	st := State{}
	var c []Change
	for i := range 12 {
		st, _ = complaint(st, t0.Add(time.Duration(i)*10*time.Second), map[Scope]int{Brand: i + 1})
	}
	// An early complaint decided only now counts what was before it.
	st, _ = complaint(st, t0.Add(5*time.Second), map[Scope]int{Brand: 1})
	st, c = complaint(st, t0.Add(Defaults.Persist+110*time.Second), map[Scope]int{Brand: 30})
	if len(c) != 1 || !c[0].Opened {
		t.Fatalf("changes %+v, want the incident opened: the surge lasted %s", c, Defaults.Persist)
	}
}
