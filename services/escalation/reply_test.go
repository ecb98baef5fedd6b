package escalation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
)

// replyPolicy is the default policy's reply rules with clocks short enough
// to watch in a test.
const replyPolicy = `
complaint: score.complaint >= 0.5
private_reply_within: 300ms
respond_within:
  NORMAL: 500ms
warn_at: 50%
routes:
  - name: harmful-reply-high-reach
    match: mention.brand_reply && reply.public && (reply.hostile || reply.exposes_private) && (reach.tier == TIER_HIGH || reach.tier == TIER_RIVAL)
    team: senior
    priority: CRITICAL
    code: harmful_reply
    reason: "public reply to @{to} ({audience}): {finding}. It said {reply}"
  - name: harmful-reply
    match: mention.brand_reply && reply.public && (reply.hostile || reply.exposes_private)
    team: senior
    priority: HIGH
    code: harmful_reply
    reason: "public reply to @{to}: {finding}. It said {reply}"
  - name: brand-reply
    match: mention.brand_reply
    ignore: true
  - name: standard
    match: complaint
    team: standard
    priority: NORMAL
    reason: "complaint"
chains:
  senior:
    levels:
      - receivers: [oncall]
        ack_timeout: 1h
      - receivers: [head]
        ack_timeout: 1h
  standard:
    levels:
      - receivers: [queue]
        ack_timeout: 1h
      - receivers: [lead]
        ack_timeout: 1h
`

func newReplyRig(t *testing.T) *rig {
	t.Helper()
	path := t.TempDir() + "/reply-policy.yaml"
	if err := writeFile(path, replyPolicy); err != nil {
		t.Fatal(err)
	}
	r := newRigWith(t, 1, func(c *Config) { c.PolicyFile = path })
	r.policyPath = path
	return r
}

// complain sends one complaint by author and waits for its decision.
func (r *rig) complain(id, author string, followers int64, tier fbv1.Tier, at time.Time) *fbv1.Decision {
	r.t.Helper()
	m := mention(id, author, followers, at)
	m.Url = "https://x.com/" + author + "/status/" + id
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, tier), 1)
	return r.decision(id)
}

// brandReply sends a brand reply to author with the given check.
func (r *rig) brandReply(id, author, text string, private bool, check *fbv1.ReplyCheck, at time.Time) {
	r.t.Helper()
	m := &fbv1.Mention{Id: id, Platform: fbv1.Platform_PLATFORM_X, PlatformId: id, Brand: "acme", BrandReply: true, ReplyToAuthorId: author,
		Author: &fbv1.Author{Id: "acme-id", Handle: "acme"}, Text: text, CreatedAt: timestamppb.New(at), Visibility: fbv1.Visibility_VISIBILITY_PUBLIC}
	if private {
		m.Visibility = fbv1.Visibility_VISIBILITY_PRIVATE
	}
	check.Public = !private
	r.send(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{MentionId: id, Reply: check}}, 1)
	r.send(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{MentionId: id, Followers: 203_000}}, 1)
}

func dismissive() *fbv1.ReplyCheck {
	return &fbv1.ReplyCheck{Hostile: true, Dismissive: true, Findings: []*fbv1.Finding{{Code: "dismissive_tone", Severity: fbv1.Severity_SEVERITY_CRITICAL, Message: `dismissive tone ("Calm down")`}}}
}

func (r *rig) caseOf(id string) *fbv1.Case {
	r.t.Helper()
	resp, err := r.svc[0].GetCase(context.Background(), &fbv1.GetCaseRequest{Id: id})
	if err != nil {
		r.t.Fatalf("get case %s: %v", id, err)
	}
	return resp.Case
}

func withReason(code string, evs []*fbv1.CaseEvent) *fbv1.CaseEvent {
	for _, e := range evs {
		for _, re := range e.Reasons {
			if re.Code == code {
				return e
			}
		}
	}
	return nil
}

