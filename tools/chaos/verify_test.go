package chaos

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/tools/load"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func sent(id string, at time.Time) load.Sent {
	return load.Sent{Mention: load.Mention{Platform: "x", PlatformID: id}, Sent: at, Accepted: at}
}

func page(at time.Time, receiver, key string, e Event) load.Page {
	pe := load.PageEvent{ID: e.ID, Type: e.Type, MentionID: e.MentionID, Level: e.Level, Round: e.Round}
	pe.Case.ID, pe.Case.Episode = e.CaseID, e.Episode
	return load.Page{At: at, Receiver: receiver, IdempotencyKey: key, DedupKey: key, Events: []load.PageEvent{pe}}
}

func keyOf(e Event, receiver string) string { return e.Slot().String() + ":" + receiver }

var (
	opened = Event{ID: "c1:opened:x:1", Type: typeOpened, CaseID: "c1", MentionID: "x:1", Team: "senior", Level: 1, At: t0.Add(time.Second)}
	// The chain's timers: level 2 of round 0, then level 1 of round 1.
	level2 = Event{ID: "c1:escalated:0.2:1", Type: typeEscalated, CaseID: "c1", Team: "senior", Level: 2,
		Receivers: []string{"head-of-social"}, At: t0.Add(6 * time.Second)}
	round1 = Event{ID: "c1:escalated:1.1:6", Type: typeEscalated, CaseID: "c1", Team: "senior", Level: 1, Round: 1,
		Receivers: []string{"senior-oncall"}, At: t0.Add(16 * time.Second)}
	updated = Event{ID: "c1:updated:x:3", Type: typeUpdated, CaseID: "c1", MentionID: "x:3", Team: "senior", Level: 1, At: t0.Add(3 * time.Second)}
)

func chaosRouting() Routing {
	route := map[string][]string{}
	for team, names := range chaosTeams {
		for i, n := range names {
			route[team+"/"+string(rune('1'+i))] = []string{n}
		}
	}
	return Routing{
		Known:   map[string]bool{"senior-oncall": true, "head-of-social": true, "support-queue": true, "support-lead": true},
		Route:   func(team string, level int32) []string { return route[team+"/"+string(rune('0'+level))] },
		NoDedup: noDedup,
	}
}

// clean is a run with nothing wrong: three mentions, one opening a case
// whose chain fires twice, one updating it, one deciding nothing, every
// level paged once, in two phases.
func clean() ([]PhaseRun, Observed, Routing) {
	runs := []PhaseRun{
		{Name: "none", Start: t0, Sent: []load.Sent{sent("1", t0), sent("2", t0.Add(time.Second))}},
		{Name: "SIGKILL escalation", Start: t0.Add(10 * time.Second), Sent: []load.Sent{sent("3", t0.Add(2*time.Second))},
			Windows: []Window{{Fault: "SIGKILL escalation", At: t0.Add(11 * time.Second), Restored: t0.Add(12 * time.Second)}}},
	}
	ob := Observed{
		Scored:  map[string]bool{"x:1": true, "x:2": true, "x:3": true},
		Reached: map[string]bool{"x:1": true, "x:2": true, "x:3": true},
		Decided: map[string]load.Decided{
			"x:1": {At: opened.At, Escalate: true, CaseID: "c1"},
			"x:2": {At: t0.Add(2 * time.Second)},
			"x:3": {At: updated.At, Escalate: true, CaseID: "c1"},
		},
		Events: []Event{opened, updated, level2, round1},
		Pages: []load.Page{
			page(opened.At, "senior-oncall", keyOf(opened, "senior-oncall"), opened),
			page(level2.At, "head-of-social", keyOf(level2, "head-of-social"), level2),
			page(round1.At, "senior-oncall", keyOf(round1, "senior-oncall"), round1),
		},
	}
	ob.Later = ob.Decided
	return runs, ob, chaosRouting()
}

