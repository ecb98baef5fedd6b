package escalation

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/surge"
)

// handleBatch takes the messages the consumer pulled together. Their joins
// go to Redis in one round trip, the decisions they complete in another,
// and the decisions' events in one publish, so a mention costs a fraction
// of the three round trips it costs alone. Spreads and brand replies, and
// a part whose batched join or commit failed (its author's case changed
// under it, say), go the one-message way (handle, join).
func (s *Service) handleBatch(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	var parts []batchPart
	for i, msg := range msgs {
		if s.d.Names.Unpartitioned(msg.Subject()) == s.d.Names.Spread() {
			errs[i] = s.handle(ctx, msg)
			continue
		}
		m, part, score, err := s.part(msg)
		if err != nil {
			errs[i] = err
			continue
		}
		if m.BrandReply {
			errs[i] = s.brandReply(ctx, msg, m, part)
			continue
		}
		a := s.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.GetId()))
		parts = append(parts, batchPart{at: i, msg: msg, author: a, mentionID: m.Id, part: part, score: score})
	}
	s.joinBatch(ctx, parts, errs)
	return errs
}

// batchPart is one part in a batch; at is its message's place.
type batchPart struct {
	at        int
	msg       jetstream.Msg // nil in benchmarks
	author    ledger.Author
	mentionID string
	part      ledger.Part
	score     *fbv1.ScoredMention
	early     *counted
}

// joinBatch joins parts, decides the mentions they complete and publishes
// the decisions' events, setting errs[part.at].
func (s *Service) joinBatch(ctx context.Context, parts []batchPart, errs []error) {
	pol := s.policy.Load()
	reqs := make([]ledger.JoinRequest, len(parts))
	scores := map[string]*counted{} // a complaint's surge count, by mention
	for k := range parts {
		p := &parts[k]
		var side []ledger.Side
		side, p.early = s.countIn(pol, p.author.Key, p.score)
		if p.early != nil {
			scores[p.mentionID] = p.early
		}
		reqs[k] = ledger.JoinRequest{Author: p.author, MentionID: p.mentionID, Part: p.part, Side: side}
	}
	joined, joinErrs := s.store.JoinAll(ctx, reqs, pol.Window())
	one := func(p batchPart) { errs[p.at] = s.join(ctx, p.msg, p.author, p.mentionID, p.part, p.score) }
	var ready []int
	for k, p := range parts {
		j := joined[k]
		switch {
		case joinErrs[k] != nil:
			one(p)
		case j.Decided != nil && p.msg != nil:
			errs[p.at] = s.republish(ctx, p.msg, j.Decided)
		case j.Late || j.Ready:
			if p.early == nil {
				// The score came earlier in the batch: its count is this
				// complaint's (surgeOf checks that it counted the same).
				parts[k].early = scores[p.mentionID]
			}
			ready = append(ready, k)
		}
	}
	s.countAll(ctx, pol, parts, joined, ready)
	var plans []decided
	var planned []int
	var reqsC []ledger.CommitRequest
	for _, k := range ready {
		p := parts[k]
		dc, err := s.plan(ctx, pol, p.author, joined[k], p.early)
		if err != nil {
			errs[p.at] = err
			continue
		}
		plans, planned = append(plans, dc), append(planned, k)
		reqsC = append(reqsC, s.commitRequest(pol, p.author, dc))
	}
	already, commitErrs := s.store.CommitAll(ctx, reqsC)
	var events []*fbv1.CaseEvent
	var published []int
	for n, k := range planned {
		p := parts[k]
		switch {
		case commitErrs[n] != nil:
			one(p)
		case !already[n]:
			s.committed(ctx, plans[n])
			events = append(events, plans[n].events...)
			published = append(published, p.at)
		}
	}
	if err := s.publish(ctx, events...); err != nil {
		for _, at := range published {
			errs[at] = err
		}
	}
}

// countAll counts, in one round trip, the complaints among the ready joins
// whose count did not ride with their score's join (the reach came last),
// so deciding them costs no round trip of its own.
func (s *Service) countAll(ctx context.Context, pol *policy.Policy, parts []batchPart, joined []ledger.Joined, ready []int) {
	cfg, ok := pol.Surges()
	if !ok {
		return
	}
	pipe := s.d.Redis.Pipeline()
	for _, k := range ready {
		j := joined[k]
		m := j.Mention
		if m == nil || m.GetBrandReply() || !pol.Complaint(j.Score) {
			continue
		}
		c := &counted{brand: m.Brand, author: parts[k].author.Key, at: m.CreatedAt.AsTime(), scopes: surge.ScopesOf(j.Score.GetTopics(), surge.Target(m))}
		if parts[k].early.counts(c.brand, c.author, c.at, c.scopes) {
			continue
		}
		_, c.read = s.surges.ObserveIn(ctx, pipe, c.brand, c.author, c.at, c.scopes, cfg.Detect)
		parts[k].early = c
	}
	if pipe.Len() > 0 {
		// A count that failed is made again, alone, by surgeOf.
		_, _ = pipe.Exec(ctx)
	}
}
