package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/redrive"
)

// maxConflicts bounds retries when concurrent decisions about one author
// race for its case; each retry reads the case again.
const maxConflicts = 8

// handle takes one half of a mention (its score or its reach). The half that
// completes the join decides the mention, exactly once.
func (s *Service) handle(ctx context.Context, msg jetstream.Msg) error {
	if s.d.Names.Unpartitioned(msg.Subject()) == s.d.Names.Spread() {
		return s.spread(ctx, msg)
	}
	m, p, err := s.part(msg)
	if err != nil {
		return err
	}
	if m.BrandReply {
		return s.brandReply(ctx, msg, m, p.part)
	}
	p.author = s.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.GetId()))
	errs := make([]error, 1)
	s.joinBatch(ctx, []batchPart{p}, errs)
	return errs[0]
}

// join stores a part and decides the mention if the join is complete: a
// batch of one (see joinBatch). msg is the part's message, nil when a
// timeout brings the join here. score, when the part is a score, lets a
// complaint's surge count ride in the join's round trip.
func (s *Service) join(ctx context.Context, msg jetstream.Msg, a ledger.Author, mentionID string, part ledger.Part, score *fbv1.ScoredMention) error {
	errs := make([]error, 1)
	s.joinBatch(ctx, []batchPart{{msg: msg, author: a, mentionID: mentionID, part: part, score: score}}, errs)
	return errs[0]
}

// part decodes a scored or reached mention into its join half, the batch
// part of msg but for its author and place; its score is the scored
// mention for a score, nil for a reach.
func (s *Service) part(msg jetstream.Msg) (*fbv1.Mention, batchPart, error) {
	// Subjects are compared without their partition token: a mention's
	// partition decides only which stream carries it.
	switch s.d.Names.Unpartitioned(msg.Subject()) {
	case s.d.Names.Scored():
		sm := &fbv1.ScoredMention{}
		if err := bus.Decode(msg, sm); err != nil {
			return nil, batchPart{}, err
		}
		if err := checkMention(sm.Mention); err != nil {
			return nil, batchPart{}, err
		}
		// Judged once: the surge count in the join's round trip asks again.
		judged := s.policy.Load().Judge(sm.Score)
		part := ledger.Part{Name: "score", Data: msg.Data(), Complaint: judged.Complaint(), At: sm.Mention.CreatedAt.AsTime()}
		return sm.Mention, batchPart{msg: msg, mentionID: sm.Mention.Id, part: part, score: sm, judged: judged}, nil
	case s.d.Names.Reached():
		var rm fbv1.ReachedMention
		if err := bus.Decode(msg, &rm); err != nil {
			return nil, batchPart{}, err
		}
		if err := checkMention(rm.Mention); err != nil {
			return nil, batchPart{}, err
		}
		part := ledger.Part{Name: "reach", Data: msg.Data(), At: rm.Mention.CreatedAt.AsTime()}
		return rm.Mention, batchPart{msg: msg, mentionID: rm.Mention.Id, part: part}, nil
	}
	return nil, batchPart{}, bus.Permanent(fmt.Errorf("unexpected subject %s", msg.Subject()))
}

func checkMention(m *fbv1.Mention) error {
	if m == nil || m.Id == "" || m.Brand == "" || m.CreatedAt == nil || (m.Author.GetId() == "" && !m.BrandReply) {
		return bus.Permanent(errors.New("event carries no usable mention (id, brand, author and created_at are required)"))
	}
	return nil
}

// evaluate runs the policy on a joined mention and records the decision,
// with the shadow policy's beside it.
func (s *Service) evaluate(pol *policy.Policy, a ledger.Author, j ledger.Joined, judged policy.Judged, sf *policy.SurgeFacts, now time.Time) *fbv1.Decision {
	in := policy.Input{Mention: j.Mention, Score: j.Score, Reach: j.Reach, History: j.History, Surge: sf, Judged: judged}
	d := pol.Decide(in, now)
	d.AuthorKey = a.Key
	s.shadowDecision(context.Background(), in, d)
	return d
}

// decided is a decision on a joined mention, with the author's case after
// it and the case's events, not yet committed.
type decided struct {
	j      ledger.Joined
	d      *fbv1.Decision
	c      *fbv1.Case
	events []*fbv1.CaseEvent
}

// plan makes the decision on a joined mention: fresh, or revised when a
// late part has come. judged is the policy's judgement of j.Score.
func (s *Service) plan(ctx context.Context, pol *policy.Policy, a ledger.Author, j ledger.Joined, judged policy.Judged, early *counted) (decided, error) {
	if j.Late {
		return s.revise(ctx, pol, a, j, judged, early)
	}
	return s.fresh(ctx, pol, a, j, judged, early)
}

