// Package cases is the life of a case: opened by an escalating decision,
// updated and raised by later complaints, acknowledged, resolved, reopened.
// Every change returns the case after it and the CaseEvents that describe
// it. It does no I/O; the service stores and publishes what it returns.
package cases

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
)

// MaxTexts bounds the complaint texts kept on a case for notifications.
const MaxTexts = 5

// ErrNotFound is returned for a case id that names no case.
var ErrNotFound = errors.New("case not found")

// ErrBadID is returned for a string that is not a case id.
var ErrBadID = errors.New("not a case id")

// ID is a case's id: the author's hash tag and the author's case number, so
// the store can find a case's keys from its id alone.
func ID(tag string, n int64) string { return tag + "-" + strconv.FormatInt(n, 10) }

// ParseID splits a case id into tag and number.
func ParseID(id string) (tag string, n int64, err error) {
	tag, num, ok := strings.Cut(id, "-")
	if !ok || tag == "" {
		return "", 0, fmt.Errorf("%w: %q (want TAG-N, as listed by `firebreak cases list`)", ErrBadID, id)
	}
	n, err = strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("%w: %q (want TAG-N, as listed by `firebreak cases list`)", ErrBadID, id)
	}
	return tag, n, nil
}

// DefaultReopen is Settings.Reopen unless the operator says otherwise: the
// escalation service's --reopen-within default, and what the backtest
// replays with.
const DefaultReopen = 72 * time.Hour

// Settings shape case handling.
type Settings struct {
	// Reopen is how long after resolution a new complaint reopens the case
	// instead of opening a new one.
	Reopen time.Duration
	// Chain looks up an escalation chain by name, to name the receivers of
	// the first level; nil or unknown chains leave routing to the notifier.
	Chain func(name string) (chain.Chain, bool)
	// RespondBy is the first-response deadline, and when to warn before
	// it, for a case of a priority unanswered since a time; zero times when
	// there is no target. Nil: no first-response targets.
	RespondBy func(p fbv1.Priority, since time.Time) (due, warn time.Time)
}

// startClock sets the case's first-response deadline from its first
// unanswered complaint and priority. A breached case keeps its deadline.
func (s Settings) startClock(c *fbv1.Case) {
	if s.RespondBy == nil || c.UnansweredSince == nil || c.Breached {
		return
	}
	due, warn := s.RespondBy(c.Priority, c.UnansweredSince.AsTime())
	c.RespondBy, c.RespondWarnAt = stamp(due), stamp(warn)
}

// stamp is nil for the zero time.
func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// firstLevel returns the receivers of a chain's first level.
func (s Settings) firstLevel(name string) []string {
	if s.Chain == nil {
		return nil
	}
	ch, ok := s.Chain(name)
	if !ok || len(ch.Levels) == 0 {
		return nil
	}
	return ch.Levels[0].Receivers
}

// Current is the author's latest case as stored, nil if none, with the
// number of the latest case (0 if none).
type Current struct {
	Case *fbv1.Case
	N    int64
}

// Decide applies an escalating decision about mention m to the author's
// current case. It returns nil when nothing changes.
func Decide(cur Current, tag string, d *fbv1.Decision, m *fbv1.Mention, s Settings, now time.Time) (c *fbv1.Case, events []*fbv1.CaseEvent) {
	if !d.Escalate {
		return nil, nil
	}
	c = cur.Case
	switch {
	case c == nil || c.State == fbv1.CaseState_CASE_STATE_RESOLVED && now.Sub(c.ResolvedAt.AsTime()) > s.Reopen:
		c, events = open(tag, cur.N+1, d, m, now)
	case Holds(c, m.Id):
		return nil, nil
	case c.State == fbv1.CaseState_CASE_STATE_RESOLVED:
		c, events = reopen(c, d, m, now)
	default:
		c, events = update(c, d, m, now)
	}
	if d.Complaint && c.UnansweredSince == nil {
		c.UnansweredSince = firstUnanswered(d.History, m)
	}
	// Silences match a case's clocks by the route and topics of its
	// latest decision.
	c.Route, c.Topics = d.Route, d.GetScore().GetTopics()
	s.startClock(c)
	for _, e := range events {
		if e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED {
			e.Receivers = s.firstLevel(c.Chain)
		}
	}
	hold(c, d, m, events, now)
	return c, events
}

// firstUnanswered is when the author's oldest complaint since the brand's
// last answer was made, or m's time if the history does not say.
func firstUnanswered(h *fbv1.History, m *fbv1.Mention) *timestamppb.Timestamp {
	if h.GetFirstUnansweredAt() != nil {
		return h.FirstUnansweredAt
	}
	return m.CreatedAt
}

