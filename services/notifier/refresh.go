package notifier

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/store"
)

// Alertmanager ends an alert at its endsAt unless it is posted again, and
// one restarted without persistence forgets the alerts it held. So the
// alert of an open case is posted again every half of its lifetime until
// the case is resolved, as Prometheus re-sends the alerts that still fire.

// expiring is a receiver whose pages end on their own unless sent again.
type expiring interface {
	// RefreshEvery is how often a page must be sent again to stay up.
	RefreshEvery() time.Duration
}

// alertsIndex is the sharded index of cases (score: when their alerts are
// next due again); each case's last told event per receiver is kept in a
// hash in the same slot.
const alertsIndex = "alerts"

// refreshTick is how often due alerts are looked for; alerts live for
// hours, so a minute late is on time.
const refreshTick = time.Minute

// refreshLease is how long a replica holds a claimed case while posting
// its alerts again. The posts of one claimed batch are cut off at
// refreshBound, well inside the lease, so no two replicas post one case's
// alerts at once; what is left is posted after the lease runs out.
const (
	refreshLease = 2 * time.Minute
	refreshBound = 90 * time.Second
)

func (s *Service) alertsKey(caseID string) string {
	return s.d.Keys.Of(store.ShardTag(alertsIndex, store.ShardIndex(caseID)), alertsIndex, caseID)
}

// forgetResolved stops posting the alerts of ev's case again once it is
// resolved, whoever heard of the resolution.
func (s *Service) forgetResolved(ctx context.Context, ev *fbv1.CaseEvent) error {
	if ev.GetCase().GetState() != fbv1.CaseState_CASE_STATE_RESOLVED {
		return nil
	}
	return s.forget(ctx, ev.GetCase().GetId())
}

// forget stops posting the alerts of a case again.
func (s *Service) forget(ctx context.Context, caseID string) error {
	_, err := s.d.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.alertsKey(caseID))
		p.ZRem(ctx, s.d.Keys.ShardOf(alertsIndex, caseID), caseID)
		return nil
	})
	return err
}

// trackAlerts keeps, for each case an expiring receiver was just told
// about, the event it was told, and when to tell it again.
func (s *Service) trackAlerts(ctx context.Context, results []notify.Result) error {
	now := s.clock.Now()
	_, err := s.d.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range results {
			every, ok := s.refreshEvery(r.Receiver)
			told := r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED || r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED
			if !ok || !told {
				continue
			}
			for _, ev := range r.Events {
				id := ev.GetCase().GetId()
				if ev.GetCase().GetState() == fbv1.CaseState_CASE_STATE_RESOLVED {
					continue
				}
				b, err := proto.Marshal(ev)
				if err != nil {
					return err
				}
				p.HSet(ctx, s.alertsKey(id), r.Receiver, b)
				// Kept a while past the next refresh, so a case whose
				// resolution never arrives is not kept for ever.
				p.Expire(ctx, s.alertsKey(id), 4*every)
				p.ZAdd(ctx, s.d.Keys.ShardOf(alertsIndex, id), redis.Z{Score: float64(now.Add(every).UnixMilli()), Member: id})
			}
		}
		return nil
	})
	return err
}

// refreshEvery is how often receiver's pages must be sent again, false
// for a receiver whose pages stay up.
func (s *Service) refreshEvery(receiver string) (time.Duration, bool) {
	r, ok := s.receivers[receiver]
	if !ok {
		return 0, false
	}
	e, ok := r.Notifier.(expiring)
	if !ok || e.RefreshEvery() <= 0 {
		return 0, false
	}
	return e.RefreshEvery(), true
}

// refreshDue posts again the alerts of the cases that are due.
func (s *Service) refreshDue(ctx context.Context) {
	ids, err := store.ClaimDue(ctx, s.d.Redis, s.d.Keys.Sharded(alertsIndex), s.clock.Now(), refreshLease, 50)
	if err != nil {
		s.d.Tel.Logger.Warn("alerts to post again unavailable; retrying", "err", err)
		return
	}
	left := store.WithinBound(ctx, s.refreshBound, ids, func(work context.Context, id string) {
		if err := s.refresh(work, id); err != nil {
			s.d.Tel.Logger.Warn("posting alerts again failed; retrying after the lease", "case", id, "err", err)
		}
	})
	if left > 0 {
		s.d.Tel.Logger.Warn("alerts claimed but not posted again within the bound on their lease; retrying after the lease", "left", left, "bound", s.refreshBound)
	}
}

// refresh posts again each alert of one case, and schedules the next.
func (s *Service) refresh(ctx context.Context, caseID string) error {
	told, err := s.d.Redis.HGetAll(ctx, s.alertsKey(caseID)).Result()
	if err != nil {
		return err
	}
	var results []notify.Result
	for receiver, b := range told {
		ev := &fbv1.CaseEvent{}
		if err := proto.Unmarshal([]byte(b), ev); err != nil {
			return err
		}
		if _, ok := s.refreshEvery(receiver); !ok {
			continue // no longer configured: it is dropped below
		}
		note := &notify.Notification{Events: []*fbv1.CaseEvent{ev}, Receiver: receiver, ReceiverType: s.receivers[receiver].Type,
			DedupKey: notify.Key(ev, receiver), LinkBase: s.linkBase}
		if _, err := s.receivers[receiver].Notifier.Notify(ctx, note); err != nil {
			return err
		}
		results = append(results, notify.Result{Receiver: receiver, Outcome: fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED, Events: note.Events})
	}
	if len(results) == 0 {
		return s.forget(ctx, caseID)
	}
	return s.trackAlerts(ctx, results)
}
