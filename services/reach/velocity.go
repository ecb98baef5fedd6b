package reach

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store"
)

// velocityScript keeps, per post, the last observation of its engagement
// (reposts + likes) and returns the gain per minute since the one before,
// times 1000. The first observation is measured from the post's creation,
// when its engagement was zero. An observation at the same time as the
// stored one (a redelivery) returns the stored rate, so redeliveries agree.
var velocityScript = redis.NewScript(`
local t, e, created, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local prev = redis.call('HMGET', KEYS[1], 't', 'e', 'r')
local pt, pe, pr = tonumber(prev[1]), tonumber(prev[2]), tonumber(prev[3])
if pt and t <= pt then return pr or 0 end
local rate = 0
if pt then
  rate = math.floor((e - pe) * 60000000 / (t - pt))
elseif t > created then
  rate = math.floor(e * 60000000 / (t - created))
end
if rate < 0 then rate = 0 end
redis.call('HSET', KEYS[1], 't', t, 'e', e, 'r', rate)
redis.call('PEXPIRE', KEYS[1], ttl)
return rate
`)

// velocityKeep is how long a post's engagement state is kept: velocity
// matters while a post is young.
const velocityKeep = 48 * time.Hour

func (r *resolver) velocityCmd(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention) *redis.Cmd {
	observed := m.GetIngestedAt().AsTime()
	if m.IngestedAt == nil {
		observed = r.clock.Now()
	}
	engagement := m.Metrics.GetReposts() + m.Metrics.GetLikes()
	key := r.keys.Of(store.Tag(m.Id), "velocity")
	// EVAL, not EVALSHA, so a restarted Redis without the script cached
	// cannot fail the pipeline; the script is small.
	return velocityScript.Eval(ctx, pipe, []string{key},
		observed.UnixMilli(), engagement, m.GetCreatedAt().AsTime().UnixMilli(), velocityKeep.Milliseconds())
}

func velocityResult(cmd *redis.Cmd) (float64, error) {
	v, err := cmd.Int64()
	if err != nil {
		return 0, err
	}
	return float64(v) / 1000, nil
}

// spreadScript keeps, per post, its reshares (reposts and quotes) at each
// observation, in a sorted set by observation time, and returns how many
// it gained in the hour before this one: since the latest observation an
// hour or more old, or since the post was made (with none) if it is younger
// than an hour. A post first seen when already older than an hour counts
// from its first observation, so nothing is counted that may be older.
// Observations older than the one counted from are trimmed; an observation
// seen again (a redelivery) changes nothing.
//
// KEYS: the post's spread set. ARGV: observed ms, reshares, created ms,
// window ms, keep ms.
var spreadScript = redis.NewScript(`
local t, n, created, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], t, ARGV[1] .. ':' .. ARGV[2])
local base = 0
if created < t - window then
  local before = redis.call('ZREVRANGEBYSCORE', KEYS[1], t - window, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #before > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. before[2])
  else
    before = redis.call('ZRANGE', KEYS[1], 0, 0)
  end
  base = tonumber(string.match(before[1], ':(%d+)$'))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local gained = n - base
if gained < 0 then gained = 0 end
return gained
`)

// spreadWindow is the window of reach.velocity: reshares in the last hour.
const spreadWindow = time.Hour

func (r *resolver) spreadCmd(ctx context.Context, pipe redis.Pipeliner, m *fbv1.Mention) *redis.Cmd {
	observed := m.GetIngestedAt().AsTime()
	if m.IngestedAt == nil {
		observed = r.clock.Now()
	}
	reshares := m.Metrics.GetReposts() + m.Metrics.GetQuotes()
	return spreadScript.Eval(ctx, pipe, []string{r.keys.Of(store.Tag(m.Id), "spread")},
		observed.UnixMilli(), reshares, m.GetCreatedAt().AsTime().UnixMilli(), spreadWindow.Milliseconds(), velocityKeep.Milliseconds())
}

// velocityReason says in words how fast a post is spreading.
func velocityReason(perMinute, high float64) string {
	if perMinute < high {
		return ""
	}
	return "post is spreading: " + strconv.FormatFloat(perMinute, 'f', 1, 64) + " reposts and likes a minute"
}
