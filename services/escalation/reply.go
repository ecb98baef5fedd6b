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
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/reply"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// reply judges a brand reply, carried by its score (which holds the reply
// check), against the author it answers: whether it counts as an answer
// (the policy's answer rule), whether it hands the author over to private
// messages, and whether it is itself a reason to escalate (the policy's
// routes, with the author's reach and history). All of it, the case's
// events and the author's history, is committed in one step, once.
func (s *Service) brandReply(ctx context.Context, msg jetstream.Msg, m *fbv1.Mention, part ledger.Part) error {
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
	a := s.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.ReplyToAuthorId))
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
		if !errors.Is(err, ledger.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("judge brand reply %s: author %s's case kept changing; will retry", m.Id, a.Key)
}

func (s *Service) judgeReply(ctx context.Context, pol *policy.Policy, a ledger.Author, j ledger.Joined, m *fbv1.Mention, sc *fbv1.Score) error {
	now := s.clock.Now()
	in := policy.Input{Mention: m, Score: sc, Reach: reply.Reach(j.Reach, j.Current), History: j.History, To: reply.To(j.Mention, j.Current)}
	d := pol.Decide(in, now)
	d.AuthorKey = a.Key
	s.shadowDecision(ctx, in, d)
	out := reply.Judge(pol, d, in, j.Current, a.Tag, s.caseSettings(pol), now)
	if out.Case != nil {
		d.CaseId = out.Case.Id
	}
	version, err := s.silences.Version(ctx)
	if err != nil {
		return err
	}
	if err := s.mute(ctx, version, d, m, in.To, out.Events); err != nil {
		return err
	}
	eff := ledger.ReplyEffect{Answer: out.Answer, Handoff: out.Handoff, Keep: 10 * pol.Window()}
	already, err := s.store.CommitReply(ctx, a, j, d, out.Case, out.Events, s.nextLook(pol, out.Case), eff,
		s.tallyDecision(d), s.tallyAnswer(out.Case, out.Reply))
	if err != nil {
		s.tally.Forget() // the commit carried the reply's counts
		return err
	}
	if already {
		return nil
	}
	s.count(ctx, d)
	s.countAnswer(ctx, out.Case, out.Reply)
	return s.publish(ctx, out.Events...)
}

// countAnswer records the time to first answer of a case the reply
// answered first.
func (s *Service) countAnswer(ctx context.Context, c *fbv1.Case, r cases.Reply) {
	if c == nil || !r.Answered || c.AnsweredBy != r.Mention.Id || c.OpenedAt == nil {
		return
	}
	took := r.Mention.CreatedAt.AsTime().Sub(c.OpenedAt.AsTime())
	s.firstAnswer.Record(ctx, max(took, 0).Seconds(), metric.WithAttributes(
		attribute.String("brand", c.Brand), attribute.String("priority", wording.Priority(c.Priority))))
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
