// Package notify delivers case events to receivers. Like Alertmanager's notify
// package it is a chain of small stages per receiver (dedup, rate limit,
// retry, record), run side by side for all receivers of a route, so a slow or
// failing receiver never holds up the others.
package notify

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Notifier sends one notification to one kind of receiver. It says whether a
// failure is worth retrying; the retry stage decides how and when. Errors
// should be *Error so the failure reason reaches metrics.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) (retry bool, err error)
}

// Poster is a Notifier whose sends leave a message that can be changed
// later (Slack's chat.postMessage with a bot token): it says which. The
// reference is kept in the delivery log (Delivery.message_ref); "" when
// the message cannot be changed (an incoming webhook, a grouped message).
type Poster interface {
	Post(ctx context.Context, n *Notification) (ref string, retry bool, err error)
}

// Action is what a notification asks the receiver to do.
type Action string

// Actions a receiver may be asked to take.
const (
	ActionNone        Action = ""
	ActionTrigger     Action = "trigger"
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// ActionOf maps a case event to what receivers should do about it. Updates to
// an open case page nobody: the level they belong to has already paged.
func ActionOf(ev *fbv1.CaseEvent) Action {
	switch ev.GetType() {
	case fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED,
		fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED,
		fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED:
		return ActionTrigger
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED:
		return ActionAcknowledge
	case fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED:
		return ActionResolve
	default:
		return ActionNone
	}
}

// Level is the escalation level an event pages: the event's own level, or the
// case's when the event does not carry one.
func Level(ev *fbv1.CaseEvent) int32 {
	if ev.GetLevel() > 0 {
		return ev.GetLevel()
	}
	return ev.GetCase().GetLevel()
}

// Key is the idempotency key of telling receiver about ev. A page is keyed
// by case, episode (escalation counts reopenings, raises and expired
// acknowledgements), chain round and level, so each firing of a level pages
// each receiver once whatever the redeliveries, and the same firing
// re-created after a loss of state carries the same key, which receivers
// that deduplicate (PagerDuty, webhooks) drop. Acknowledgements and
// resolutions are keyed by their event, so a case resolved, reopened and
// resolved again says so twice.
func Key(ev *fbv1.CaseEvent, receiver string) string {
	c := ev.GetCase()
	if ActionOf(ev) == ActionTrigger {
		return fmt.Sprintf("%s:e%d.r%d.l%d:%s", c.GetId(), c.GetEpisode(), ev.GetRound(), Level(ev), receiver)
	}
	return fmt.Sprintf("%s:%s:%s:%s", c.GetId(), ActionOf(ev), ev.GetId(), receiver)
}

// Notification is one message to one receiver. Events holds one case event,
// or several when grouping put cases of one team together; all
// events of a notification share one action.
type Notification struct {
	Events       []*fbv1.CaseEvent
	Receiver     string
	ReceiverType string
	// DedupKey is Key for a single event, or a key derived from the members'
	// keys for a group; receivers that take an idempotency key get this one.
	DedupKey string
	// LinkBase is the console's base URL; CaseLink appends the case path.
	LinkBase string
	// Result is what the stages decided so far; each returns it in the
	// notification it hands on.
	Result Result

	results *resultSet
}

// Event is the first (for a single notification, the only) event.
func (n *Notification) Event() *fbv1.CaseEvent {
	if len(n.Events) == 0 {
		return nil
	}
	return n.Events[0]
}

// Grouped reports whether the notification covers several cases.
func (n *Notification) Grouped() bool { return len(n.Events) > 1 }

// Action is what the notification's events ask for.
func (n *Notification) Action() Action { return ActionOf(n.Event()) }

// CaseLink is the console URL of a case, or "" when no link base is set.
func (n *Notification) CaseLink(caseID string) string {
	if n.LinkBase == "" {
		return ""
	}
	return strings.TrimRight(n.LinkBase, "/") + "/cases/" + url.PathEscape(caseID)
}

// clone copies n for one receiver; events are shared and must not be changed.
func (n *Notification) clone() *Notification {
	c := *n
	c.Events = append([]*fbv1.CaseEvent(nil), n.Events...)
	c.Result = Result{}
	return &c
}

// Result is what happened to a notification at one receiver.
type Result struct {
	Receiver     string
	ReceiverType string
	DedupKey     string
	Outcome      fbv1.DeliveryOutcome
	// Events are the events the receiver was told about (suppressed members
	// of a group are left out).
	Events   []*fbv1.CaseEvent
	Attempts []Attempt
	// Fallback is set on a delivery made because another receiver failed.
	Fallback bool
}

// Failed reports whether the receiver was not told after the last attempt.
func (r Result) Failed() bool { return r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED }

// Reason is the failure reason of the last attempt, "" when it succeeded.
func (r Result) Reason() Reason {
	if len(r.Attempts) == 0 {
		return ""
	}
	return r.Attempts[len(r.Attempts)-1].Reason
}

// MessageRef is the message the last attempt posted, "" when none.
func (r Result) MessageRef() string {
	if len(r.Attempts) == 0 {
		return ""
	}
	return r.Attempts[len(r.Attempts)-1].MessageRef
}

// Err is the error of the last attempt, nil when it succeeded.
func (r Result) Err() error {
	if len(r.Attempts) == 0 {
		return nil
	}
	return r.Attempts[len(r.Attempts)-1].Err
}

// Attempt is one try at telling a receiver.
type Attempt struct {
	Number     int
	At         time.Time
	Latency    time.Duration
	StatusCode int
	Reason     Reason
	Err        error
	// MessageRef is the message a Poster posted (see Poster).
	MessageRef string
}
