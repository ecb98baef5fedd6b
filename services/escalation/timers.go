package escalation

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/silence"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/trouble"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// timerLease is how long a replica holds a claimed timer; a replica that
// dies holding one delays that case's next level by at most this.
const timerLease = 30 * time.Second

// leaseWork bounds the work on one claimed batch, well inside timerLease:
// work that overran the lease could go on while another replica, taking the
// expired claim, does the same. What is not done in time is left to be
// claimed again when the lease runs out (its events, if saved, wait in the
// outbox).
const leaseWork = 20 * time.Second

// timers fires escalation chain levels when nobody acknowledges in time, and
// decides mentions whose score or reach is overdue. Every replica runs it;
// Redis hands each due case or mention to one of them.
func (s *Service) timers(tick time.Duration) *lifecycle.Every {
	return &lifecycle.Every{Interval: tick, Do: s.fireDue}
}

// trimEvery is how often the case indexes are rid of expired cases.
const trimEvery = time.Hour

// trimmer drops resolved cases past their retention from the case indexes
// (their keys expire by themselves). Every replica runs it; a pass finds
// little to do after another's.
func (s *Service) trimmer() *lifecycle.Every {
	return &lifecycle.Every{Interval: trimEvery, Do: func(ctx context.Context) {
		n, err := s.store.TrimCaseIndexes(ctx, s.clock.Now(), 500)
		if err != nil {
			s.d.Tel.Logger.Warn("trimming expired cases from the case indexes failed; retrying in an hour", "err", err)
		} else if n > 0 {
			s.d.Tel.Logger.Info("dropped expired cases from the case indexes", "cases", n)
		}
	}}
}

// fireDue handles everything due, batch after batch, so a burst of cases
// does not fall a tick behind per hundred. Each claimed batch is worked on
// within leaseWork; what is left then waits for its lease to run out.
func (s *Service) fireDue(ctx context.Context) {
	for ctx.Err() == nil {
		ids, err := s.store.ClaimDue(ctx, s.clock.Now(), timerLease, 100)
		if err != nil {
			s.d.Tel.Logger.Warn("chain timers unavailable; retrying", "err", err)
			return
		}
		timersLeft := underLease(ctx, s, "chain timers", ids, func(work context.Context, id string) {
			if err := s.fire(work, id); err != nil {
				s.d.Trouble.Note()
				s.d.Tel.Logger.Warn("chain timer failed; retrying after its lease", "case", id, "err", err)
			}
		})
		joins, err := s.store.ClaimDueJoins(ctx, s.clock.Now(), timerLease, 100)
		if err != nil {
			s.d.Tel.Logger.Warn("join timers unavailable; retrying", "err", err)
			return
		}
		joinsLeft := underLease(ctx, s, "overdue mentions", joins, func(work context.Context, j [2]string) {
			if s.holdJoin(work, j) {
				return
			}
			part := ledger.Part{Name: ledger.Timeout, At: s.clock.Now()}
			if err := s.join(work, nil, s.store.AuthorByTag(j[0]), j[1], part, nil); err != nil {
				s.d.Tel.Logger.Warn("deciding an overdue mention failed; retrying after its lease", "mention", j[1], "err", err)
			}
		})
		if timersLeft || joinsLeft || (len(ids) < 100 && len(joins) < 100) {
			return
		}
	}
}

// While the mentions stream is failing (a leader election, a lost node),
// or Redis is coming back from an outage, a score or reach is late, not
// lost: scorer and reach retry it until it goes through, as their backoff
// allows (up to a minute apart). Escalation knows it from its own join
// consumers' failures, or from the trouble note any replica of scorer,
// reach or escalation writes when its consumers or timers fail: its own
// acks may have gone through a broker node that stayed up. An overdue join is then put off by an
// ack-wait at a time, up to maxJoinHolds times (a minute with the default
// 3s), rather than decided without its part and revised a moment later
// (make chaos: 145 such decisions under ten NATS leader kills, 1 after
// Redis was down for 30 s).
const (
	busFailing   = trouble.Keep // how long after a failed pull, ack or handling the join's consumers count as failing
	maxJoinHolds = 20
)

// holdJoin puts off overdue join j while a part may be late (partLate),
// and reports whether it did.
func (s *Service) holdJoin(ctx context.Context, j [2]string) bool {
	if !s.partLate(ctx) {
		return false
	}
	step := max(s.cfg.AckWait, time.Second)
	held, err := s.store.HoldJoin(ctx, j[0], j[1], s.clock.Now().Add(step), maxJoinHolds)
	if err != nil {
		s.d.Tel.Logger.Warn("holding an overdue mention while the bus fails did not work; deciding it", "mention", j[1], "err", err)
	}
	return held
}

// partLate reports whether a mention's part may be late rather than
// lost: this replica's join consumers saw the stream fail lately, or a
// replica of some service noted trouble. A note that cannot be read means
// Redis is failing: a part may well be late, and holding it tells.
func (s *Service) partLate(ctx context.Context) bool {
	if s.mentions != nil && s.mentions.Failing(busFailing) {
		return true
	}
	noted, err := s.d.Trouble.Recent(ctx)
	return noted || err != nil
}

