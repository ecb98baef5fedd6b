package cases

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
)

// Clocks is what a case's timers are measured against.
type Clocks struct {
	Chain chain.Chain
	// RepliedAt is when the brand last answered the author.
	RepliedAt time.Time
	// PrivateReplyWithin is how long a private hand-off waits for the
	// brand's private reply.
	PrivateReplyWithin time.Duration
	// RespondWithin is the first-response target of a priority (for words).
	RespondWithin func(fbv1.Priority) time.Duration
}

// due is one clock of a case and what happens when it runs out.
type due struct {
	at   time.Time
	fire func(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent)
}

// Tick fires whichever of the case's clocks ran out first by now: the
// chain's next level, the first-response warning or breach, or an
// unanswered private hand-off. It returns the case after it and its event
// (nil, nil when nothing is due), and when the next clock runs out (zero:
// none). Callers tick until nothing is due, so clocks due together fire one
// after the other, each seeing the case the previous one left.
func Tick(c *fbv1.Case, k Clocks, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, time.Time) {
	all := clocks(c, k, now)
	var first *due
	for i := range all {
		if first == nil || all[i].at.Before(first.at) {
			first = &all[i]
		}
	}
	if first == nil {
		return nil, nil, time.Time{}
	}
	if first.at.After(now) {
		return nil, nil, first.at
	}
	c, e := first.fire(c, now)
	_, _, next := Tick(c, k, time.Time{}) // only asks when the next runs out
	return c, e, next
}

// clocks lists the case's clocks. A warning whose target has passed by now
// is dropped: the breach says more.
func clocks(c *fbv1.Case, k Clocks, now time.Time) []due {
	if c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
		return nil
	}
	var out []due
	// A snoozed case wakes first; every clock that would fire a level waits
	// for it (Tick takes the earliest clock, the first listed on a tie).
	var snoozedUntil time.Time
	if c.SnoozedUntil != nil {
		snoozedUntil = c.SnoozedUntil.AsTime()
		out = append(out, due{snoozedUntil, wake})
	}
	paused := func(at time.Time) time.Time {
		if at.Before(snoozedUntil) {
			return snoozedUntil
		}
		return at
	}
	if step, ok := k.Chain.Next(Status(c, k.RepliedAt)); ok {
		out = append(out, due{paused(step.At), func(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) { return Fire(c, step, now) }})
	}
	if c.RespondBy != nil && !c.Breached {
		// The warning pages nobody, so a snooze does not hold it back.
		if c.RespondWarnAt != nil && !c.ResponseWarned && (now.IsZero() || now.Before(c.RespondBy.AsTime())) {
			out = append(out, due{c.RespondWarnAt.AsTime(), warn})
		}
		within := time.Duration(0)
		if k.RespondWithin != nil {
			within = k.RespondWithin(c.Priority)
		}
		out = append(out, due{paused(c.RespondBy.AsTime()), func(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
			return breach(c, k.Chain, within, now)
		}})
	}
	if c.PrivateHandoffAt != nil && !c.HandoffOverdue && k.PrivateReplyWithin > 0 {
		out = append(out, due{paused(c.PrivateHandoffAt.AsTime().Add(k.PrivateReplyWithin)), func(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
			return handoffOverdue(c, k.Chain, now)
		}})
	}
	return out
}

// warn tells the queue the first response is nearly due. It pages nobody.
func warn(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	c = proto.Clone(c).(*fbv1.Case)
	c.ResponseWarned = true
	c.UpdatedAt = timestamppb.New(now)
	left := c.RespondBy.AsTime().Sub(now).Round(time.Minute)
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_RESPONSE_DUE, "", []*fbv1.Reason{{Code: "response_due",
		Text: fmt.Sprintf("first response due in %s, at %s", Words(max(left, 0)), c.RespondBy.AsTime().UTC().Format("15:04 MST"))}}, now)
	e.Id = c.Id + ":response_due:" + strconv.FormatInt(c.RespondBy.AsTime().UnixMilli(), 10)
	return c, e
}

// breach escalates a case whose first-response target passed unanswered.
func breach(c *fbv1.Case, ch chain.Chain, within time.Duration, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	key := c.RespondBy.AsTime().UnixMilli()
	text := "no answer by the first-response target"
	if within > 0 {
		text = "no answer for " + Words(within)
	}
	c, e := beyond(c, ch, chain.Breached, &fbv1.Reason{Code: "response_breached", Text: text}, now)
	c.Breached = true
	e.Id = fmt.Sprintf("%s:escalated:breach:%d", c.Id, key)
	return c, e
}

// handoffOverdue escalates a case moved to private messages with no
// private reply since.
func handoffOverdue(c *fbv1.Case, ch chain.Chain, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	since := c.PrivateHandoffAt.AsTime()
	text := fmt.Sprintf("moved to private messages %s ago, no reply since", Span(now.Sub(since)))
	c, e := beyond(c, ch, chain.HandoffOverdue, &fbv1.Reason{Code: "private_unanswered", Text: text}, now)
	c.HandoffOverdue = true
	e.Id = fmt.Sprintf("%s:escalated:handoff:%d", c.Id, since.UnixMilli())
	return c, e
}

// beyond escalates the case past its current level, reopening an
// acknowledged one: acknowledged is not answered. It is a new episode, so
// the level it pages is paged even if it was paged before.
func beyond(c *fbv1.Case, ch chain.Chain, cause chain.Cause, reason *fbv1.Reason, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	step := ch.Beyond(int(c.Level), int(c.Round), now, cause)
	c, e := Fire(c, step, now)
	c.State = fbv1.CaseState_CASE_STATE_OPEN
	c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
	c.Episode++
	c.Reasons = mergeReasons([]*fbv1.Reason{reason}, c.Reasons)
	e.Reasons = []*fbv1.Reason{reason}
	return c, e
}

// Words says a duration for people: "15 minutes", "1 hour", "2 hours 30
// minutes"; under a minute, as Go writes it ("500ms").
func Words(d time.Duration) string {
	if d < time.Minute {
		return d.String()
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	if m > 0 || h == 0 {
		parts = append(parts, plural(m, "minute"))
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// Span says a duration the short way: "2h", "90m", "1h30m".
func Span(d time.Duration) string {
	d = d.Round(time.Minute)
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
