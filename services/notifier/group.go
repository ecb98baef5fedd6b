package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/store"
)

// Grouping, after Alertmanager's grouping: when a team's cases fire in
// a burst, the first page goes out and the rest are held and sent together
// once the team's group interval has passed. A team's window (its
// GroupState and the events it holds) lives in Redis, so any replica can
// hold an event and any replica can flush. The due index of held groups is
// sharded (store.Shards), and a team's window lives under its shard's hash
// tag, so one transaction writes the window and the due time in one Cluster
// slot, and teams spread over the Cluster.

// grouper is implemented by routing that has grouping settings per team.
type grouper interface {
	Group(team string) notify.GroupConfig
}

// groupLease bounds how long a replica may hold a team's due group; if it
// dies while flushing, another takes over after this. The flushes of one
// claimed batch of teams are cut off at flushBound, well inside the lease,
// so no two replicas ever flush one group at once: a flush that overran the
// lease could deliver while another replica, taking the expired claim,
// delivers the same group.
const (
	groupLease = 30 * time.Second
	flushBound = 20 * time.Second
)

func (s *Service) groupConfig(team string) notify.GroupConfig {
	if g, ok := s.router.(grouper); ok {
		return g.Group(team)
	}
	return notify.GroupConfig{}
}

// The keys keep the segment "storm", grouping's old name (the due index
// is "storms").

func (s *Service) teamGroupKey(team string, part string) string {
	return s.d.Keys.Of(store.ShardTag("storms", store.ShardIndex(team)), "storm", store.Tag("team/"+team), part)
}

// dueKey is the shard of the due index that holds team.
func (s *Service) dueKey(team string) string { return s.d.Keys.ShardOf("storms", team) }

// hold decides whether a page goes out now or joins its team's group. It
// returns true when the event is held (and so is durable in Redis).
func (s *Service) hold(ctx context.Context, ev *fbv1.CaseEvent) (bool, error) {
	team := ev.Case.GetTeam()
	cfg := s.groupConfig(team)
	if cfg.Interval <= 0 || notify.ActionOf(ev) != notify.ActionTrigger {
		return false, nil
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		return false, err
	}
	stateKey, heldKey := s.teamGroupKey(team, "state"), s.teamGroupKey(team, "held")
	held := false
	err = s.d.Redis.Watch(ctx, func(tx *redis.Tx) error {
		st, err := loadState(ctx, tx, stateKey)
		if err != nil {
			return err
		}
		if slices.Contains(st.Pending, ev.Id) {
			held = true // a redelivery of an event already held
			return nil
		}
		next, d := cfg.Add(st, ev.Id, s.clock.Now())
		held = !d.SendNow
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, stateKey, encodeState(next), 0)
			if held {
				pipe.HSet(ctx, heldKey, ev.Id, data)
				pipe.ZAdd(ctx, s.dueKey(team), redis.Z{Score: float64(d.FlushAt.UnixMilli()), Member: team})
			}
			return nil
		})
		return err
	}, stateKey)
	if err != nil {
		return false, fmt.Errorf("grouping for team %s: %w", team, err)
	}
	return held, nil
}

// flush sends a team's held events as one notification, if they are due.
func (s *Service) flush(ctx context.Context, team string) error {
	cfg := s.groupConfig(team)
	stateKey, heldKey := s.teamGroupKey(team, "state"), s.teamGroupKey(team, "held")
	st, err := loadState(ctx, s.d.Redis, stateKey)
	if err != nil {
		return err
	}
	if len(st.Pending) == 0 {
		return s.d.Redis.ZRem(ctx, s.dueKey(team), team).Err()
	}
	if !cfg.Due(st, s.clock.Now()) {
		return s.d.Redis.ZAdd(ctx, s.dueKey(team), redis.Z{Score: float64(st.FlushAt.UnixMilli()), Member: team}).Err()
	}
	raw, err := s.d.Redis.HMGet(ctx, heldKey, st.Pending...).Result()
	if err != nil {
		return fmt.Errorf("read held events of team %s: %w", team, err)
	}
	var events []*fbv1.CaseEvent
	for _, r := range raw {
		if b, ok := r.(string); ok {
			ev := &fbv1.CaseEvent{}
			if err := proto.Unmarshal([]byte(b), ev); err == nil {
				events = append(events, ev)
			}
		}
	}
	results, err := s.pipeline.DeliverGroup(ctx, events)
	if err != nil {
		return err // the lease runs out and the group is tried again; dedup drops what went out
	}
	for _, ev := range events {
		if err := s.report(ctx, ev, filterResults(results, ev)); err != nil {
			return err
		}
	}
	return s.sent(ctx, team, st.Pending)
}

