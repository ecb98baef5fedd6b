package escalation

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/surge"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// handleBatch takes the messages the consumer pulled together. Their joins
// go to Redis in one round trip, the decisions they complete in another,
// and the decisions' events in one publish, so a mention costs a fraction
// of the three round trips it costs alone. Spreads and brand replies go
// the one-message way (handle).
func (s *Service) handleBatch(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	var parts []batchPart
	for i, msg := range msgs {
		if s.d.Names.Unpartitioned(msg.Subject()) == s.d.Names.Spread() {
			errs[i] = s.handle(ctx, msg)
			continue
		}
		m, p, err := s.part(msg)
		if err != nil {
			errs[i] = err
			continue
		}
		if m.BrandReply {
			errs[i] = s.brandReply(ctx, msg, m, p.part)
			continue
		}
		p.at, p.author = i, s.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.GetId()))
		parts = append(parts, p)
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
	// judged is the policy's judgement of the score the part's decision
	// is made on: the message's score when it was decoded, the joined
	// score once the join is ready (see policy.Judged).
	judged policy.Judged
	early  *counted
}

// joinBatch joins parts, decides the mentions they complete and publishes
// the decisions' events, setting errs[part.at]. It is the one way a part
// is decided: a single message, or a join timeout, is a batch of one. A
// decision whose commit lost a race for its author's case is made again
// from a fresh join, up to maxConflicts times.
func (s *Service) joinBatch(ctx context.Context, parts []batchPart, errs []error) {
	pol := s.policy.Load()
	for range maxConflicts {
		if parts = s.joinRound(ctx, pol, parts, errs); len(parts) == 0 {
			return
		}
	}
	for _, p := range parts {
		errs[p.at] = fmt.Errorf("decide mention %s: author %s's case kept changing; will retry", p.mentionID, p.author.Key)
	}
}

// joinRound joins parts in one round trip, commits the decisions they
// complete in another and publishes the events in one publish. It returns
// the parts whose decision conflicted, to be joined again.
func (s *Service) joinRound(ctx context.Context, pol *policy.Policy, parts []batchPart, errs []error) (again []batchPart) {
	reqs := make([]ledger.JoinRequest, len(parts))
	scores := map[string]*counted{} // a complaint's surge count, by mention
	for k := range parts {
		p := &parts[k]
		var side []ledger.Side
		side, p.early = s.countIn(pol, p.author.Key, p.score, p.judged)
		if p.early != nil {
			scores[p.mentionID] = p.early
		}
		reqs[k] = ledger.JoinRequest{Author: p.author, MentionID: p.mentionID, Part: p.part, Side: side, Scored: p.score}
	}
	joined, joinErrs := s.store.JoinAll(ctx, reqs, pol.Window())
	var ready []int
	for k, p := range parts {
		j := joined[k]
		switch {
		case joinErrs[k] != nil:
			errs[p.at] = joinErrs[k]
		case j.Decided != nil && p.msg != nil:
			errs[p.at] = s.republish(ctx, p.msg, j.Decided)
		case j.Late || j.Ready:
			if p.early == nil {
				// The score came earlier in the batch: its count is this
				// complaint's (surgeOf checks that it counted the same).
				parts[k].early = scores[p.mentionID]
			}
			// Judged once for countAll, surgeOf and the decision; a score
			// that completed its join is the one judged when decoded.
			if !parts[k].judged.Of(pol, j.Score) {
				parts[k].judged = pol.Judge(j.Score)
			}
			ready = append(ready, k)
		case p.part.Name == ledger.Timeout:
			// A timeout for a join already decided or expired.
			errs[p.at] = s.store.Forget(ctx, p.author.Tag, p.mentionID)
		}
	}
	s.countAll(ctx, pol, parts, joined, ready)
	var plans []decided
	var planned []int
	var reqsC []ledger.CommitRequest
	for _, k := range ready {
		p := parts[k]
		mctx := bus.MessageContext(ctx, p.msg) // the decision goes on in its message's trace
		dc, err := s.plan(mctx, pol, p.author, joined[k], p.judged, p.early)
		for _, e := range dc.events {
			ledger.StampTrace(mctx, e)
		}
		switch {
		case errors.Is(err, ledger.ErrConflict):
			again = append(again, p)
		case err != nil:
			errs[p.at] = err
		default:
			plans, planned = append(plans, dc), append(planned, k)
			reqsC = append(reqsC, s.commitRequest(pol, p.author, dc))
		}
	}
	already, commitErrs := s.store.CommitAll(ctx, reqsC)
	var events []*fbv1.CaseEvent
	var parents []trace.SpanContext
	var published []int
	for n, k := range planned {
		p, dc := parts[k], plans[n]
		switch {
		case errors.Is(commitErrs[n], ledger.ErrConflict):
			again = append(again, p)
		case commitErrs[n] != nil:
			s.tally.Forget() // the commit carried the decision's counts
			errs[p.at] = commitErrs[n]
		case already[n]:
		case dc.j.Outbox && dc.c != nil:
			// A timeout's decision has no message to be redelivered:
			// its events go through the case's outbox.
			s.committed(ctx, dc)
			errs[p.at] = s.publishSaved(ctx, dc.c.Id, dc.events...)
		default:
			s.committed(ctx, dc)
			events = append(events, dc.events...)
			for range dc.events {
				parents = append(parents, bus.SpanOf(p.msg))
			}
			published = append(published, p.at)
		}
	}
	if err := s.publishTraced(ctx, events, parents); err != nil {
		for _, at := range published {
			errs[at] = err
		}
	}
	return again
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
		if m == nil || m.GetBrandReply() || !pol.ComplaintOf(j.Score, parts[k].judged) {
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