func TestHarmfulPublicReplyToAHighReachAuthorPagesCriticalAtOnce(t *testing.T) {
	r := newReplyRig(t)
	start := time.Now().Add(-time.Hour)
	d := r.complain("x:h1", "dan", 332_000, fbv1.Tier_TIER_RIVAL, start)
	r.brandReply("x:h-reply", "dan", "@dan That's a bit harsh. Calm down and wait like everyone else.", false, dismissive(), start.Add(time.Minute))
	evs := r.waitEvents("the harmful reply's escalation", func(evs []*fbv1.CaseEvent) bool { return withReason("harmful_reply", evs) != nil })
	e := withReason("harmful_reply", evs)
	if e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED || e.Case.Priority != fbv1.Priority_PRIORITY_CRITICAL || e.Case.Team != "senior" {
		t.Fatalf("harmful reply: %s, priority %s, team %s", e.Type, e.Case.Priority, e.Case.Team)
	}
	if fmt.Sprint(e.Receivers) != "[oncall]" || e.Case.Id != d.CaseId {
		t.Errorf("paged %v on case %s, want [oncall] on %s", e.Receivers, e.Case.Id, d.CaseId)
	}
	text := e.Reasons[0].Text
	for _, want := range []string{"@dan", "332,000 followers", `dismissive tone ("Calm down")`, "Calm down and wait like everyone else.", "public"} {
		if !strings.Contains(text, want) {
			t.Errorf("reason %q does not say %q", text, want)
		}
	}
	c := r.caseOf(d.CaseId)
	if len(c.Replies) != 1 || c.Replies[0].Answered || !strings.Contains(c.Replies[0].Why, "not counted as an answer") {
		t.Fatalf("case replies %v: want the reply, not counted as an answer", c.Replies)
	}
	// Not an answer: the author's next complaint is still in a streak.
	if d2 := r.complain("x:h2", "dan", 332_000, fbv1.Tier_TIER_RIVAL, start.Add(2*time.Minute)); d2.History.UnansweredStreak != 2 {
		t.Errorf("streak after a harmful reply = %d, want 2", d2.History.UnansweredStreak)
	}
	// A redelivered reply changes nothing and pages nobody again.
	r.brandReply("x:h-reply", "dan", "@dan That's a bit harsh.", false, dismissive(), start.Add(time.Minute))
	r.complain("x:h3", "dan", 332_000, fbv1.Tier_TIER_RIVAL, start.Add(3*time.Minute))
	if n := countReason("harmful_reply", r.events()); n != 1 {
		t.Errorf("%d harmful-reply escalations, want 1", n)
	}
}

func countReason(code string, evs []*fbv1.CaseEvent) int {
	n := 0
	for _, e := range evs {
		if withReason(code, []*fbv1.CaseEvent{e}) != nil {
			n++
		}
	}
	return n
}

func TestPowerlessReplyIsNotAnAnswerAndTheStreakGoesOn(t *testing.T) {
	r := newReplyRig(t)
	start := time.Now().Add(-time.Hour)
	d := r.complain("x:p1", "ann", 50, fbv1.Tier_TIER_LOW, start)
	powerless := &fbv1.ReplyCheck{NoNextStep: true, Findings: []*fbv1.Finding{{Code: "no_next_step", Severity: fbv1.Severity_SEVERITY_WARNING, Message: "no next step: sorry, and nothing offered"}}}
	r.brandReply("x:p-reply", "ann", "We're sorry you had a bad experience.", false, powerless, start.Add(time.Minute))
	evs := r.waitEvents("the reply on the case", func(evs []*fbv1.CaseEvent) bool { return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED) == 1 })
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED && (e.Reply.Answered || len(e.Receivers) > 0) {
			t.Fatalf("powerless reply: answered %v, receivers %v", e.Reply.Answered, e.Receivers)
		}
	}
	d2 := r.complain("x:p2", "ann", 50, fbv1.Tier_TIER_LOW, start.Add(2*time.Minute))
	if d2.History.UnansweredStreak != 2 || d2.CaseId != d.CaseId {
		t.Errorf("after a powerless reply: streak %d on case %s, want 2 on %s", d2.History.UnansweredStreak, d2.CaseId, d.CaseId)
	}
	if c := r.caseOf(d.CaseId); c.FirstResponseAt != nil {
		t.Errorf("first response recorded at %v for a powerless reply", c.FirstResponseAt.AsTime())
	}
}

func TestGoodReplyAnswersAndStopsTheFirstResponseClock(t *testing.T) {
	r := newReplyRig(t)
	start := time.Now()
	d := r.complain("x:g1", "bo", 50, fbv1.Tier_TIER_LOW, start)
	if c := r.caseOf(d.CaseId); c.RespondBy == nil || c.UnansweredSince == nil {
		t.Fatalf("case opened without a first-response deadline: %v", c)
	}
	r.brandReply("x:g-reply", "bo", "So sorry Bo, we've booked an engineer for tomorrow 9am.", false, &fbv1.ReplyCheck{}, start.Add(10*time.Millisecond))
	r.waitEvents("the answer", func(evs []*fbv1.CaseEvent) bool { return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED) == 1 })
	c := r.caseOf(d.CaseId)
	if c.AnsweredBy != "x:g-reply" || c.FirstResponseAt == nil || c.RespondBy != nil || !c.Replies[0].Answered {
		t.Fatalf("answered case: answered_by %q first_response %v respond_by %v replies %v", c.AnsweredBy, c.FirstResponseAt, c.RespondBy, c.Replies)
	}
	if d2 := r.complain("x:g2", "bo", 50, fbv1.Tier_TIER_LOW, start.Add(time.Second)); d2.History.UnansweredStreak != 1 {
		t.Errorf("streak after an answer = %d, want 1", d2.History.UnansweredStreak)
	}
}

