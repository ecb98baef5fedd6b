package escalation

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/store"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// maxConflicts bounds retries when concurrent decisions about one author
// race for its case; each retry reads the case again.
const maxConflicts = 8

// handle takes one half of a mention (its score or its reach). The half that
// completes the join decides the mention, exactly once.
func (s *Service) handle(ctx context.Context, msg jetstream.Msg) error {
	m, part, err := s.part(msg)
	if err != nil {
		return err
	}
	if m.BrandReply {
		a := s.store.Author(store.AuthorKey(m.Brand, m.Platform, m.ReplyToAuthorId))
		return s.store.BrandReply(ctx, a, m.CreatedAt.AsTime(), s.policy.Load().Window())
	}
	a := s.store.Author(store.AuthorKey(m.Brand, m.Platform, m.Author.GetId()))
	pol := s.policy.Load()
	for range maxConflicts {
		j, err := s.store.Join(ctx, a, m.Id, part, pol.Window())
		if err != nil {
			return err
		}
		if j.Decided != nil {
			return s.republish(ctx, msg, j.Decided)
		}
		if !j.Ready {
			return nil // the other half will decide
		}
		err = s.decide(ctx, pol, a, m, j)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("decide mention %s: author %s's case kept changing; will retry", m.Id, a.Key)
}

// part decodes a scored or reached mention into its join half.
func (s *Service) part(msg jetstream.Msg) (*fbv1.Mention, store.Part, error) {
	switch msg.Subject() {
	case s.d.Names.Scored():
		var sm fbv1.ScoredMention
		if err := bus.Decode(msg, &sm); err != nil {
			return nil, store.Part{}, err
		}
		if err := checkMention(sm.Mention); err != nil {
			return nil, store.Part{}, err
		}
		data, err := proto.Marshal(sm.Score)
		return sm.Mention, store.Part{Name: "score", Data: data, Complaint: s.policy.Load().Complaint(sm.Score), At: sm.Mention.CreatedAt.AsTime()}, err
	case s.d.Names.Reached():
		var rm fbv1.ReachedMention
		if err := bus.Decode(msg, &rm); err != nil {
			return nil, store.Part{}, err
		}
		if err := checkMention(rm.Mention); err != nil {
			return nil, store.Part{}, err
		}
		data, err := proto.Marshal(rm.Reach)
		return rm.Mention, store.Part{Name: "reach", Data: data}, err
	}
	return nil, store.Part{}, bus.Permanent(fmt.Errorf("unexpected subject %s", msg.Subject()))
}

func checkMention(m *fbv1.Mention) error {
	if m == nil || m.Id == "" || m.Brand == "" || m.CreatedAt == nil || (m.Author.GetId() == "" && !m.BrandReply) {
		return bus.Permanent(errors.New("event carries no usable mention (id, brand, author and created_at are required)"))
	}
	return nil
}

// decide evaluates the policy on a joined mention, applies the decision to
// the author's case, stores both, and publishes the case's events.
func (s *Service) decide(ctx context.Context, pol *policy.Policy, a store.Author, m *fbv1.Mention, j store.Joined) error {
	now := s.now()
	out := pol.Evaluate(policy.Input{Mention: m, Score: j.Score, Reach: j.Reach, History: j.History})
	d := &fbv1.Decision{
		MentionId: m.Id, Brand: m.Brand, AuthorKey: a.Key,
		Escalate: out.Escalate, Team: out.Team, Priority: out.Priority, Chain: out.Chain, Route: out.Route,
		Reasons: out.Reasons, Complaint: pol.Complaint(j.Score), History: j.History,
		PolicyVersion: pol.Version(), DecidedAt: timestamppb.New(now), Score: j.Score, Reach: j.Reach,
	}
	c, events := cases.Decide(j.Current, a.Tag, d, m, cases.Settings{Reopen: s.cfg.Reopen, Chain: pol.Chain}, now)
	if c != nil {
		d.CaseId = c.Id
	}
	already, err := s.store.Commit(ctx, a, j, d, c, events, nextLook(pol, c))
	if err != nil || already {
		return err
	}
	s.count(ctx, d)
	s.d.Tel.Logger.DebugContext(ctx, "decided", "mention", m.Id, "escalate", d.Escalate, "route", d.Route, "case", d.CaseId)
	return s.publish(ctx, events...)
}

// republish sends a decided mention's events again when its message is a
// redelivery: the decision was stored, but the process may have died before
// the events were published.
func (s *Service) republish(ctx context.Context, msg jetstream.Msg, stored [][]byte) error {
	if meta, err := msg.Metadata(); err == nil && meta.NumDelivered <= 1 {
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