// sent removes flushed events from the team's window, keeping any that
// arrived during the flush, which wait for the next interval.
func (s *Service) sent(ctx context.Context, team string, flushed []string) error {
	cfg := s.groupConfig(team)
	stateKey, heldKey := s.teamGroupKey(team, "state"), s.teamGroupKey(team, "held")
	return s.d.Redis.Watch(ctx, func(tx *redis.Tx) error {
		st, err := loadState(ctx, tx, stateKey)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		st.Pending = slices.DeleteFunc(st.Pending, func(id string) bool { return slices.Contains(flushed, id) })
		st.LastSent = now
		st.FlushAt = time.Time{}
		if len(st.Pending) > 0 {
			st.FlushAt = now.Add(cfg.Interval)
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, stateKey, encodeState(st), 0)
			pipe.HDel(ctx, heldKey, flushed...)
			if len(st.Pending) > 0 {
				pipe.ZAdd(ctx, s.dueKey(team), redis.Z{Score: float64(st.FlushAt.UnixMilli()), Member: team})
			} else {
				pipe.ZRem(ctx, s.dueKey(team), team)
			}
			return nil
		})
		return err
	}, stateKey)
}

// filterResults keeps, for one event, the results of the receivers that were
// told about it.
func filterResults(results []notify.Result, ev *fbv1.CaseEvent) []notify.Result {
	var out []notify.Result
	for _, r := range results {
		if slices.ContainsFunc(r.Events, func(e *fbv1.CaseEvent) bool { return e.Id == ev.Id }) {
			r.Events = []*fbv1.CaseEvent{ev}
			out = append(out, r)
		}
	}
	return out
}

func loadState(ctx context.Context, r redis.Cmdable, key string) (notify.GroupState, error) {
	var st notify.GroupState
	raw, err := r.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read group window %s: %w", key, err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("decode group window %s: %w", key, err)
	}
	return st, nil
}

func encodeState(st notify.GroupState) []byte {
	b, _ := json.Marshal(st)
	return b
}

// flushDue sends every team's group that is due. Any replica may: claiming
// a team pushes its due time a lease into the future first.
func (s *Service) flushDue(ctx context.Context) {
	now := s.clock.Now()
	teams, err := store.ClaimDue(ctx, s.d.Redis, s.d.Keys.Sharded("storms"), now, groupLease, 50)
	if err != nil {
		s.d.Tel.Logger.Warn("held groups unavailable; retrying", "err", err)
		return
	}
	left := store.WithinBound(ctx, flushBound, teams, func(work context.Context, team string) {
		if err := s.flush(work, team); err != nil {
			s.d.Tel.Logger.Warn("flushing a held group failed; retrying after its lease", "team", team, "err", err)
		}
	})
	if left > 0 {
		s.d.Tel.Logger.Warn("held groups claimed but not flushed within the bound on their lease; retrying after the lease", "left", left, "bound", flushBound)
	}
}

// migrateGroups moves the group windows an older release kept under each
// team's own tag, with one unsharded due index, into the sharded layout, so
// events held across an upgrade still go out. Held events are merged into
// any window the new layout already has; the old keys go only after.
func (s *Service) migrateGroups(ctx context.Context) error {
	oldDue := s.d.Keys.Global("notify", "storms")
	teams, err := s.d.Redis.ZRange(ctx, oldDue, 0, -1).Result()
	if err != nil {
		return fmt.Errorf("read the old group index %s: %w", oldDue, err)
	}
	for _, team := range teams {
		oldState, oldHeld := s.d.Keys.Of(store.Tag("team/"+team), "storm", "state"), s.d.Keys.Of(store.Tag("team/"+team), "storm", "held")
		st, err := loadState(ctx, s.d.Redis, oldState)
		if err != nil {
			return err
		}
		held, err := s.d.Redis.HGetAll(ctx, oldHeld).Result()
		if err != nil {
			return fmt.Errorf("read old held events of team %s: %w", team, err)
		}
		stateKey, heldKey := s.teamGroupKey(team, "state"), s.teamGroupKey(team, "held")
		err = s.d.Redis.Watch(ctx, func(tx *redis.Tx) error {
			cur, err := loadState(ctx, tx, stateKey)
			if err != nil {
				return err
			}
			for _, id := range st.Pending {
				if !slices.Contains(cur.Pending, id) {
					cur.Pending = append(cur.Pending, id)
				}
			}
			if cur.FlushAt.IsZero() || (!st.FlushAt.IsZero() && st.FlushAt.Before(cur.FlushAt)) {
				cur.FlushAt = st.FlushAt
			}
			if len(cur.Pending) > 0 && cur.FlushAt.IsZero() {
				cur.FlushAt = s.clock.Now()
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, stateKey, encodeState(cur), 0)
				for id, data := range held {
					pipe.HSetNX(ctx, heldKey, id, data)
				}
				if len(cur.Pending) > 0 {
					pipe.ZAdd(ctx, s.dueKey(team), redis.Z{Score: float64(cur.FlushAt.UnixMilli()), Member: team})
				}
				return nil
			})
			return err
		}, stateKey)
		if err != nil {
			return fmt.Errorf("move the group window of team %s: %w", team, err)
		}
		for _, key := range []string{oldState, oldHeld} {
			if err := s.d.Redis.Del(ctx, key).Err(); err != nil {
				return fmt.Errorf("remove old group key of team %s: %w", team, err)
			}
		}
		if err := s.d.Redis.ZRem(ctx, oldDue, team).Err(); err != nil {
			return fmt.Errorf("remove team %s from the old group index: %w", team, err)
		}
	}
	return nil
}
