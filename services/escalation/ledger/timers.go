package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store"
)

// Chain timers live in sorted sets sharded by case id (store.Shards of them,
// each with its own hash tag, so a Cluster spreads them): member a case id,
// score when its chain must next be looked at. Replicas claim due cases by pushing their
// score a lease into the future, atomically, so each due case is handled by
// one replica (store.ClaimDue).

func (s *Store) timersKey(caseID string) string { return s.keys.ShardOf("timers", caseID) }

// ClaimDue claims up to limit cases a shard whose timers are due at now.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error) {
	ids, err := store.ClaimDue(ctx, s.r, s.keys.Sharded("timers"), now, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due chain timers: %w", err)
	}
	return ids, nil
}

// Schedule sets when a case's chain is next looked at, replacing any time
// set before; only the replica holding the claim calls it.
func (s *Store) Schedule(ctx context.Context, caseID string, at time.Time) error {
	if err := s.r.ZAdd(ctx, s.timersKey(caseID), redis.Z{Score: float64(at.UnixMilli()), Member: caseID}).Err(); err != nil {
		return fmt.Errorf("schedule chain of case %s: %w", caseID, err)
	}
	return nil
}

// NextLook is when a case's chain is next looked at (zero: never).
func (s *Store) NextLook(ctx context.Context, caseID string) (time.Time, error) {
	ms, err := s.r.ZScore(ctx, s.timersKey(caseID), caseID).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read chain timer of case %s: %w", caseID, err)
	}
	return time.UnixMilli(int64(ms)), nil
}

// Unschedule stops looking at a case's chain.
func (s *Store) Unschedule(ctx context.Context, caseID string) error {
	if err := s.r.ZRem(ctx, s.timersKey(caseID), caseID).Err(); err != nil {
		return fmt.Errorf("unschedule chain of case %s: %w", caseID, err)
	}
	return nil
}

// scheduleEarlier queues a timer that only ever moves a case's time earlier
// (ZADD LT), so a decision racing a timer never delays a page; a timer too
// early is harmless, since firing recomputes what is due.
func (s *Store) scheduleEarlier(ctx context.Context, pipe redis.Pipeliner, caseID string, at time.Time) {
	if at.IsZero() {
		return
	}
	pipe.ZAddLT(ctx, s.timersKey(caseID), redis.Z{Score: float64(at.UnixMilli()), Member: caseID})
}

// LastReply is when the brand last replied to the author with this tag.
func (s *Store) LastReply(ctx context.Context, tag string) (time.Time, error) {
	v, err := s.r.Get(ctx, Author{Tag: tag, s: s}.key("reply")).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read last brand reply: %w", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored last brand reply %q: %w", v, err)
	}
	return time.UnixMilli(ms), nil
}

// MigrateIndexes moves what an older release left in the unsharded indexes
// ("<prefix>joins", "timers", "cases") into their shards, so a rolling
// upgrade keeps every pending join timeout and chain timer. It is safe on
// several replicas at once: a join keeps its first time (NX), a timer the
// earlier one (LT; a timer too early only recomputes), a case its latest
// update (GT), and a member leaves the old key only once it is in a shard.
func (s *Store) MigrateIndexes(ctx context.Context) (moved int, err error) {
	for _, idx := range []struct {
		name  string
		shard func(member string) string
		add   func(context.Context, string, ...redis.Z) *redis.IntCmd
	}{
		{"joins", func(m string) string { tag, _, _ := strings.Cut(m, "|"); return s.joinsKey(tag) }, s.r.ZAddNX},
		{"timers", s.timersKey, s.r.ZAddLT},
		{"cases", s.casesKey, s.r.ZAddGT},
	} {
		old := s.keys.Global(idx.name)
		for {
			zs, err := s.r.ZRangeWithScores(ctx, old, 0, 499).Result()
			if err != nil {
				return moved, fmt.Errorf("read old index %s: %w", old, err)
			}
			if len(zs) == 0 {
				break
			}
			for _, z := range zs {
				member := fmt.Sprint(z.Member)
				if err := idx.add(ctx, idx.shard(member), redis.Z{Score: z.Score, Member: member}).Err(); err != nil {
					return moved, fmt.Errorf("move %s of old index %s: %w", member, old, err)
				}
				if err := s.r.ZRem(ctx, old, member).Err(); err != nil {
					return moved, fmt.Errorf("remove %s from old index %s: %w", member, old, err)
				}
				moved++
			}
		}
	}
	return moved, nil
}
