package cases

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Bounds of a snooze: long enough to matter, short enough that a forgotten
// snooze cannot silence a case for good.
const (
	MinSnooze = time.Minute
	MaxSnooze = 7 * 24 * time.Hour
)

// MaxAssigneeLength bounds an assignee's name, in characters.
const MaxAssigneeLength = 64

// ErrInput is returned for an action whose own input is wrong, whatever
// the case's state: an empty assignee, a snooze out of bounds.
var ErrInput = fmt.Errorf("invalid input")

// CheckAssignee says what is wrong with an assignee's name, if anything.
func CheckAssignee(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: assignee is empty; name the person who takes the case", ErrInput)
	case n > MaxAssigneeLength:
		return fmt.Errorf("%w: assignee is %d characters; at most %d", ErrInput, n, MaxAssigneeLength)
	case strings.TrimSpace(name) != name || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: assignee %q has leading or trailing spaces or control characters", ErrInput, name)
	}
	return nil
}

// CheckSnooze says what is wrong with a snooze's length, if anything.
func CheckSnooze(d time.Duration) error {
	if d < MinSnooze || d > MaxSnooze {
		return fmt.Errorf("%w: a snooze of %s is out of bounds; snooze for %s to %s", ErrInput, d, Words(MinSnooze), Words(MaxSnooze))
	}
	return nil
}

// Assign gives the case to a person. The chain goes on: being assigned is
// not being acknowledged.
func Assign(assignee string) func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	return func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
		if err := CheckAssignee(assignee); err != nil {
			return nil, nil, err
		}
		if c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
			return nil, nil, fmt.Errorf("%w: case %s is resolved; reopen it before assigning it", ErrState, c.Id)
		}
		if c.Assignee == assignee {
			return nil, nil, fmt.Errorf("%w: case %s is already assigned to %s", ErrState, c.Id, assignee)
		}
		c = proto.Clone(c).(*fbv1.Case)
		c.Assignee, c.AssignedBy, c.AssignedAt = assignee, actor, timestamppb.New(now)
		c.UpdatedAt = timestamppb.New(now)
		e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_ASSIGNED, "", []*fbv1.Reason{{Code: "assigned", Text: "assigned to " + assignee}}, now)
		e.Actor, e.Note = actor, note
		return c, e, nil
	}
}

// Reopen opens a resolved case again by hand. It is a new episode: the
// chain starts over from its first level, which is paged.
func Reopen(receivers []string) func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	return func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
		if c.State != fbv1.CaseState_CASE_STATE_RESOLVED {
			return nil, nil, fmt.Errorf("%w: case %s is %s; only resolved cases can be reopened", ErrState, c.Id, StateName(c.State))
		}
		c = proto.Clone(c).(*fbv1.Case)
		c.State = fbv1.CaseState_CASE_STATE_OPEN
		c.Level, c.Round, c.LevelFiredAt = 1, 0, timestamppb.New(now)
		c.Episode++
		c.ResolvedAt, c.ResolvedBy = nil, ""
		c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
		c.SnoozedUntil, c.SnoozedBy = nil, ""
		c.UpdatedAt = timestamppb.New(now)
		e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED, "", []*fbv1.Reason{{Code: "reopened", Text: "reopened by " + actor}}, now)
		e.Actor, e.Note, e.Receivers = actor, note, receivers
		return c, e, nil
	}
}

// Snooze pauses the case's chain until `until`: no level fires before
// then. Snoozing again replaces the time; the same time again changes
// nothing, so a redelivered command is applied once.
func Snooze(until time.Time) func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	return func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
		if c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
			return nil, nil, fmt.Errorf("%w: case %s is resolved; there is no chain to pause", ErrState, c.Id)
		}
		if !until.After(now) {
			return nil, nil, fmt.Errorf("%w: case %s: the snooze would end at %s, which has passed", ErrState, c.Id, until.UTC().Format(time.RFC3339))
		}
		if c.SnoozedUntil != nil && c.SnoozedUntil.AsTime().Equal(until) {
			return nil, nil, fmt.Errorf("%w: case %s is already snoozed until %s", ErrState, c.Id, until.UTC().Format(time.RFC3339))
		}
		c = proto.Clone(c).(*fbv1.Case)
		c.SnoozedUntil, c.SnoozedBy = timestamppb.New(until), actor
		c.UpdatedAt = timestamppb.New(now)
		text := fmt.Sprintf("snoozed for %s, until %s", Words(until.Sub(now)), until.UTC().Format("2006-01-02 15:04 MST"))
		e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED, "", []*fbv1.Reason{{Code: "snoozed", Text: text}}, now)
		e.Actor, e.Note = actor, note
		return c, e, nil
	}
}

// Unsnooze resumes the case's chain by hand: a level that fell due while
// the case slept fires at once.
func Unsnooze(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	if !Snoozed(c, now) {
		return nil, nil, fmt.Errorf("%w: case %s is not snoozed", ErrState, c.Id)
	}
	c, e := wake(c, now)
	e.Actor, e.Note = actor, note
	e.Reasons = []*fbv1.Reason{{Code: "unsnoozed", Text: "snooze ended early by " + actor}}
	return c, e, nil
}

// Snoozed reports whether the case's chain is paused at now.
func Snoozed(c *fbv1.Case, now time.Time) bool {
	return c.SnoozedUntil != nil && c.SnoozedUntil.AsTime().After(now)
}

// wake ends a snooze; the event id is derived from the snooze's end, so
// the clock firing it twice yields one event.
func wake(c *fbv1.Case, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	until := c.SnoozedUntil.AsTime()
	c = proto.Clone(c).(*fbv1.Case)
	c.SnoozedUntil, c.SnoozedBy = nil, ""
	c.UpdatedAt = timestamppb.New(now)
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED, "", []*fbv1.Reason{{Code: "snooze_ended", Text: "snooze ended; the chain resumes"}}, now)
	e.Id = fmt.Sprintf("%s:unsnoozed:%d", c.Id, until.UnixMilli())
	return c, e
}

// Change is a person's action on a case: the case after it and the event
// that records it, or an error saying why the case does not allow it.
type Change = func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error)

// ForEpisode applies change only while the case is in the given episode. A
// command made for an earlier episode (a PagerDuty incident resolved late
// or replayed, a Slack button on an old message) is recorded on the
// timeline as ignored, with the case unchanged, and pages nobody.
func ForEpisode(episode int32, action string, change Change) Change {
	return func(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
		if c.Episode == episode {
			return change(c, actor, note, now)
		}
		text := fmt.Sprintf("%s for episode %d ignored: the case is in episode %d, which it does not concern", action, episode, c.Episode)
		e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_COMMAND_IGNORED, "", []*fbv1.Reason{{Code: "other_episode", Text: text}}, now)
		e.Actor, e.Note = actor, note
		return c, e, nil
	}
}
