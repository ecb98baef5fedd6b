package cases

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func settings() Settings {
	chains := map[string]chain.Chain{
		"senior":   {Name: "senior", Levels: []chain.Level{{Receivers: []string{"oncall"}, AckTimeout: 5 * time.Minute}, {Receivers: []string{"head"}, AckTimeout: 15 * time.Minute}}},
		"standard": {Name: "standard", Levels: []chain.Level{{Receivers: []string{"queue"}, AckTimeout: time.Hour}}},
	}
	return Settings{Reopen: 72 * time.Hour, Chain: func(n string) (chain.Chain, bool) { c, ok := chains[n]; return c, ok }}
}

func mention(id string, at time.Time) *fbv1.Mention {
	return &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: "u1", Handle: "dan"}, Text: "text of " + id, CreatedAt: timestamppb.New(at)}
}

func decision(team string, p fbv1.Priority, code string) *fbv1.Decision {
	return &fbv1.Decision{Escalate: true, Team: team, Chain: team, Priority: p, Reasons: []*fbv1.Reason{{Code: code, Text: code}}}
}

func TestDecide(t *testing.T) {
	open := func() *fbv1.Case {
		c, _ := Decide(Current{}, "tag", decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"), mention("m1", t0), settings(), t0)
		return c
	}
	resolved := func(ago time.Duration) *fbv1.Case {
		c, _, _ := Resolve(open(), "ana", "", t0.Add(-ago))
		return c
	}
	tests := []struct {
		name      string
		cur       Current
		d         *fbv1.Decision
		wantEvent fbv1.CaseEventType
		wantID    string
		wantTeam  string
		wantLevel int32
		receivers []string
	}{
		{"first complaint opens a case at level 1", Current{}, decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"),
			fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, "tag-1", "standard", 1, []string{"queue"}},
		{"same priority attaches without paging", Current{Case: open(), N: 1}, decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"),
			fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED, "tag-1", "standard", 1, nil},
		{"higher priority raises to the new team's first level", Current{Case: open(), N: 1}, decision("senior", fbv1.Priority_PRIORITY_HIGH, "repeat"),
			fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, "tag-1", "senior", 1, []string{"oncall"}},
		{"complaint soon after resolution reopens", Current{Case: resolved(time.Hour), N: 1}, decision("senior", fbv1.Priority_PRIORITY_HIGH, "repeat"),
			fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED, "tag-1", "senior", 1, []string{"oncall"}},
		{"complaint long after resolution opens a new case", Current{Case: resolved(100 * time.Hour), N: 1}, decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"),
			fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, "tag-2", "standard", 1, []string{"queue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, events := Decide(tc.cur, "tag", tc.d, mention("m2", t0.Add(time.Minute)), settings(), t0.Add(time.Minute))
			if c == nil || len(events) != 1 {
				t.Fatalf("got case %v with %d events", c, len(events))
			}
			e := events[0]
			if e.Type != tc.wantEvent || c.Id != tc.wantID || c.Team != tc.wantTeam || c.Level != tc.wantLevel {
				t.Fatalf("event %v case %s team %s level %d", e.Type, c.Id, c.Team, c.Level)
			}
			if !slices.Equal(e.Receivers, tc.receivers) {
				t.Errorf("receivers %v, want %v", e.Receivers, tc.receivers)
			}
			if c.State != fbv1.CaseState_CASE_STATE_OPEN || !slices.Contains(c.MentionIds, "m2") {
				t.Errorf("case state %v mentions %v", c.State, c.MentionIds)
			}
		})
	}
}

func TestSameMentionTwiceChangesNothing(t *testing.T) {
	d := decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint")
	c, _ := Decide(Current{}, "tag", d, mention("m1", t0), settings(), t0)
	again, events := Decide(Current{Case: c, N: 1}, "tag", d, mention("m1", t0), settings(), t0.Add(time.Second))
	if again != nil || events != nil {
		t.Fatalf("a mention already on the case changed it: %v", events)
	}
}

func TestNonEscalatingDecisionOpensNothing(t *testing.T) {
	c, events := Decide(Current{}, "tag", &fbv1.Decision{}, mention("m1", t0), settings(), t0)
	if c != nil || events != nil {
		t.Fatal("a decision that does not escalate opened a case")
	}
}

func TestUpdateMergesReasonsByCode(t *testing.T) {
	c, _ := Decide(Current{}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "high_reach"), mention("m1", t0), settings(), t0)
	c, _ = Decide(Current{Case: c, N: 1}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "repeat"), mention("m2", t0), settings(), t0)
	var codes []string
	for _, r := range c.Reasons {
		codes = append(codes, r.Code)
	}
	if !slices.Equal(codes, []string{"high_reach", "repeat"}) {
		t.Fatalf("reasons %v", codes)
	}
}