func TestACleanLedgerReportsNothing(t *testing.T) {
	runs, ob, rt := clean()
	v := Check(runs, ob, rt)
	if len(v.Failures) != 0 || v.DeadLetters != 0 || v.SameKeyRepeats != 0 {
		t.Fatalf("failures %v, dead letters %d, same-key repeats %d; want none", v.Failures, v.DeadLetters, v.SameKeyRepeats)
	}
	for _, r := range v.Rows {
		if r.Lost+r.Partial+r.DeadLetters+r.NoEvent+r.Unpaged+r.DupPages+r.DupDecisions+r.CasesTwice+r.Forgotten != 0 || len(r.Notes) != 0 {
			t.Fatalf("row %+v: want zeros and no notes", r)
		}
	}
	if v.Rows[0].Mentions != 2 || v.Rows[1].Mentions != 1 {
		t.Fatalf("mentions %d and %d, want 2 and 1", v.Rows[0].Mentions, v.Rows[1].Mentions)
	}
	// Level 2 fired during the first phase, round 1 once the second began.
	if v.Rows[0].ChainLevels != 1 || v.Rows[1].ChainLevels != 1 {
		t.Fatalf("chain levels %d and %d, want 1 and 1 (level 2 at 6s, round 1 at 16s)", v.Rows[0].ChainLevels, v.Rows[1].ChainLevels)
	}
	var out bytes.Buffer
	v.Print(&out)
	if !strings.Contains(out.String(), "CHAIN") || strings.Contains(out.String(), "findings") {
		t.Fatalf("table:\n%s", out.String())
	}
}