// underLease works on a batch just claimed within s.leaseWork (see
// store.WithinBound) and reports whether time ran out before the batch did.
func underLease[T any](ctx context.Context, s *Service, what string, batch []T, do func(context.Context, T)) bool {
	left := store.WithinBound(ctx, s.leaseWork, batch, do)
	if left > 0 {
		s.d.Tel.Logger.Warn(what+" claimed but not handled within the bound on their lease; retrying after the lease", "left", left, "bound", s.leaseWork)
	}
	return left > 0
}

// fire looks at a claimed case: fires whatever of its clocks ran out (chain
// levels, first-response warning and breach, private hand-off), one at a
// time, and schedules the next.
func (s *Service) fire(ctx context.Context, id string) error {
	if err := s.flush(ctx, id); err != nil {
		return err
	}
	pol := s.policy.Load()
	for range maxConflicts + maxClocks {
		l, err := s.store.Case(ctx, id)
		if errors.Is(err, cases.ErrNotFound) || errors.Is(err, cases.ErrBadID) {
			return s.store.Unschedule(ctx, id)
		}
		if err != nil {
			return err
		}
		if l.Case.Chain == "" {
			return s.store.Unschedule(ctx, id) // a quiet case: it has no clocks
		}
		tag, _, _ := cases.ParseID(id)
		replied, err := s.store.LastReply(ctx, tag)
		if err != nil {
			return err
		}
		k, ok := s.clocks(pol, l.Case, replied)
		if !ok {
			s.d.Tel.Logger.Error("case names a chain the policy lacks; its clocks stop", "case", id, "chain", l.Case.Chain)
			return s.store.Unschedule(ctx, id)
		}
		c, e, next := cases.Tick(l.Case, k, s.clock.Now())
		joins := false
		if cases.HoldOver(l.Case, s.clock.Now()) {
			// Before the level the hold kept back fires: the case may
			// belong to an incident by now.
			held, he, joined, err := s.endHold(ctx, pol, l.Case)
			if err != nil {
				return err
			}
			if he != nil {
				c, e, joins = held, he, joined
			}
		}
		if e == nil {
			return s.settle(ctx, l, next)
		}
		set, err := s.currentSilences(ctx)
		if err != nil {
			return err
		}
		silence.MuteCase(set, c, []*fbv1.CaseEvent{e}, s.clock.Now())
		err = s.store.Save(ctx, l, c, e, time.Time{})
		if errors.Is(err, ledger.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		s.counted(ctx, c, e)
		if joins {
			s.joinedHeld(ctx, c)
		}
		if err := s.publishSaved(ctx, id, e); err != nil {
			return err
		}
	}
	return ledger.ErrConflict
}

// settle sets when the case is next looked at, from what fire read. A
// decision may change the case meanwhile and bring its timer forward; the
// timer set here from the older read would then drop or delay that. So the
// case is read again afterwards, and if it changed it is looked at again at
// once. (The timers and the case live under different hash tags, so one
// script cannot do both.)
func (s *Service) settle(ctx context.Context, l ledger.Loaded, next time.Time) error {
	var err error
	if next.IsZero() {
		err = s.store.Unschedule(ctx, l.Case.Id)
	} else {
		err = s.store.Schedule(ctx, l.Case.Id, next)
	}
	if err != nil {
		return err
	}
	again, err := s.store.Case(ctx, l.Case.Id)
	if err != nil || again.Version() == l.Version() {
		return err
	}
	return s.store.Schedule(ctx, l.Case.Id, s.clock.Now())
}

// maxClocks bounds the clocks one look at a case fires: a chain level, a
// warning, a breach and a hand-off can all be due after a long outage.
const maxClocks = 4

// counted records a fired clock in the metrics.
func (s *Service) counted(ctx context.Context, c *fbv1.Case, e *fbv1.CaseEvent) {
	if e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED {
		return
	}
	s.chainFired.Add(ctx, 1)
	for _, r := range e.Reasons {
		if r.Code == "response_breached" {
			s.breaches.Add(ctx, 1, metric.WithAttributes(attribute.String("brand", c.Brand), attribute.String("priority", wording.Priority(c.Priority))))
			if err := s.tally.Breach(ctx, s.d.Redis, c, e.At.AsTime()); err != nil {
				s.d.Tel.Logger.WarnContext(ctx, "first-response breach not counted for the insights", "case", c.Id, "err", err)
			}
		}
	}
}

// flush publishes a case's saved but unpublished events.
func (s *Service) flush(ctx context.Context, caseID string) error {
	pending, err := s.store.Outbox(ctx, caseID)
	if err != nil || len(pending) == 0 {
		return err
	}
	if err := s.publish(ctx, pending...); err != nil {
		return err
	}
	return s.store.Sent(ctx, caseID, pending...)
}

// publishSaved publishes events Save or Commit put in the outbox. If that
// fails the case's timer is brought forward, so the timer loop publishes
// them soon.
func (s *Service) publishSaved(ctx context.Context, caseID string, events ...*fbv1.CaseEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.publish(ctx, events...)
	if err == nil {
		err = s.store.Sent(ctx, caseID, events...)
	}
	if err != nil {
		if schedErr := s.store.Schedule(ctx, caseID, s.clock.Now().Add(time.Second)); schedErr != nil {
			return errors.Join(err, schedErr)
		}
	}
	return err
}
