package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Due work (join timeouts, chain timers, storm groups) lives in sharded
// sorted sets: member the work, score when it is due. Replicas claim due
// members by pushing their score a lease into the future, atomically, so
// each is handled by one replica; if that replica dies, the lease runs out
// and another takes it.

// claimScript returns up to ARGV[3] members due by ARGV[1] and moves each
// to ARGV[2] (now + lease).
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return due
`)

// ClaimDue claims up to limit due members of each shard in one round trip
// and returns what all of them gave.
func ClaimDue(ctx context.Context, r redis.UniversalClient, shards []string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	args := []any{now.UnixMilli(), now.Add(lease).UnixMilli(), limit}
	for attempt := 0; ; attempt++ {
		pipe := r.Pipeline()
		cmds := make([]*redis.Cmd, len(shards))
		for i, key := range shards {
			cmds[i] = claimScript.EvalSha(ctx, pipe, []string{key}, args...)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && slices.ContainsFunc(cmds, func(c *redis.Cmd) bool { return redis.HasErrorPrefix(c.Err(), "NOSCRIPT") }) {
			// A restarted or failed-over server lost its scripts; a script
			// that was not found did not run, so sending again is safe.
			if err := claimScript.Load(ctx, r).Err(); err != nil {
				return nil, err
			}
			continue
		}
		var out []string
		for _, cmd := range cmds {
			ids, err := cmd.StringSlice()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			out = append(out, ids...)
		}
		return out, nil
	}
}

// WithinBound works on a batch just claimed, item after item, within bound
// (kept well inside the claim's lease: work that overran the lease could
// go on while another replica, taking the expired claim, does the same).
// It returns how many items were left when the bound ran out; they are
// claimed again once their lease ends. The work does not end with ctx: an
// item under way finishes even while the service stops.
func WithinBound[T any](ctx context.Context, bound time.Duration, batch []T, do func(context.Context, T)) (left int) {
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
	defer cancel()
	for i, item := range batch {
		if work.Err() != nil {
			return len(batch) - i
		}
		do(work, item)
	}
	return 0
}
