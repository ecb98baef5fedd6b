package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Chain timers live in one sorted set: member a case id, score when its
// chain must next be looked at. Replicas claim due cases by pushing their
// score a lease into the future, atomically, so each due case is handled by
// one replica; if that replica dies, the lease runs out and another takes it.

// claimScript returns up to ARGV[3] case ids due by ARGV[1] and moves each
// to ARGV[2] (now + lease).
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
`)

func (s *Store) timersKey() string { return s.keys.Global("timers") }

// ClaimDue claims up to limit cases whose timers are due at now.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error) {
	ids, err := claimScript.Run(ctx, s.r, []string{s.timersKey()}, now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("claim due chain timers: %w", err)
	}
	return ids, nil
}

// Schedule sets when a case's chain is next looked at, replacing any time
// set before; only the replica holding the claim calls it.
func (s *Store) Schedule(ctx context.Context, caseID string, at time.Time) error {
	if err := s.r.ZAdd(ctx, s.timersKey(), redis.Z{Score: float64(at.UnixMilli()), Member: caseID}).Err(); err != nil {
		return fmt.Errorf("schedule chain of case %s: %w", caseID, err)
	}
	return nil
}

// NextLook is when a case's chain is next looked at (zero: never).
func (s *Store) NextLook(ctx context.Context, caseID string) (time.Time, error) {
	ms, err := s.r.ZScore(ctx, s.timersKey(), caseID).Result()
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
	if err := s.r.ZRem(ctx, s.timersKey(), caseID).Err(); err != nil {
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
	pipe.ZAddLT(ctx, s.timersKey(), redis.Z{Score: float64(at.UnixMilli()), Member: caseID})
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