func open(tag string, n int64, d *fbv1.Decision, m *fbv1.Mention, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	c := &fbv1.Case{
		Id:           ID(tag, n),
		Brand:        m.Brand,
		Platform:     m.Platform,
		Author:       m.Author,
		AuthorKey:    d.AuthorKey,
		State:        fbv1.CaseState_CASE_STATE_OPEN,
		Priority:     d.Priority,
		Team:         d.Team,
		Chain:        d.Chain,
		Level:        1,
		Reasons:      d.Reasons,
		Reach:        d.Reach,
		OpenedAt:     timestamppb.New(now),
		UpdatedAt:    timestamppb.New(now),
		LevelFiredAt: timestamppb.New(now),
	}
	attach(c, m)
	return c, []*fbv1.CaseEvent{event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, m.Id, d.Reasons, now)}
}

func reopen(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	c = proto.Clone(c).(*fbv1.Case)
	c.State = fbv1.CaseState_CASE_STATE_OPEN
	c.Priority, c.Team, c.Chain = d.Priority, d.Team, d.Chain
	c.Level, c.Round, c.LevelFiredAt = 1, 0, timestamppb.New(now)
	c.Episode++
	c.Reasons = d.Reasons
	c.ResolvedAt, c.ResolvedBy = nil, ""
	c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
	c.UpdatedAt = timestamppb.New(now)
	if d.Reach != nil {
		c.Reach = d.Reach
	}
	attach(c, m)
	return c, []*fbv1.CaseEvent{event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED, m.Id, d.Reasons, now)}
}

// update attaches a complaint to an open or acknowledged case. A higher
// priority takes the case to the decision's team and chain and restarts the
// chain, since the people paged so far were chosen for a lesser case.
func update(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	c = proto.Clone(c).(*fbv1.Case)
	attach(c, m)
	c.UpdatedAt = timestamppb.New(now)
	if d.Reach != nil {
		c.Reach = d.Reach
	}
	if d.Priority > c.Priority {
		return raise(c, d, m, now)
	}
	c.Reasons = mergeReasons(c.Reasons, d.Reasons)
	return c, []*fbv1.CaseEvent{event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED, m.Id, d.Reasons, now)}
}

// mergeReasons keeps one reason per code, the newest wording winning, so a
// case says both "1.6x the brand's audience" and "third complaint in 24h".
func mergeReasons(old, fresh []*fbv1.Reason) []*fbv1.Reason {
	out := slices.Clone(old)
	for _, r := range fresh {
		i := slices.IndexFunc(out, func(o *fbv1.Reason) bool { return o.Code == r.Code })
		if i >= 0 {
			out[i] = r
		} else {
			out = append(out, r)
		}
	}
	return out
}

func raise(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	c.Priority, c.Team, c.Chain = d.Priority, d.Team, d.Chain
	c.Reasons = d.Reasons
	c.Level, c.Round, c.LevelFiredAt = 1, 0, timestamppb.New(now)
	c.Episode++
	c.State = fbv1.CaseState_CASE_STATE_OPEN
	c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
	// A snooze was chosen for a lesser case; a raised one pages now.
	c.SnoozedUntil, c.SnoozedBy = nil, ""
	c.UpdatedAt = timestamppb.New(now)
	return c, []*fbv1.CaseEvent{event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, m.Id, d.Reasons, now)}
}

// Revise applies a decision revised by a late part to a case that already
// holds the mention: a higher priority raises the case (and restarts its
// chain at the new team's first level); anything else changes nothing.
func Revise(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, s Settings, now time.Time) (*fbv1.Case, []*fbv1.CaseEvent) {
	return raiseHolding(c, d, m, s, now, ":late")
}

// Spread applies the decision on a post decided again because it spreads
// (an engagement update, named by update) to the case that holds it, as
// Revise does: only a higher priority changes the case. Each update has
// its own event id, so a post raised twice as it spreads pages twice.
func Spread(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, s Settings, now time.Time, update string) (*fbv1.Case, []*fbv1.CaseEvent) {
	if !MayHold(c, m.Id) {
		return nil, nil
	}
	return raiseHolding(c, d, m, s, now, ":spread:"+update)
}

func raiseHolding(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, s Settings, now time.Time, suffix string) (*fbv1.Case, []*fbv1.CaseEvent) {
	if !d.Escalate || d.Priority <= c.Priority || c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
		return nil, nil
	}
	c, events := raise(proto.Clone(c).(*fbv1.Case), d, m, now)
	c.Route, c.Topics = d.Route, d.GetScore().GetTopics()
	s.startClock(c)
	events[0].Id += suffix
	events[0].Receivers = s.firstLevel(c.Chain)
	hold(c, d, m, events, now)
	return c, events
}

