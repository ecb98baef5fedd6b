package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// undecidedRetry is how soon an engagement update of a post not yet
// decided is looked at again.
const undecidedRetry = time.Second

// spread decides a post again when its reach was measured again after an
// engagement update (mentions.spread): the same mention, score and history
// as its first decision, with the new reach and its velocity. A decision
// that now escalates higher raises the case holding the post, through the
// case's outbox, so a redelivery finds the case raised and changes nothing;
// the decision recorded for the post is replaced, so explain shows why.
// The decision input is keyed on the post and its counters: each update is
// decided once.
func (s *Service) spread(ctx context.Context, msg jetstream.Msg) error {
	var rm fbv1.ReachedMention
	if err := bus.Decode(msg, &rm); err != nil {
		return err
	}
	m := rm.Mention
	if err := checkMention(m); err != nil {
		return err
	}
	if m.BrandReply {
		return nil
	}
	a := s.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.GetId()))
	prior, err := s.store.Decision(ctx, m.Id)
	if errors.Is(err, cases.ErrNotFound) {
		// Either its score or reach is still on its way (look again soon),
		// or it was decided so long ago that its decision is gone.
		joining, jerr := s.store.Joining(ctx, a, m.Id)
		if jerr != nil {
			return jerr
		}
		if joining {
			return bus.RetryAfter(fmt.Errorf("engagement update of mention %s came before its first decision", m.Id), undecidedRetry)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if prior.CaseId == "" {
		return nil // its first decision opened no case: there is nothing to raise
	}
	pol := s.policy.Load()
	for range maxConflicts {
		err := s.respread(ctx, pol, a, prior, m, rm.Reach)
		if !errors.Is(err, ledger.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("decide spreading mention %s again: case %s kept changing; will retry", m.Id, prior.CaseId)
}

func (s *Service) respread(ctx context.Context, pol *policy.Policy, a ledger.Author, prior *fbv1.Decision, m *fbv1.Mention, r *fbv1.Reach) error {
	// Events an earlier try saved but did not publish go out first.
	if err := s.flush(ctx, prior.CaseId); err != nil {
		return err
	}
	l, err := s.store.Case(ctx, prior.CaseId)
	if errors.Is(err, cases.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.clock.Now()
	in := policy.Input{Mention: m, Score: prior.Score, Reach: r, History: prior.History}
	d := pol.Decide(in, now)
	d.AuthorKey = a.Key
	c := m.GetMetrics()
	update := fmt.Sprintf("%d.%d.%d.%d", c.GetReposts(), c.GetLikes(), c.GetReplies(), c.GetQuotes())
	raised, events := cases.Spread(l.Case, d, m, s.caseSettings(pol), now, update)
	if raised == nil {
		return nil
	}
	d.CaseId = raised.Id
	version, err := s.silences.Version(ctx)
	if err != nil {
		return err
	}
	if err := s.mute(ctx, version, d, m, nil, events); err != nil {
		return err
	}
	if err := s.store.Save(ctx, l, raised, events[0], s.nextLook(pol, raised)); err != nil {
		return err
	}
	s.count(ctx, d)
	if err := s.store.Redecide(ctx, a, d); err != nil {
		s.d.Tel.Logger.WarnContext(ctx, "case raised as the post spreads, but its decision could not be recorded", "mention", m.Id, "err", err)
	}
	return s.publishSaved(ctx, raised.Id, events[0])
}
