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

// velocityReason says in words how fast a post is spreading.
func velocityReason(perMinute, high float64) string {
	if perMinute < high {
		return ""
	}
	return "post is spreading: " + strconv.FormatFloat(perMinute, 'f', 1, 64) + " reposts and likes a minute"
}
