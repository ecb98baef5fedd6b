package surge

import (
	"fmt"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// brand is a brand's counter and state, stepped as the service does.
type brand struct {
	t       *testing.T
	counter Counter
	st      State
	cfg     Config
	changes []Change
}

// testConfig is the shipped policy's surges section (default.yaml).
var testConfig = Config{Window: 15 * time.Minute, MinAuthors: 10, Deviations: 4, Persist: 2 * time.Minute,
	Quiet: 30 * time.Minute, Cooldown: 30 * time.Minute, Alpha: Alpha}

func newBrand(t *testing.T) *brand { return &brand{t: t, cfg: testConfig} }

// complain counts one complaint and returns what it opened or resolved.
func (b *brand) complain(author string, at time.Time, topics []string, target string) []Change {
	return b.step(b.counter.Observe(author, at, ScopesOf(topics, target), b.cfg))
}

// look is the timer looking at the brand's open incidents, as the service
// does.
func (b *brand) look(at time.Time) []Change {
	var scopes []Scope
	for _, g := range b.st.OpenGroups() {
		scopes = append(scopes, b.st.ScopesOfGroup(g)...)
	}
	if len(scopes) == 0 {
		for s := range b.st.Scopes {
			scopes = append(scopes, s)
		}
	}
	return b.step(b.counter.Observe("", at, scopes, b.cfg))
}

func (b *brand) step(obs Observation) []Change {
	var c []Change
	b.st, c = Step(b.st, obs, b.cfg)
	b.changes = append(b.changes, c...)
	return c
}

// usual gives the brand days of n complaints per window, at one a minute.
func (b *brand) usual(until time.Time, n int, topics []string) {
	from := until.Add(-24 * time.Hour)
	for w := from; w.Before(until); w = w.Add(b.cfg.Window) {
		for i := range n {
			b.complain(fmt.Sprintf("usual-%d", i), w.Add(time.Duration(i)*time.Minute), topics, "")
		}
	}
	if len(b.changes) != 0 {
		b.t.Fatalf("an ordinary day opened %+v", b.changes)
	}
}

// surge has n distinct authors complain, one every gap, from start.
func (b *brand) surge(prefix string, start time.Time, n int, gap time.Duration, topics []string, target string) time.Time {
	at := start
	for i := range n {
		at = start.Add(time.Duration(i) * gap)
		b.complain(fmt.Sprintf("%s-%d", prefix, i), at, topics, target)
	}
	return at
}

func (b *brand) opened() []Change {
	var out []Change
	for _, c := range b.changes {
		if c.Opened {
			out = append(out, c)
		}
	}
	return out
}

func TestBaselineLearnsTheUsualCount(t *testing.T) {
	b := newBrand(t)
	b.usual(t0, 3, nil)
	bl := b.st.Scopes[Brand].Baseline
	if bl.Mean < 2.5 || bl.Mean > 3.5 || bl.Windows < 90 {
		t.Fatalf("baseline %+v after a day of 3 a window, want mean 3", bl)
	}
}

func TestASurgeWindowIsNotLearnedAsTheUsual(t *testing.T) {
	b := newBrand(t)
	b.usual(t0, 3, nil)
	b.surge("burst", t0, 60, time.Second, nil, "")
	b.look(t0.Add(b.cfg.Window + time.Minute))
	if m := b.st.Scopes[Brand].Baseline.Mean; m > 3.5 {
		t.Fatalf("mean %g after a window of 60, want the usual 3 kept", m)
	}
}

func TestOneBurstMinuteIsNotAnIncident(t *testing.T) {
	b := newBrand(t)
	b.usual(t0, 2, nil)
	b.surge("burst", t0, 50, time.Second, nil, "")
	b.look(t0.Add(5 * time.Minute))
	// One more complaint later: a burst that stopped is still no incident.
	b.complain("later", t0.Add(6*time.Minute), nil, "")
	if len(b.changes) != 0 {
		t.Fatalf("a burst of 50 in under a minute opened %+v", b.changes)
	}
}

func TestSustainedSurgeOpensOneIncidentOnTheTopic(t *testing.T) {
	b := newBrand(t)
	b.usual(t0, 3, []string{"billing"})
	b.surge("out", t0, 200, 3*time.Second, []string{"broadband"}, "")
	opened := b.opened()
	if len(opened) != 1 {
		t.Fatalf("changes %+v, want one incident opened", b.changes)
	}
	inc := opened[0].Incident
	if inc.Scope != Topic("broadband") || inc.Seq != 1 {
		t.Fatalf("incident %+v, want the topic's first", inc)
	}
	if at := time.UnixMilli(inc.OpenedAt); at.Sub(t0) < b.cfg.Persist {
		t.Fatalf("opened %s after the surge began, before the persistence %s", at.Sub(t0), b.cfg.Persist)
	}
	if at := time.UnixMilli(inc.OpenedAt); at.Sub(t0) > 3*b.cfg.Persist {
		t.Fatalf("opened %s after the surge began; it was clear after %s", at.Sub(t0), b.cfg.Persist)
	}
	if _, got, ok := b.st.Active(ScopesOf([]string{"broadband"}, "")); !ok || got.Seq != 1 {
		t.Fatalf("a broadband complaint finds no open incident")
	}
	if _, _, ok := b.st.Active(ScopesOf([]string{"billing"}, "")); !ok {
		t.Fatalf("a complaint on another topic is not part of the brand's outage")
	}
}

func TestComplaintsDecidedOutOfOrderStillOpenIt(t *testing.T) {
	b := newBrand(t)
	// Every second complaint is decided a minute late.
	for i := range 120 {
		at := t0.Add(time.Duration(i) * 5 * time.Second)
		if i%2 == 1 {
			at = at.Add(-time.Minute)
		}
		b.complain(fmt.Sprintf("c-%d", i), at, nil, "")
	}
	if len(b.opened()) != 1 {
		t.Fatalf("changes %+v, want one incident", b.changes)
	}
}

func TestIncidentResolvesAfterTheQuietPeriodAndCoolsDown(t *testing.T) {
	b := newBrand(t)
	b.usual(t0, 3, nil)
	end := b.surge("out", t0, 60, 10*time.Second, nil, "")
	if len(b.opened()) != 1 {
		t.Fatal("no incident opened")
	}
	// The count is back to the usual once the window passed the last
	// complaint; the quiet period counts from there.
	quietFrom := end.Add(b.cfg.Window)
	if c := b.look(quietFrom.Add(b.cfg.Quiet - time.Minute)); len(c) != 0 {
		t.Fatalf("resolved before the quiet period: %+v", c)
	}
	if c := b.look(quietFrom.Add(b.cfg.Quiet)); len(c) != 1 || c[0].Opened {
		t.Fatalf("changes %+v, want the incident resolved", c)
	}
	// A new surge during the cooldown opens nothing; after it, a second
	// incident.
	again := quietFrom.Add(b.cfg.Quiet + time.Minute)
	b.surge("again", again, 30, 10*time.Second, nil, "")
	if n := len(b.opened()); n != 1 {
		t.Fatalf("%d incidents, want no second one during the cooldown", n)
	}
	later := again.Add(b.cfg.Cooldown)
	b.surge("later", later, 60, 10*time.Second, nil, "")
	opened := b.opened()
	if len(opened) != 2 || opened[1].Incident.Seq != 2 {
		t.Fatalf("changes %+v, want the second incident after the cooldown", b.changes)
	}
}

func TestPileOnIsItsOwnIncident(t *testing.T) {
	b := newBrand(t)
	b.surge("angry", t0, 30, 10*time.Second, nil, "x:brand-reply")
	opened := b.opened()
	if len(opened) != 1 || opened[0].Incident.Scope != Post("x:brand-reply") {
		t.Fatalf("changes %+v, want the pile-on alone (the brand's count is its complaints)", b.changes)
	}
	g, inc, ok := b.st.Active(ScopesOf(nil, "x:brand-reply"))
	if !ok || g != Post("x:brand-reply") || inc.Scope != g {
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
		if got := Severity(tc.count, tc.mean, tc.sd, testConfig); got != tc.want {
			t.Errorf("Severity(%d, %g ± %g) = %s, want %s", tc.count, tc.mean, tc.sd, got, tc.want)
		}
	}
	if got, want := Reason(Topic("broadband"), 41, 3.2, 1.6, testConfig), "41 people complained about broadband in 15 minutes; usually 3 ± 2"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if got, want := Reason(Post("x:1"), 30, 0, 1, testConfig), "30 people piled on one post in 15 minutes; usually next to none"; got != want {
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

func TestAPileOnResolvesWhenRepliesStopAndPostsKeepNoState(t *testing.T) {
	b := newBrand(t)
	for i := range 500 {
		// Replies to many posts, a few each: no post keeps anything.
		b.complain(fmt.Sprintf("r-%d", i), t0.Add(time.Duration(i)*time.Minute), nil, fmt.Sprintf("x:post-%d", i/3))
	}
	for s := range b.st.Scopes {
		if isPost(s) {
			t.Fatalf("post scope %s kept in the state", s)
		}
	}
	start := t0.Add(600 * time.Minute)
	end := b.surge("angry", start, 30, 10*time.Second, nil, "x:brand-reply")
	if len(b.opened()) != 1 {
		t.Fatalf("changes %+v, want the pile-on", b.changes)
	}
	// The service looks every few seconds; two looks stand for them here.
	b.look(end.Add(b.cfg.Window))
	if c := b.look(end.Add(b.cfg.Window + b.cfg.Quiet)); len(c) != 1 || c[0].Opened || c[0].Group != Post("x:brand-reply") {
		t.Fatalf("changes %+v, want the pile-on resolved by the timer's look", c)
	}
}

// Equal is what storing the state would tell apart: an empty map is no
// map, and every field of a scope, a group and its open incident counts.
func TestStatesAreEqualWhenTheyWouldStoreTheSame(t *testing.T) {
	base := func() State {
		return State{
			Scopes: map[Scope]*ScopeState{"brand": {Baseline: Baseline{Mean: 2, Var: 1, Windows: 3}, Seen: 5}},
			Groups: map[string]*GroupState{"outage": {Seq: 1, Open: &Incident{Seq: 1, Scope: "brand", Peak: 9}}},
		}
	}
	if !base().Equal(base()) || !(State{}).Equal(State{Scopes: map[Scope]*ScopeState{}}) {
		t.Fatal("the same state, and an empty map beside none, must be equal")
	}
	changes := map[string]func(*State){
		"a baseline":         func(s *State) { s.Scopes["brand"].Baseline.Mean = 2.5 },
		"a scope's seen":     func(s *State) { s.Scopes["brand"].Seen = 6 },
		"a new scope":        func(s *State) { s.Scopes["topic:refund"] = &ScopeState{} },
		"an incident closed": func(s *State) { s.Groups["outage"].Open = nil },
		"an incident's peak": func(s *State) { s.Groups["outage"].Open.Peak = 10 },
		"a cooldown":         func(s *State) { s.Groups["outage"].CooldownUntil = 7 },
		"a missing group":    func(s *State) { delete(s.Groups, "outage") },
	}
	for name, change := range changes {
		changed := base()
		change(&changed)
		if base().Equal(changed) || changed.Equal(base()) {
			t.Errorf("%s changed must not be equal", name)
		}
	}
}
