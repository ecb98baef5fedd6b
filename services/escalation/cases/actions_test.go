package cases

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// seniorCase is a critical case whose chain fired level 1 at t0.
func seniorCase() (*fbv1.Case, Clocks) {
	c, _ := Decide(Current{}, "tag", decision("senior", fbv1.Priority_PRIORITY_CRITICAL, "rival"), mention("m1", t0), settings(), t0)
	ch, _ := settings().Chain("senior")
	return c, Clocks{Chain: ch}
}

func TestSnoozePausesTheChainUntilItEndsThenTheDueLevelFires(t *testing.T) {
	c, k := seniorCase()
	// Level 2 is due at t0+5m; at t0+1m ana snoozes the case for an hour.
	c, e, err := Snooze(t0.Add(61*time.Minute))(c, "ana", "calling him", t0.Add(time.Minute))
	if err != nil || e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED || e.Actor != "ana" {
		t.Fatalf("snooze: %v %v", e, err)
	}
	if got := e.Reasons[0].Text; got != "snoozed for 1 hour, until 2026-11-23 10:01 UTC" {
		t.Errorf("reason %q", got)
	}
	// Nothing fires while snoozed; the next look is when it ends.
	_, fired, next := Tick(c, k, t0.Add(30*time.Minute))
	if fired != nil || !next.Equal(t0.Add(61*time.Minute)) {
		t.Fatalf("while snoozed: fired %v, next look %s; want nothing until 10:01", fired, next)
	}
	// When it ends, the snooze ends first, then the level that fell due.
	now := t0.Add(61 * time.Minute)
	c, woke, _ := Tick(c, k, now)
	if woke.GetType() != fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED || c.SnoozedUntil != nil {
		t.Fatalf("at the end: %v; want unsnoozed", woke)
	}
	_, level, _ := Tick(c, k, now)
	if level.GetType() != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED || level.Level != 2 {
		t.Fatalf("after the snooze: %v; want level 2", level)
	}
}

func TestUnsnoozeResumesTheChainAtOnce(t *testing.T) {
	c, k := seniorCase()
	c, _, _ = Snooze(t0.Add(2*time.Hour))(c, "ana", "", t0.Add(time.Minute))
	c, e, err := Unsnooze(c, "ben", "he called back", t0.Add(10*time.Minute))
	if err != nil || e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED || e.Actor != "ben" || c.SnoozedUntil != nil {
		t.Fatalf("unsnooze: %v %v", e, err)
	}
	_, fired, _ := Tick(c, k, t0.Add(10*time.Minute))
	if fired.GetLevel() != 2 {
		t.Fatalf("after unsnooze: %v; want level 2 at once (it was due at 09:05)", fired)
	}
}

func TestBreachWaitsForTheSnoozeButTheWarningDoesNot(t *testing.T) {
	c, k := seniorCase()
	c.State = fbv1.CaseState_CASE_STATE_ACKNOWLEDGED // the chain itself is quiet
	c.RespondWarnAt, c.RespondBy = stamp(t0.Add(12*time.Minute)), stamp(t0.Add(15*time.Minute))
	c, _, _ = Snooze(t0.Add(time.Hour))(c, "ana", "", t0.Add(time.Minute))
	c, warned, _ := Tick(c, k, t0.Add(13*time.Minute))
	if warned.GetType() != fbv1.CaseEventType_CASE_EVENT_TYPE_RESPONSE_DUE {
		t.Fatalf("warning: %v; it pages nobody, so a snooze does not hold it", warned)
	}
	if _, fired, next := Tick(c, k, t0.Add(20*time.Minute)); fired != nil || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("breach while snoozed: %v, next %s", fired, next)
	}
}

func TestActionsRefuseBadInputAndChangeNothing(t *testing.T) {
	open, _ := seniorCase()
	resolved, _, _ := Resolve(open, "ana", "", t0.Add(time.Minute))
	assigned, _, _ := Assign("ana")(open, "ana", "", t0.Add(time.Minute))
	now := t0.Add(2 * time.Minute)
	tests := []struct {
		name string
		c    *fbv1.Case
		t    func(*fbv1.Case, string, string, time.Time) (*fbv1.Case, *fbv1.CaseEvent, error)
		want error
	}{
		{"assign to nobody", open, Assign(""), ErrInput},
		{"assign to blanks", open, Assign("  "), ErrInput},
		{"assign to a control character", open, Assign("ana\n"), ErrInput},
		{"assign again to the same person", assigned, Assign("ana"), ErrState},
		{"assign a resolved case", resolved, Assign("ben"), ErrState},
		{"reopen an open case", open, Reopen(nil), ErrState},
		{"snooze a resolved case", resolved, Snooze(now.Add(time.Hour)), ErrState},
		{"snooze into the past", open, Snooze(now.Add(-time.Second)), ErrState},
		{"unsnooze a case that is not snoozed", open, Unsnooze, ErrState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := proto.Clone(tc.c)
			c, e, err := tc.t(tc.c, "ana", "", now)
			if !errors.Is(err, tc.want) || c != nil || e != nil {
				t.Fatalf("got %v, %v, %v; want %v", c, e, err, tc.want)
			}
			if !proto.Equal(before, tc.c) {
				t.Fatal("the case was changed")
			}
		})
	}
	for _, d := range []time.Duration{0, 59 * time.Second, MaxSnooze + time.Second} {
		if err := CheckSnooze(d); !errors.Is(err, ErrInput) {
			t.Errorf("snooze of %s: %v, want ErrInput", d, err)
		}
	}
	if err := CheckSnooze(time.Hour); err != nil {
		t.Errorf("snooze of 1h: %v", err)
	}
}

func TestReopenByHandStartsANewEpisodeAtLevelOne(t *testing.T) {
	open, _ := seniorCase()
	open.Level = 2
	resolved, _, _ := Resolve(open, "ana", "", t0.Add(time.Minute))
	c, e, err := Reopen([]string{"oncall"})(resolved, "ben", "he wrote again by phone", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != fbv1.CaseState_CASE_STATE_OPEN || c.Level != 1 || c.Episode != open.Episode+1 || c.ResolvedBy != "" {
		t.Fatalf("reopened case: state %v level %d episode %d resolved by %q", c.State, c.Level, c.Episode, c.ResolvedBy)
	}
	if e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED || e.Actor != "ben" || e.Receivers[0] != "oncall" {
		t.Fatalf("event %v", e)
	}
}