// only returns the single row with a non-zero count from get, failing
// unless exactly that row of want has it.
func rowWith(t *testing.T, v Verdict, get func(Row) int) Row {
	t.Helper()
	var found []Row
	for _, r := range v.Rows {
		if get(r) != 0 {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one row with the finding, got %+v", v.Rows)
	}
	return found[0]
}

func TestAMentionIngestNeverAcceptedIsLost(t *testing.T) {
	runs, ob, rt := clean()
	runs[0].Sent[1].Accepted, runs[0].Sent[1].Err = time.Time{}, "503"
	v := Check(runs, ob, rt)
	if r := rowWith(t, v, func(r Row) int { return r.Lost }); r.Lost != 1 || r.Fault != "none" || !slices.Contains(v.Failures, "none") {
		t.Fatalf("row %+v failures %v, want one lost in none", r, v.Failures)
	}
}

func TestAMentionNeverDecidedIsLostWithHowFarItGot(t *testing.T) {
	runs, ob, rt := clean()
	delete(ob.Decided, "x:2")
	delete(ob.Later, "x:2")
	delete(ob.Reached, "x:2")
	v := Check(runs, ob, rt)
	r := rowWith(t, v, func(r Row) int { return r.Lost })
	if r.Lost != 1 || !strings.Contains(strings.Join(r.Notes, "\n"), "x:2") || !strings.Contains(strings.Join(r.Notes, "\n"), "scored, not reached") {
		t.Fatalf("row %+v, want x:2 lost, scored but not reached", r)
	}
}

func TestADecisionWithoutAPartIsLostUnlessTheFaultMeantIt(t *testing.T) {
	runs, ob, rt := clean()
	ob.Decided["x:3"] = load.Decided{At: updated.At, Escalate: true, CaseID: "c1", Missing: []string{"score"}}
	v := Check(runs, ob, rt)
	r := rowWith(t, v, func(r Row) int { return r.Partial })
	if r.Partial != 1 || r.Lost != 1 || !slices.Contains(v.Failures, r.Fault) {
		t.Fatalf("row %+v failures %v, want one partial counted lost", r, v.Failures)
	}

	runs[1].Expect.Partial = true
	v = Check(runs, ob, rt)
	r = rowWith(t, v, func(r Row) int { return r.Partial })
	if r.Partial != 1 || r.Lost != 0 || len(v.Failures) != 0 {
		t.Fatalf("row %+v failures %v, want the partial reported, not lost", r, v.Failures)
	}
}

func TestADecisionRevisedWhenTheLatePartCameIsPartialButNotLost(t *testing.T) {
	runs, ob, rt := clean()
	ob.Decided["x:2"] = load.Decided{At: t0.Add(12 * time.Second), Revised: true}
	v := Check(runs, ob, rt)
	r := rowWith(t, v, func(r Row) int { return r.Partial })
	if r.Lost != 0 || !slices.Contains(v.Failures, r.Fault) {
		t.Fatalf("row %+v failures %v, want a partial failing the phase, not lost", r, v.Failures)
	}
	runs[0].Expect.Partial = true
	if v = Check(runs, ob, rt); len(v.Failures) != 0 {
		t.Fatalf("failures %v, want none when the fault meant it", v.Failures)
	}
}

func TestDeadLettersOfAnyReasonAreCountedInTheirPhase(t *testing.T) {
	runs, ob, rt := clean()
	ob.DeadLetters = []DeadLetter{
		{At: t0.Add(30 * time.Second), Reason: "redis: connection refused", Subject: "firebreak.mentions.scored", MentionID: "x:1"},
		{At: t0.Add(12 * time.Second), Reason: "decode: bad", Subject: "firebreak.cases.opened"}, // no mention: by time
	}
	v := Check(runs, ob, rt)
	if v.Rows[0].DeadLetters != 1 || v.Rows[1].DeadLetters != 1 || v.DeadLetters != 2 || len(v.Failures) != 2 {
		t.Fatalf("dead letters %d/%d of %d, failures %v; want one per phase, both failing", v.Rows[0].DeadLetters, v.Rows[1].DeadLetters, v.DeadLetters, v.Failures)
	}
	runs[0].Expect.DeadLetters, runs[1].Expect.DeadLetters = true, true
	if v = Check(runs, ob, rt); len(v.Failures) != 0 || v.DeadLetters != 2 {
		t.Fatalf("failures %v, dead letters %d; want them reported, not failing", v.Failures, v.DeadLetters)
	}
	ob.Unexplained = 1
	if v = Check(runs, ob, rt); !slices.Contains(v.Failures, "dead letters without a reason") {
		t.Fatalf("failures %v, want the unexplained dead letter", v.Failures)
	}
}

func TestAnEscalationWithNoCaseEventIsReported(t *testing.T) {
	runs, ob, rt := clean()
	ob.Events = slices.DeleteFunc(ob.Events, func(e Event) bool { return e.ID == updated.ID })
	v := Check(runs, ob, rt)
	if r := rowWith(t, v, func(r Row) int { return r.NoEvent }); r.NoEvent != 1 || r.Fault != "SIGKILL escalation" {
		t.Fatalf("row %+v, want x:3's missing event in its phase", r)
	}
}

func TestAFiredLevelWithoutItsPageIsUnpaged(t *testing.T) {
	for name, drop := range map[string]string{"opening": opened.ID, "chain level": round1.ID} {
		t.Run(name, func(t *testing.T) {
			runs, ob, rt := clean()
			ob.Pages = slices.DeleteFunc(ob.Pages, func(p load.Page) bool { return p.Events[0].ID == drop })
			ob.Deliveries = []Delivery{{EventID: drop, Receiver: "senior-oncall", Outcome: "FAILED", Attempt: 5, Error: "status 500"}}
			v := Check(runs, ob, rt)
			r := rowWith(t, v, func(r Row) int { return r.Unpaged })
			if r.Unpaged != 1 || !strings.Contains(strings.Join(r.Notes, "\n"), "failed attempt 5: status 500") {
				t.Fatalf("row %+v, want one unpaged with the notifier's record", r)
			}
		})
	}
}

func TestAPageToTheWrongReceiverLeavesTheRightOneUnpaged(t *testing.T) {
	runs, ob, rt := clean()
	ob.Pages[1] = page(level2.At, "senior-oncall", keyOf(level2, "senior-oncall"), level2)
	v := Check(runs, ob, rt)
	r := rowWith(t, v, func(r Row) int { return r.Unpaged })
	if !strings.Contains(strings.Join(r.Notes, "\n"), "head-of-social was never paged; the notifier recorded no attempt") {
		t.Fatalf("notes %v", r.Notes)
	}
}

func TestAMutedEventNeedsNoPage(t *testing.T) {
	runs, ob, rt := clean()
	ob.Events[2].Muted = true
	ob.Pages = slices.DeleteFunc(ob.Pages, func(p load.Page) bool { return p.Events[0].ID == level2.ID })
	if v := Check(runs, ob, rt); len(v.Failures) != 0 {
		t.Fatalf("failures %v, want none: a silenced level pages nobody", v.Failures)
	}
}

func TestDuplicatePagesPerSlotAndReceiver(t *testing.T) {
	tests := []struct {
		name     string
		extra    load.Page
		dups     int
		sameKey  int
		failures int
	}{
		{"another key, chain level", page(level2.At, "head-of-social", "other", level2), 1, 0, 1},
		{"same key, receiver that cannot drop it", page(level2.At, "head-of-social", keyOf(level2, "head-of-social"), level2), 1, 0, 1},
		{"same key, receiver that drops it", page(round1.At, "senior-oncall", keyOf(round1, "senior-oncall"), round1), 0, 1, 0},
		{"another round is another slot", page(round1.At, "head-of-social", "r1.l2", Event{ID: "e", Type: typeEscalated, CaseID: "c1", Level: 2, Round: 1}), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, ob, rt := clean()
			ob.Pages = append(ob.Pages, tt.extra)
			v := Check(runs, ob, rt)
			dups := 0
			for _, r := range v.Rows {
				dups += r.DupPages
			}
			if dups != tt.dups || v.SameKeyRepeats != tt.sameKey || len(v.Failures) != tt.failures {
				t.Fatalf("dup pages %d, same-key repeats %d, failures %v; want %d, %d, %d", dups, v.SameKeyRepeats, v.Failures, tt.dups, tt.sameKey, tt.failures)
			}
		})
	}
}