// A case is embedded whole in every event about it, and NATS refuses a
// message over its payload limit (1 MiB by default): a case that grew with
// every complaint would, past some thousands, make every publish for its
// author fail. So a case keeps only the latest of everything it gathers,
// with counts of the whole. Worst case, with every field at the limit
// ingest accepts, the bounds below keep a case near 400 KiB
// (TestCaseOfTenThousandMentionsStaysBounded measures it).
const (
	// MaxMentionIDs bounds the mention ids a case keeps, the latest ones;
	// MentionsTotal counts them all. 500 ids of at most 256 bytes are at
	// most 130 KiB, and more than a person reads on a case page.
	MaxMentionIDs = 500
	// MaxLinks bounds the post addresses a case keeps, the latest ones.
	MaxLinks = 200
	// MaxURLBytes is the longest post address a case keeps; no real post
	// address is longer, and a longer one is left out, not cut.
	MaxURLBytes = 512
	// MaxPrivateTexts bounds the private messages a case keeps, the latest
	// ones.
	MaxPrivateTexts = 20
	// MaxKeptTextBytes is the most of one text (a complaint, a private
	// message, a brand reply) the case keeps; the full text stays with
	// the mention's decision. Ingest accepts texts of 16 KiB.
	MaxKeptTextBytes = 2 << 10
)

// MentionCount is how many mentions the case holds, counting those whose
// ids it no longer keeps.
func MentionCount(c *fbv1.Case) int64 {
	return max(c.GetMentionsTotal(), int64(len(c.GetMentionIds())))
}

// Holds reports whether m is among the mentions whose ids the case keeps.
// A mention older than those is not: the join ledger, which records every
// decided mention for the decision TTL, is what stops it being attached
// twice.
func Holds(c *fbv1.Case, mentionID string) bool {
	return slices.Contains(c.GetMentionIds(), mentionID)
}

// MayHold reports whether the case may hold mention m: it lists m, or it
// no longer lists all its mentions. Callers that know from m's decision
// which case took m use it to check that case.
func MayHold(c *fbv1.Case, mentionID string) bool {
	return Holds(c, mentionID) || MentionCount(c) > int64(len(c.GetMentionIds()))
}

func attach(c *fbv1.Case, m *fbv1.Mention) {
	if m.CreatedAt != nil && m.CreatedAt.AsTime().After(c.LastComplaintAt.AsTime()) {
		c.LastComplaintAt = m.CreatedAt
	}
	c.MentionsTotal = MentionCount(c) + 1
	c.MentionIds = append(c.MentionIds, m.Id)
	if len(c.MentionIds) > MaxMentionIDs {
		c.MentionIds = slices.Clone(c.MentionIds[len(c.MentionIds)-MaxMentionIDs:])
	}
	if m.Url != "" && len(m.Url) <= MaxURLBytes {
		if c.MentionUrls == nil {
			c.MentionUrls = map[string]string{}
		}
		c.MentionUrls[m.Id] = m.Url
		keepLatest(c.MentionUrls, c.MentionIds, MaxLinks)
	}
	// A private message is kept apart, so receivers can leave it out.
	if m.Visibility == fbv1.Visibility_VISIBILITY_PRIVATE {
		if c.PrivateTexts == nil {
			c.PrivateTexts = map[string]string{}
		}
		c.PrivateTexts[m.Id] = Cut(m.Text, MaxKeptTextBytes)
		keepLatest(c.PrivateTexts, c.MentionIds, MaxPrivateTexts)
		return
	}
	c.Texts = append(c.Texts, Cut(m.Text, MaxKeptTextBytes))
	if len(c.Texts) > MaxTexts {
		c.Texts = c.Texts[len(c.Texts)-MaxTexts:]
	}
}

// keepLatest trims a map keyed by mention id to its n latest entries:
// first those of mentions the case no longer lists, then the oldest listed.
func keepLatest(byID map[string]string, ids []string, n int) {
	if len(byID) <= n {
		return
	}
	for id := range byID {
		if len(byID) > n && !slices.Contains(ids, id) {
			delete(byID, id)
		}
	}
	for _, id := range ids {
		if len(byID) <= n {
			return
		}
		delete(byID, id)
	}
}

// Cut shortens s to at most n bytes, on a character boundary, marking the
// cut with an ellipsis.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}

// ErrState is returned for a change the case's state does not allow.
var ErrState = errors.New("case state does not allow this")

// Acknowledge records that a person has taken the case; the chain stops.
func Acknowledge(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	if c.State != fbv1.CaseState_CASE_STATE_OPEN {
		return nil, nil, fmt.Errorf("%w: case %s is %s, only open cases can be acknowledged", ErrState, c.Id, StateName(c.State))
	}
	c = proto.Clone(c).(*fbv1.Case)
	c.State = fbv1.CaseState_CASE_STATE_ACKNOWLEDGED
	c.AcknowledgedAt, c.AcknowledgedBy = timestamppb.New(now), actor
	c.UpdatedAt = timestamppb.New(now)
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, "", nil, now)
	e.Actor, e.Note = actor, note
	return c, e, nil
}