func TestAcknowledgeAndResolveFollowTheStates(t *testing.T) {
	c, _ := Decide(Current{}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "x"), mention("m1", t0), settings(), t0)
	acked, e, err := Acknowledge(c, "ana", "calling", t0)
	if err != nil || acked.State != fbv1.CaseState_CASE_STATE_ACKNOWLEDGED || e.Actor != "ana" || e.Note != "calling" {
		t.Fatalf("acknowledge: %v %v %v", acked, e, err)
	}
	if _, _, err := Acknowledge(acked, "bob", "", t0); !errors.Is(err, ErrState) {
		t.Fatalf("acknowledging twice: %v", err)
	}
	done, _, err := Resolve(acked, "ana", "", t0)
	if err != nil || done.State != fbv1.CaseState_CASE_STATE_RESOLVED {
		t.Fatal(err)
	}
	if _, _, err := Resolve(done, "ana", "", t0); !errors.Is(err, ErrState) {
		t.Fatalf("resolving twice: %v", err)
	}
}

func TestFireMovesToTheStepWithADeterministicEvent(t *testing.T) {
	c, _ := Decide(Current{}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "x"), mention("m1", t0), settings(), t0)
	ch, _ := settings().Chain("senior")
	step, ok := ch.Next(Status(c, time.Time{}))
	if !ok || step.Level != 2 || !step.At.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("next step %+v %v", step, ok)
	}
	fired, e := Fire(c, step, step.At)
	again, e2 := Fire(c, step, step.At.Add(time.Second))
	if fired.Level != 2 || e.Id != e2.Id || again.Level != 2 {
		t.Fatalf("level %d, ids %s / %s", fired.Level, e.Id, e2.Id)
	}
	if !slices.Equal(e.Receivers, []string{"head"}) {
		t.Errorf("receivers %v", e.Receivers)
	}
}

func TestParseID(t *testing.T) {
	tag, n, err := ParseID(ID("3fa9c2e1b04d5a6e", 12))
	if err != nil || tag != "3fa9c2e1b04d5a6e" || n != 12 {
		t.Fatalf("%s %d %v", tag, n, err)
	}
	for _, bad := range []string{"", "nodash", "-1", "tag-0", "tag-x"} {
		if _, _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) = %v", bad, err)
		}
	}
}

func TestEveryNewPagingEpisodeIsCounted(t *testing.T) {
	c, _ := Decide(Current{}, "tag", decision("standard", fbv1.Priority_PRIORITY_NORMAL, "x"), mention("m1", t0), settings(), t0)
	raised, _ := Decide(Current{Case: c, N: 1}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "y"), mention("m2", t0), settings(), t0)
	done, _, _ := Resolve(raised, "ana", "", t0)
	reopened, _ := Decide(Current{Case: done, N: 1}, "tag", decision("senior", fbv1.Priority_PRIORITY_HIGH, "y"), mention("m3", t0), settings(), t0)
	if c.Episode != 0 || raised.Episode != 1 || reopened.Episode != 2 {
		t.Fatalf("episodes %d, %d, %d; want 0, 1, 2", c.Episode, raised.Episode, reopened.Episode)
	}
}