func TestAMentionDecidedIntoTwoEventsIsADuplicateDecision(t *testing.T) {
	runs, ob, rt := clean()
	again := updated
	again.ID = "c1:escalated:x:3"
	again.Type = typeEscalated
	again.Episode = 1
	ob.Events = append(ob.Events, again)
	ob.Pages = append(ob.Pages, page(again.At, "senior-oncall", keyOf(again, "senior-oncall"), again))
	v := Check(runs, ob, rt)
	if r := rowWith(t, v, func(r Row) int { return r.DupDecisions }); r.DupDecisions != 1 || r.Fault != "SIGKILL escalation" {
		t.Fatalf("row %+v, want x:3 decided twice", r)
	}
}

func TestACaseOpenedAgainBelongsToThePhaseThatReopenedIt(t *testing.T) {
	runs, ob, rt := clean()
	twice := opened
	twice.ID, twice.MentionID, twice.Episode = "c1:opened:x:3", "x:3", 7
	ob.Events = append(ob.Events, twice)
	ob.Pages = append(ob.Pages, page(twice.At, "senior-oncall", keyOf(twice, "senior-oncall"), twice))
	v := Check(runs, ob, rt)
	if r := rowWith(t, v, func(r Row) int { return r.CasesTwice }); r.Fault != "SIGKILL escalation" {
		t.Fatalf("row %+v, want the case opened twice in the phase of x:3", r)
	}
}

