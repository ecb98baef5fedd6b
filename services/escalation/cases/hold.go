package cases

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// A route's hold keeps the first page of a case it opens (or reopens, or
// raises) back for a while, to see whether the complaint is part of a
// surge: the case opens at once and records everything, but sits at level
// 0, paging nobody, until HeldUntil. Then the chain's first level fires as
// for any new case (chain.Next fires level 1 of a case at level 0 at its
// LevelFiredAt), unless an incident covering the case's brand, topic or
// post is open by then: the case joins it quietly instead (JoinHeld), and
// the incident's one page stands for it. A case acknowledged, resolved or
// snoozed while held is treated as any other: nothing pages at the hold's
// end.

// hold applies a held decision to the events that would page: they page
// nobody, and the case waits at level 0 until the hold ends. An update to
// a case already paged or held pages nobody anyway and changes nothing.
func hold(c *fbv1.Case, d *fbv1.Decision, m *fbv1.Mention, events []*fbv1.CaseEvent, now time.Time) {
	paging := false
	for _, e := range events {
		paging = paging || e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED
	}
	if !paging {
		return
	}
	span := d.GetHold().AsDuration()
	if span <= 0 || c.Chain == "" {
		// Paged at once: whatever held the case before is over.
		c.HeldUntil, c.HeldPostId, c.HoldWaits = nil, "", 0
		return
	}
	until := timestamppb.New(now.Add(span))
	c.Level, c.Round, c.LevelFiredAt = 0, 0, until
	c.HeldUntil, c.HoldWaits = until, 0
	c.HeldPostId = m.GetQuoteOfId()
	if c.HeldPostId == "" {
		c.HeldPostId = m.GetReplyToId()
	}
	for _, e := range events {
		e.Level, e.Receivers, e.Quiet = 0, nil, true
	}
}

// Held reports whether the case's first page is being held.
func Held(c *fbv1.Case) bool {
	return c.GetHeldUntil() != nil && c.Level == 0 && c.State == fbv1.CaseState_CASE_STATE_OPEN
}

// HoldOver reports whether the case is held and its hold has ended by
// now (a snoozed case waits for its snooze too): it is time to decide
// between joining an incident and paging.
func HoldOver(c *fbv1.Case, now time.Time) bool {
	if !Held(c) || now.Before(c.HeldUntil.AsTime()) {
		return false
	}
	return c.SnoozedUntil == nil || !now.Before(c.SnoozedUntil.AsTime())
}

// JoinHeld makes a held case whose hold ended while an incident covers it
// a quiet member of that incident: it keeps everything it recorded, loses
// its chain (nothing of it pages; the incident paged once for all), and
// its timeline says why. why is the incident's reason.
func JoinHeld(c *fbv1.Case, incidentID, why string, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	heldUntil := c.HeldUntil.AsTime()
	c = proto.Clone(c).(*fbv1.Case)
	c.IncidentId, c.Chain = incidentID, ""
	c.HeldUntil, c.HeldPostId = nil, ""
	c.RespondBy, c.RespondWarnAt = nil, nil
	c.UpdatedAt = timestamppb.New(now)
	reason := &fbv1.Reason{Code: "incident", Text: fmt.Sprintf("joined incident %s at the end of its hold: %s", incidentID, why)}
	c.Reasons = mergeReasons(c.Reasons, []*fbv1.Reason{reason})
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED, "", []*fbv1.Reason{reason}, now)
	e.Id = c.Id + ":held:joined:" + strconv.FormatInt(heldUntil.UnixMilli(), 10)
	e.Quiet = true
	return c, e
}

// MaxHoldWaits bounds how many times a hold is made longer while a surge
// rises (ExtendHold): a held complaint pages at most 2×persist after its
// hold would have ended.
const MaxHoldWaits = 4

// ExtendHold holds a case whose hold ended while a surge was rising in its
// scope (above its threshold, not yet lasting long enough to open an
// incident) for by more: the incident it may become takes up to the
// surge's persist to open. The event pages nobody.
func ExtendHold(c *fbv1.Case, by time.Duration, now time.Time) (*fbv1.Case, *fbv1.CaseEvent) {
	heldUntil := c.HeldUntil.AsTime()
	c = proto.Clone(c).(*fbv1.Case)
	until := timestamppb.New(now.Add(by))
	c.HeldUntil, c.LevelFiredAt = until, until
	c.HoldWaits++
	c.UpdatedAt = timestamppb.New(now)
	reason := &fbv1.Reason{Code: "held", Text: fmt.Sprintf("held %s more: complaints like it are surging, and may open an incident", Span(by))}
	e := event(c, fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED, "", []*fbv1.Reason{reason}, now)
	e.Id = c.Id + ":held:extended:" + strconv.FormatInt(heldUntil.UnixMilli(), 10)
	e.Level, e.Quiet = 0, true
	return c, e
}
