package cases

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
)

func openCase(priority fbv1.Priority) *fbv1.Case {
	return &fbv1.Case{Id: "tag-1", State: fbv1.CaseState_CASE_STATE_OPEN, Priority: priority, Team: "standard", Chain: "standard",
		Level: 1, LevelFiredAt: timestamppb.New(t0), OpenedAt: timestamppb.New(t0), UnansweredSince: timestamppb.New(t0),
		RespondBy: timestamppb.New(t0.Add(time.Hour)), RespondWarnAt: timestamppb.New(t0.Add(48 * time.Minute))}
}

func brandReply(id string, at time.Time, check *fbv1.ReplyCheck, answered bool) Reply {
	return Reply{Mention: &fbv1.Mention{Id: id, BrandReply: true, CreatedAt: timestamppb.New(at), Visibility: fbv1.Visibility_VISIBILITY_PUBLIC},
		Check: check, Answered: answered, Why: "test"}
}

var twoLevels = chain.Chain{Name: "standard", Levels: []chain.Level{{Receivers: []string{"queue"}, AckTimeout: 24 * time.Hour}, {Receivers: []string{"lead"}, AckTimeout: 24 * time.Hour}}}

func replySettings() Settings {
	return Settings{Reopen: time.Hour, Chain: func(string) (chain.Chain, bool) { return twoLevels, true }}
}

func TestAnswerHandledBeforeAnEarlierHandoffKeepsTheHandoffClosed(t *testing.T) {
	c := openCase(fbv1.Priority_PRIORITY_NORMAL)
	quiet := &fbv1.Decision{}
	c, _ = DecideReply(Current{Case: c, N: 1}, "tag", quiet, brandReply("answer", t0.Add(2*time.Minute), &fbv1.ReplyCheck{}, true), replySettings(), t0)
	c, _ = DecideReply(Current{Case: c, N: 1}, "tag", quiet, brandReply("dm-us", t0.Add(time.Minute), &fbv1.ReplyCheck{MovesPrivate: true}, false), replySettings(), t0)
	if c.PrivateHandoffAt != nil {
		t.Fatalf("a hand-off made before the answer opened after it: %v", c.PrivateHandoffAt.AsTime())
	}
	if c.AnsweredBy != "answer" || c.RespondBy != nil || c.RepliesTotal != 2 {
		t.Errorf("answered_by %q respond_by %v replies %d", c.AnsweredBy, c.RespondBy, c.RepliesTotal)
	}
}

func TestHarmfulReplyPagesAgainEvenOnACriticalCase(t *testing.T) {
	c := openCase(fbv1.Priority_PRIORITY_CRITICAL)
	c.Team, c.Chain = "senior", "senior"
	d := &fbv1.Decision{Escalate: true, Team: "senior", Chain: "senior", Priority: fbv1.Priority_PRIORITY_HIGH,
		Reasons: []*fbv1.Reason{{Code: "harmful_reply", Text: "public reply ..."}}}
	got, evs := DecideReply(Current{Case: c, N: 1}, "tag", d, brandReply("rude", t0, &fbv1.ReplyCheck{Hostile: true}, false), replySettings(), t0)
	if len(evs) != 1 || evs[0].Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED || len(evs[0].Receivers) == 0 {
		t.Fatalf("events %v: want one escalation that pages", evs)
	}
	if got.Priority != fbv1.Priority_PRIORITY_CRITICAL || got.Episode != c.Episode+1 || got.Reasons[0].Code != "harmful_reply" {
		t.Errorf("priority %s episode %d reasons %v: want critical kept, a new episode, the reply's reason first", got.Priority, got.Episode, got.Reasons)
	}
	if again, _ := DecideReply(Current{Case: got, N: 1}, "tag", d, brandReply("rude", t0, &fbv1.ReplyCheck{Hostile: true}, false), replySettings(), t0); again != nil {
		t.Error("the same reply was applied twice")
	}
}

func TestClocksFireInOrderEachOnce(t *testing.T) {
	c := openCase(fbv1.Priority_PRIORITY_NORMAL)
	c.PrivateHandoffAt = timestamppb.New(t0.Add(10 * time.Minute))
	k := Clocks{Chain: twoLevels, PrivateReplyWithin: 2 * time.Hour, RespondWithin: func(fbv1.Priority) time.Duration { return time.Hour }}
	late := c
	var got []string
	// A timer looks at each clock when it falls due.
	for range 10 {
		_, _, due := Tick(c, k, time.Time{})
		next, e, _ := Tick(c, k, due)
		if e == nil {
			break
		}
		c = next
		got = append(got, EventName(e.Type)+":"+e.Reasons[0].Code)
	}
	// A look after the target passed skips the warning: the breach says more.
	if _, e, _ := Tick(late, k, t0.Add(3*time.Hour)); e == nil || e.Reasons[0].Code != "response_breached" {
		t.Errorf("late look fired %v, want the breach first", e)
	}
	want := []string{"response_due:response_due", "escalated:response_breached", "escalated:private_unanswered"}
	if len(got) != len(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	if c.Level != 2 || !c.Breached || !c.HandoffOverdue {
		t.Errorf("after the clocks: level %d breached %v overdue %v", c.Level, c.Breached, c.HandoffOverdue)
	}
}