func TestADecisionForgottenByTheEndIsReported(t *testing.T) {
	runs, ob, rt := clean()
	ob.Later = map[string]load.Decided{"x:1": ob.Decided["x:1"], "x:3": ob.Decided["x:3"]}
	v := Check(runs, ob, rt)
	if r := rowWith(t, v, func(r Row) int { return r.Forgotten }); r.Forgotten != 1 || r.Fault != "none" {
		t.Fatalf("row %+v, want x:2 forgotten", r)
	}
	runs[0].Expect.Forgotten = true
	if v = Check(runs, ob, rt); len(v.Failures) != 0 || v.Rows[0].Forgotten != 1 {
		t.Fatalf("failures %v, row %+v; want the forgotten decision measured, not failing", v.Failures, v.Rows[0])
	}
}

func TestRecoveryCountsEveryMentionInFlightWhenTheFaultStarted(t *testing.T) {
	w := Window{Fault: "SIGKILL escalation", At: t0, Restored: t0.Add(2 * time.Second)}
	r := PhaseRun{
		Sent: []load.Sent{
			sent("0", t0.Add(-3*time.Second)), // done before the fault
			sent("1", t0.Add(-time.Second)),   // in flight on the killed process
			sent("2", t0.Add(time.Second)),
			sent("3", t0.Add(9*time.Second)), // after the system was whole
		},
		Windows: []Window{w},
	}
	decided := map[string]load.Decided{
		"x:0": {At: t0.Add(-2 * time.Second)},
		"x:1": {At: t0.Add(31 * time.Second)}, // waited out the AckWait
		"x:2": {At: t0.Add(5 * time.Second)},
		"x:3": {At: t0.Add(40 * time.Second)},
	}
	var row Row
	if got := recovery(r, decided, nil, nil, &row); got != 31*time.Second {
		t.Fatalf("recovery = %s, want 31s (x:1, in flight at the kill)", got)
	}
	if len(row.Notes) != 1 || !strings.Contains(row.Notes[0], "x:1") {
		t.Fatalf("notes %v, want the slow one named", row.Notes)
	}
}

func TestReceiverFaultRecoveryEndsAtThePage(t *testing.T) {
	e := opened
	r := PhaseRun{Sent: []load.Sent{sent("1", t0)}, Windows: []Window{{Fault: "receiver failing", At: t0, Restored: t0.Add(5 * time.Second)}}}
	decided := map[string]load.Decided{"x:1": {At: t0.Add(time.Second)}}
	first := map[Slot]time.Time{e.Slot(): t0.Add(7 * time.Second)}
	if got := recovery(r, decided, first, map[Slot]Event{e.Slot(): e}, &Row{}); got != 7*time.Second {
		t.Fatalf("recovery = %s, want 7s (paged after the receiver came back)", got)
	}
}

func TestThePolicyFiresChainsInSeconds(t *testing.T) {
	doc, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"senior", "standard"} {
		c, _ := p.Chain(name)
		for i, l := range c.Levels {
			if l.AckTimeout != AckTimeouts[i] {
				t.Fatalf("chain %s level %d: ack_timeout %s, want %s", name, i+1, l.AckTimeout, AckTimeouts[i])
			}
		}
	}
	if ChainSpan() != 30*time.Second {
		t.Fatalf("chain span %s, want 30s", ChainSpan())
	}
}

func TestTheReceiversFileRoutesAsTheChainsDo(t *testing.T) {
	_, rt, err := writeReceivers(t.TempDir(), "http://127.0.0.1:1/webhook")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		team  string
		level int32
		want  string
	}{{"senior", 1, "senior-oncall"}, {"senior", 2, "head-of-social"}, {"standard", 1, "support-queue"}, {"standard", 2, "support-lead"}, {"unknown", 1, "senior-oncall"}} {
		if got := rt.Route(c.team, c.level); !slices.Equal(got, []string{c.want}) {
			t.Fatalf("route %s level %d = %v, want %s", c.team, c.level, got, c.want)
		}
	}
	if !rt.Known["support-lead"] || !rt.NoDedup["head-of-social"] {
		t.Fatalf("routing %+v", rt)
	}
}
