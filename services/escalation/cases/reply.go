package cases

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// MaxReplies bounds the brand replies kept on a case; RepliesTotal counts
// them all.
const MaxReplies = 20

// Reply is a brand reply to a case's author, judged: what the check found
// and whether the policy counts it as an answer.
type Reply struct {
	Mention *fbv1.Mention
	Check   *fbv1.ReplyCheck
	// Answered: the reply ends the author's unanswered streak.
	Answered bool
	// Why says in plain words why it counted or did not.
	Why string
	// To is the author the reply answers, as last seen; it names the author
	// of a case that the reply itself opens.
	To *fbv1.Author
}

// record is the reply as a case keeps it.
func (r Reply) record() *fbv1.BrandReply {
	m := r.Mention
	return &fbv1.BrandReply{
		MentionId: m.Id, Text: Cut(m.Text, MaxKeptTextBytes), Url: keptURL(m.Url), Visibility: m.Visibility, At: m.CreatedAt,
		Check: r.Check, Answered: r.Answered, Why: r.Why, Handle: m.GetAuthor().GetHandle(),
	}
}

// MovesPrivate reports whether the reply hands the conversation over to
// private messages without answering.
func (r Reply) MovesPrivate() bool {
	return r.Check.GetMovesPrivate() && !r.Answered && r.Mention.GetVisibility() != fbv1.Visibility_VISIBILITY_PRIVATE
}

// DecideReply applies a brand reply to the author's current case. A
// decision that escalates (a harmful public reply) raises the case at once,
// opening or reopening one if needed, and pages its chain's first level
// again whatever the case's priority was: the reply is a new harm. Any other
// reply is recorded on an open case (replied event) and, when it answers,
// stops the first-response clock and closes a private hand-off; a move to
// private messages starts a hand-off. It returns nil when nothing changes.
func DecideReply(cur Current, tag string, d *fbv1.Decision, r Reply, s Settings, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	c := cur.Case
	for _, kept := range c.GetReplies() {
		if kept.MentionId == r.Mention.Id {
			return nil, nil
		}
	}
	fresh := c == nil || c.State == fbv1.CaseState_CASE_STATE_RESOLVED && now.Sub(c.ResolvedAt.AsTime()) > s.Reopen
	if !d.Escalate {
		if fresh || c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
			return nil, nil
		}
		c = proto.Clone(c).(*fbv1.Case)
		keepReply(c, r)
		c.UpdatedAt = timestamppb.New(now)
		e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED, r.Mention.Id, nil, now)
		e.Reply = c.Replies[len(c.Replies)-1]
		return c, []*fbv1.CaseEvent{e}
	}
	var t fbv1.CaseEventType
	switch {
	case fresh:
		c = &fbv1.Case{
			Id: ID(tag, cur.N+1), Brand: r.Mention.Brand, Platform: r.Mention.Platform, Author: r.To,
			AuthorKey: d.AuthorKey, State: fbv1.CaseState_CASE_STATE_OPEN, Reach: d.Reach,
			OpenedAt: timestamppb.New(now), Level: 1,
		}
		t = fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED
	case c.State == fbv1.CaseState_CASE_STATE_RESOLVED:
		c = proto.Clone(c).(*fbv1.Case)
		c.ResolvedAt, c.ResolvedBy = nil, ""
		c.Episode++
		t = fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED
	default:
		c = proto.Clone(c).(*fbv1.Case)
		c.Episode++
		t = fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED
	}
	c.State = fbv1.CaseState_CASE_STATE_OPEN
	c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
	c.Priority = max(c.Priority, d.Priority)
	if d.Priority >= c.Priority {
		c.Team, c.Chain = d.Team, d.Chain
	}
	c.Reasons = mergeReasons(d.Reasons, c.Reasons)
	c.Level, c.Round, c.LevelFiredAt = 1, 0, timestamppb.New(now)
	c.UpdatedAt = timestamppb.New(now)
	if d.Reach != nil {
		c.Reach = d.Reach
	}
	keepReply(c, r)
	s.startClock(c)
	e := event(c, t, r.Mention.Id, d.Reasons, now)
	e.Reply = c.Replies[len(c.Replies)-1]
	e.Receivers = s.firstLevel(c.Chain)
	return c, []*fbv1.CaseEvent{e}
}

// keepReply adds the reply to the case and applies what it means for the
// case's clocks.
func keepReply(c *fbv1.Case, r Reply) {
	rec := r.record()
	c.Replies = append(c.Replies, rec)
	if len(c.Replies) > MaxReplies {
		c.Replies = c.Replies[len(c.Replies)-MaxReplies:]
	}
	c.RepliesTotal++
	// Replies may be handled out of event order: an answer only closes
	// what came before it, and a hand-off an earlier answer already
	// closed does not open.
	at := rec.At.AsTime()
	switch {
	case r.Answered:
		if c.FirstResponseAt == nil || at.Before(c.FirstResponseAt.AsTime()) {
			c.FirstResponseAt, c.AnsweredBy = rec.At, rec.MentionId
		}
		if c.UnansweredSince != nil && !c.UnansweredSince.AsTime().After(at) {
			c.UnansweredSince, c.RespondBy, c.RespondWarnAt = nil, nil, nil
			c.ResponseWarned, c.Breached = false, false
		}
		if c.PrivateHandoffAt != nil && !c.PrivateHandoffAt.AsTime().After(at) {
			c.PrivateHandoffAt, c.HandoffOverdue = nil, false
		}
	case r.MovesPrivate() && c.PrivateHandoffAt == nil && !answeredSince(c, at):
		c.PrivateHandoffAt, c.HandoffOverdue = rec.At, false
	}
}

// answeredSince reports whether the case holds an answer made at or after at.
func answeredSince(c *fbv1.Case, at time.Time) bool {
	for _, kept := range c.Replies {
		if kept.Answered && !kept.At.AsTime().Before(at) {
			return true
		}
	}
	return false
}

// ReplyWhy is the timeline's line for a reply: who was answered and whether
// it counted.
func ReplyWhy(r *fbv1.BrandReply) string {
	return fmt.Sprintf("%s reply: %s", visibilityWord(r.Visibility), r.Why)
}

func visibilityWord(v fbv1.Visibility) string {
	if v == fbv1.Visibility_VISIBILITY_PRIVATE {
		return "private"
	}
	return "public"
}

// keptURL is the address a case keeps of a post: none if it is longer than
// MaxURLBytes.
func keptURL(u string) string {
	if len(u) > MaxURLBytes {
		return ""
	}
	return u
}