// fresh applies a fresh decision to the author's case.
func (s *Service) fresh(ctx context.Context, pol *policy.Policy, a ledger.Author, j ledger.Joined, judged policy.Judged, early *counted) (decided, error) {
	sf, err := s.surgeOf(ctx, pol, a.Key, j.Mention, j.Score, judged, early)
	if err != nil {
		return decided{}, err
	}
	now := s.clock.Now()
	d := s.evaluate(pol, a, j, judged, sf, now)
	c, events := cases.Decide(j.Current, a.Tag, d, j.Mention, s.caseSettings(pol), now)
	if c != nil {
		d.CaseId = c.Id
		joined(c, d, events)
	}
	if err := s.mute(ctx, j.Watched, d, j.Mention, nil, events); err != nil {
		return decided{}, err
	}
	return decided{j: j, d: d, c: c, events: events}, nil
}

// revise looks again at a mention decided without one part, now that the
// part has come: if the full picture escalates further, the case follows.
func (s *Service) revise(ctx context.Context, pol *policy.Policy, a ledger.Author, j ledger.Joined, judged policy.Judged, early *counted) (decided, error) {
	sf, err := s.surgeOf(ctx, pol, a.Key, j.Mention, j.Score, judged, early)
	if err != nil {
		return decided{}, err
	}
	now := s.clock.Now()
	d := s.evaluate(pol, a, j, judged, sf, now)
	d.Reasons = append(d.Reasons, &fbv1.Reason{Code: "late_input",
		Text: fmt.Sprintf("revised when the %s that was missing arrived", missingWord(j.Prior.Missing))})
	d.CaseId = j.Prior.CaseId
	var c *fbv1.Case
	var events []*fbv1.CaseEvent
	cur := j.Current.Case
	if cur != nil && cur.Id == j.Prior.CaseId && cases.MayHold(cur, j.Mention.Id) {
		c, events = cases.Revise(cur, d, j.Mention, s.caseSettings(pol), now)
	} else {
		c, events = cases.Decide(j.Current, a.Tag, d, j.Mention, s.caseSettings(pol), now)
	}
	if c != nil {
		d.CaseId = c.Id
		joined(c, d, events)
	}
	if err := s.mute(ctx, j.Watched, d, j.Mention, nil, events); err != nil {
		return decided{}, err
	}
	return decided{j: j, d: d, c: c, events: events}, nil
}

// joined marks a case that joined an open incident with it, and a quiet
// decision's events as paging nobody.
func joined(c *fbv1.Case, d *fbv1.Decision, events []*fbv1.CaseEvent) {
	if d.GetSurge().GetActive() {
		c.IncidentId = d.Surge.IncidentId
	}
	if d.Quiet {
		for _, e := range events {
			e.Quiet = true
		}
	}
}

func missingWord(missing []string) string {
	if len(missing) == 0 {
		return "input"
	}
	return missing[0]
}

func (s *Service) caseSettings(pol *policy.Policy) cases.Settings {
	return cases.Settings{Reopen: s.cfg.Reopen, Chain: pol.Chain, RespondBy: pol.RespondBy}
}

// commitRequest is what the store commits for dc.
func (s *Service) commitRequest(pol *policy.Policy, a ledger.Author, dc decided) ledger.CommitRequest {
	due := s.nextLook(pol, dc.c)
	if dc.j.Outbox && dc.c != nil && len(dc.events) > 0 {
		if soon := s.clock.Now().Add(timerLease); due.IsZero() || soon.Before(due) {
			due = soon
		}
	}
	return ledger.CommitRequest{Author: a, Joined: dc.j, Decision: dc.d, Case: dc.c, Events: dc.events, Due: due,
		Also: []ledger.Also{s.tallyDecision(dc.d)}}
}

// committed counts a decision just stored and records it in its incident.
func (s *Service) committed(ctx context.Context, dc decided) {
	d := dc.d
	s.count(ctx, d)
	s.joinIncident(ctx, d, dc.j.Mention)
	// Asked first: the arguments cost allocations even with debug off.
	if log := s.d.Tel.Logger; log.Enabled(ctx, slog.LevelDebug) {
		log.DebugContext(ctx, "decided", "mention", d.MentionId, "escalate", d.Escalate, "route", d.Route, "case", d.CaseId, "missing", d.Missing)
	}
}

// republish sends a decided mention's events again: the decision was
// stored, but the events may never have gone out (the process died, or the
// publish failed, before the ack). Every delivery from the bus that finds
// its mention decided does so, a first delivery too: a consumer whose
// leader died delivers again, as a first delivery, a message that may have
// failed (make chaos with 2 partitions, the leader kills: 19 escalations'
// events were never published while first deliveries skipped this). The
// events keep their ids: the stream's duplicate window and every
// consumer's idempotency absorb the repeat. Only a redrive's offer, whose
// message was acked after its events went out, publishes nothing again.
func (s *Service) republish(ctx context.Context, msg jetstream.Msg, stored [][]byte) error {
	if redrive.Offered(msg) {
		return nil
	}
	events := make([]*fbv1.CaseEvent, 0, len(stored))
	for _, b := range stored {
		e := &fbv1.CaseEvent{}
		if err := proto.Unmarshal(b, e); err != nil {
			return bus.Permanent(fmt.Errorf("decode stored event: %w", err))
		}
		events = append(events, e)
	}
	return s.publish(ctx, events...)
}
