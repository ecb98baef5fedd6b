package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/store"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// reply judges a brand reply, carried by its score (which holds the reply
// check), against the author it answers: whether it counts as an answer
// (the policy's answer rule), whether it hands the author over to private
// messages, and whether it is itself a reason to escalate (the policy's
// routes, with the author's reach and history). All of it, the case's
// events and the author's history, is committed in one step, once.
func (s *Service) reply(ctx context.Context, msg jetstream.Msg, m *fbv1.Mention, part store.Part) error {
	if part.Name != "score" {
		// The brand account's own reach adds nothing: a reply is judged
		// with the reach of the author it answers.
		return nil
	}
	var sm fbv1.ScoredMention
	if err := proto.Unmarshal(part.Data, &sm); err != nil {
		return bus.Permanent(fmt.Errorf("decode scored brand reply %s: %w", m.Id, err))
	}
	sc := sm.Score
	if m.ReplyToAuthorId == "" {
		// A brand post that answers nobody (an announcement) has no
		// author's streak to end; nothing to do.
		return nil
	}
	a := s.store.Author(store.AuthorKey(m.Brand, m.Platform, m.ReplyToAuthorId))
	pol := s.policy.Load()
	for range maxConflicts {
		j, err := s.store.Reply(ctx, a, m.Id, m.CreatedAt.AsTime(), pol.Window())
		if err != nil {
			return err
		}
		if j.Decided != nil {
			return s.republish(ctx, msg, j.Decided)
		}
		err = s.judgeReply(ctx, pol, a, j, m, sc)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("judge brand reply %s: author %s's case kept changing; will retry", m.Id, a.Key)
}

func (s *Service) judgeReply(ctx context.Context, pol *policy.Policy, a store.Author, j store.Joined, m *fbv1.Mention, sc *fbv1.Score) error {
	now := s.now()
	to := j.Mention.GetAuthor()
	if to == nil && j.Current.Case != nil {
		to = j.Current.Case.Author
	}
	reach := j.Reach
	if reach == nil && j.Current.Case != nil {
		reach = j.Current.Case.Reach
	}
	in := policy.Input{Mention: m, Score: sc, Reach: reach, History: j.History, To: to}
	d := decision(pol, in, now)
	d.AuthorKey = a.Key
	d.Complaint = false // the brand's own words never count as the author's complaint
	s.shadowDecision(ctx, in, d)
	answered, why := pol.Answers(m, sc.GetReply())
	r := cases.Reply{Mention: m, Check: sc.GetReply(), Answered: answered && !d.Escalate, Why: why, To: to}
	if d.Escalate {
		r.Why = "not counted as an answer: " + policy.FindingWords(sc.GetReply())
	}
	c, events := cases.DecideReply(j.Current, a.Tag, d, r, s.caseSettings(pol), now)
	if c != nil {
		d.CaseId = c.Id
	}
	eff := store.ReplyEffect{Keep: 10 * pol.Window()}
	if r.Answered {
		eff.Answer = m.CreatedAt.AsTime()
	} else if r.MovesPrivate() {
		eff.Handoff = m.CreatedAt.AsTime()
	}
	already, err := s.store.CommitReply(ctx, a, j, d, c, events, s.nextLook(pol, c), eff)
	if err != nil || already {
		return err
	}
	s.count(ctx, d)
	s.countAnswer(ctx, c, r)
	return s.publish(ctx, events...)
}

// countAnswer records the time to first answer of a case the reply
// answered first.
func (s *Service) countAnswer(ctx context.Context, c *fbv1.Case, r cases.Reply) {
	if c == nil || !r.Answered || c.AnsweredBy != r.Mention.Id || c.UnansweredSince == nil && c.OpenedAt == nil {
		return
	}
	since := c.OpenedAt.AsTime()
	took := r.Mention.CreatedAt.AsTime().Sub(since)
	s.firstAnswer.Record(ctx, max(took, 0).Seconds(), metric.WithAttributes(
		attribute.String("brand", c.Brand), attribute.String("priority", cases.PriorityName(c.Priority))))
}

// nextLook is when a case's clocks must next be looked at, zero if never.
// It does not know the last brand answer; looking too early is harmless.
func (s *Service) nextLook(pol *policy.Policy, c *fbv1.Case) time.Time {
	if c == nil {
		return time.Time{}
	}
	k, ok := s.clocks(pol, c, time.Time{})
	if !ok {
		return time.Time{}
	}
	_, _, next := cases.Tick(c, k, time.Time{})
	return next
}

// clocks are the timers of case c under pol.
func (s *Service) clocks(pol *policy.Policy, c *fbv1.Case, replied time.Time) (cases.Clocks, bool) {
	ch, ok := pol.Chain(c.Chain)
	if !ok {
		return cases.Clocks{}, false
	}
	return cases.Clocks{Chain: ch, RepliedAt: replied, PrivateReplyWithin: pol.PrivateReplyWithin(), RespondWithin: pol.RespondWithin}, true
}