func TestFirstResponseBreachWarnsThenEscalatesThroughTheChain(t *testing.T) {
	r := newReplyRig(t)
	d := r.complain("x:b1", "cy", 50, fbv1.Tier_TIER_LOW, time.Now())
	evs := r.waitEvents("the breach", func(evs []*fbv1.CaseEvent) bool { return withReason("response_breached", evs) != nil })
	warned, breached := -1, -1
	for i, e := range evs {
		switch {
		case e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_RESPONSE_DUE:
			warned = i
		case withReason("response_breached", []*fbv1.CaseEvent{e}) != nil:
			breached = i
		}
	}
	if warned < 0 || warned > breached {
		t.Fatalf("events %v: want a response_due warning before the breach", types(evs))
	}
	e := evs[breached]
	if e.Level != 2 || fmt.Sprint(e.Receivers) != "[lead]" || e.Reasons[0].Text != "no answer for 500ms" {
		t.Errorf("breach paged level %d %v with %q", e.Level, e.Receivers, e.Reasons[0].Text)
	}
	if c := r.caseOf(d.CaseId); !c.Breached {
		t.Error("case not marked breached")
	}
}

func TestMoveToPrivateMessagesWithNoPrivateReplyEscalates(t *testing.T) {
	r := newReplyRig(t)
	start := time.Now()
	d := r.complain("x:dm1", "di", 50, fbv1.Tier_TIER_LOW, start.Add(-time.Hour))
	r.brandReply("x:dm-reply", "di", "Sorry to hear that, please DM us your account number.", false, &fbv1.ReplyCheck{MovesPrivate: true}, start)
	evs := r.waitEvents("the hand-off escalation", func(evs []*fbv1.CaseEvent) bool { return withReason("private_unanswered", evs) != nil })
	e := withReason("private_unanswered", evs)
	if !strings.HasPrefix(e.Reasons[0].Text, "moved to private messages ") || !strings.HasSuffix(e.Reasons[0].Text, " ago, no reply since") {
		t.Errorf("hand-off reason %q", e.Reasons[0].Text)
	}
	if e.Case.Id != d.CaseId || len(e.Receivers) == 0 {
		t.Errorf("hand-off escalated case %s to %v", e.Case.Id, e.Receivers)
	}
}

func TestMoveToPrivateMessagesAnsweredInPrivateCountsAsAnswered(t *testing.T) {
	r := newReplyRig(t)
	start := time.Now()
	d := r.complain("x:dmok1", "ed", 50, fbv1.Tier_TIER_LOW, start.Add(-time.Hour))
	r.brandReply("x:dmok-public", "ed", "Please DM us.", false, &fbv1.ReplyCheck{MovesPrivate: true}, start)
	r.brandReply("x:dmok-private", "ed", "Hi Ed, I've refunded the charge; it shows in 3 days.", true, &fbv1.ReplyCheck{}, start.Add(time.Millisecond))
	r.waitEvents("both replies", func(evs []*fbv1.CaseEvent) bool { return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED) == 2 })
	c := r.caseOf(d.CaseId)
	if c.AnsweredBy != "x:dmok-private" || c.PrivateHandoffAt != nil || c.HandoffOverdue {
		t.Fatalf("after the private answer: answered_by %q hand-off %v overdue %v", c.AnsweredBy, c.PrivateHandoffAt, c.HandoffOverdue)
	}
	// Nothing is left to fire on the hand-off: its clock is gone.
	k, _ := r.svc[0].clocks(r.svc[0].policy.Load(), c, time.Now())
	if _, e, _ := cases.Tick(c, k, time.Now().Add(24*time.Hour)); e != nil && withReason("private_unanswered", []*fbv1.CaseEvent{e}) != nil {
		t.Errorf("an answered hand-off would still escalate: %v", e.Reasons)
	}
}