// Resolve closes the case; the chain ends.
func Resolve(c *fbv1.Case, actor, note string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent, error) {
	if c.State == fbv1.CaseState_CASE_STATE_RESOLVED {
		return nil, nil, fmt.Errorf("%w: case %s is already resolved", ErrState, c.Id)
	}
	c = proto.Clone(c).(*fbv1.Case)
	c.State = fbv1.CaseState_CASE_STATE_RESOLVED
	c.ResolvedAt, c.ResolvedBy = timestamppb.New(now), actor
	c.SnoozedUntil, c.SnoozedBy = nil, ""
	c.UpdatedAt = timestamppb.New(now)
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED, "", nil, now)
	e.Actor, e.Note = actor, note
	return c, e, nil
}

// event builds a CaseEvent with a deterministic id: the same cause always
// yields the same id, so a redelivered mention republishes, not duplicates.
func event(c *fbv1.Case, t fbv1.CaseEventType, mentionID string, reasons []*fbv1.Reason, now time.Time) *fbv1.CaseEvent {
	cause := mentionID
	if cause == "" {
		cause = strconv.FormatInt(now.UnixNano(), 10)
	}
	return &fbv1.CaseEvent{
		Id:        c.Id + ":" + EventName(t) + ":" + cause,
		Type:      t,
		Case:      c,
		MentionId: mentionID,
		Reasons:   reasons,
		Level:     c.Level,
		At:        timestamppb.New(now),
	}
}

// EventName is the subject token of an event type: "opened", "escalated".
func EventName(t fbv1.CaseEventType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "CASE_EVENT_TYPE_"))
}

// StateName is a state in lowercase words: "open", "acknowledged".
func StateName(s fbv1.CaseState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CASE_STATE_"))
}

// Status is what the chain needs to know of a case; repliedAt is when the
// brand last replied to the author.
func Status(c *fbv1.Case, repliedAt time.Time) chain.Status {
	st := chain.Status{Level: int(c.Level), Round: int(c.Round), FiredAt: c.LevelFiredAt.AsTime(), RepliedAt: repliedAt}
	if c.LastComplaintAt != nil {
		st.ComplainedAt = c.LastComplaintAt.AsTime()
	}
	switch c.State {
	case fbv1.CaseState_CASE_STATE_ACKNOWLEDGED:
		st.State, st.AckedAt = chain.Acknowledged, c.AcknowledgedAt.AsTime()
	case fbv1.CaseState_CASE_STATE_RESOLVED:
		st.State = chain.Resolved
	}
	return st
}

// Fire applies a due chain step: the case moves to the step's level (an
// expired acknowledgement reopens it) and an escalated event pages the
// level's receivers. The event id is derived from the step and the time the
// previous level fired, so firing the same step twice yields the same id.
func Fire(c *fbv1.Case, step chain.Step, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	prev, prevLevel := c.LevelFiredAt.AsTime().UnixMilli(), c.Level
	c = proto.Clone(c).(*fbv1.Case)
	c.Level, c.Round, c.LevelFiredAt = int32(step.Level), int32(step.Round), timestamppb.New(now)
	c.UpdatedAt = timestamppb.New(now)
	reason := &fbv1.Reason{Code: "not_acknowledged", Text: fmt.Sprintf("level %d was not acknowledged in time", prevLevel)}
	if step.Cause == chain.Opened && c.HeldUntil != nil {
		reason = &fbv1.Reason{Code: "hold_ended", Text: "held until " + c.HeldUntil.AsTime().UTC().Format("15:04:05 MST") + "; no incident covers it, so it pages now"}
	}
	c.HeldUntil, c.HeldPostId = nil, ""
	if step.Cause == chain.AckExpired {
		reason = &fbv1.Reason{Code: "ack_expired", Text: fmt.Sprintf("acknowledged by %s but the author still has no reply", orSomeone(c.AcknowledgedBy))}
		c.State = fbv1.CaseState_CASE_STATE_OPEN
		c.AcknowledgedAt, c.AcknowledgedBy = nil, ""
		c.Episode++ // a new episode: the level it pages may have paged before
	}
	e := &fbv1.CaseEvent{
		Id:        fmt.Sprintf("%s:escalated:%d.%d:%d", c.Id, step.Round, step.Level, prev),
		Type:      fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED,
		Case:      c,
		Reasons:   []*fbv1.Reason{reason},
		Level:     c.Level,
		Round:     c.Round,
		Receivers: step.Receivers,
		At:        timestamppb.New(now),
	}
	return c, e
}

func orSomeone(actor string) string {
	if actor == "" {
		return "someone"
	}
	return actor
}
