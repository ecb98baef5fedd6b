// Package deliverylog is the notifier's delivery log in Redis: which
// deliveries were made (so each case level pages each receiver once across
// redeliveries, replicas and restarts) and every attempt, per case.
package deliverylog

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store"
)

// perCase bounds the attempts kept per case.
const perCase = 500

// Log implements notify.Log over Redis.
type Log struct {
	r    redis.UniversalClient
	keys store.Keys
	// TTL is how long a delivery is remembered for dedup.
	TTL time.Duration
	// expiries spares the EXPIRE of a day's count written by every
	// delivery of the day.
	expiries store.Expiries
}

// New returns a log under keys.
func New(r redis.UniversalClient, keys store.Keys, ttl time.Duration) *Log {
	return &Log{r: r, keys: keys, TTL: ttl}
}

func (l *Log) seenKey(dedupKey string) string { return l.keys.Global("notify", "delivered", dedupKey) }

func (l *Log) caseKey(caseID string) string {
	return l.keys.Of(store.Tag("case/"+caseID), "deliveries")
}

// Seen reports whether the delivery with this key was made.
func (l *Log) Seen(ctx context.Context, key string) (bool, error) {
	n, err := l.r.Exists(ctx, l.seenKey(key)).Result()
	if err != nil {
		return false, fmt.Errorf("check delivery %s: %w", key, err)
	}
	return n > 0, nil
}

// Record stores the attempts and marks delivered keys, in one round trip.
func (l *Log) Record(ctx context.Context, deliveries ...*fbv1.Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	pipe := l.r.Pipeline()
	for _, d := range deliveries {
		b, err := proto.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode delivery %s: %w", d.Id, err)
		}
		key := l.caseKey(d.CaseId)
		pipe.RPush(ctx, key, b)
		pipe.LTrim(ctx, key, -perCase, -1)
		pipe.Expire(ctx, key, l.TTL)
		if d.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
			pipe.Set(ctx, l.seenKey(d.DedupKey), d.Id, l.TTL)
		}
		l.count(ctx, pipe, d)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		l.expiries.Forget() // the round trip carried the counts' expiries
		return fmt.Errorf("record %d deliveries: %w", len(deliveries), err)
	}
	return nil
}

// Restore marks a delivery as made from its record on the bus (its
// notifications.delivered event), when Redis lost the mark: then neither a
// redrive nor a redelivery of its event pages again. It reports whether
// the mark was missing.
func (l *Log) Restore(ctx context.Context, d *fbv1.Delivery) (bool, error) {
	if d.Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED || d.DedupKey == "" {
		return false, nil
	}
	set, err := l.r.SetNX(ctx, l.seenKey(d.DedupKey), d.Id, l.TTL).Result()
	if err != nil {
		return false, fmt.Errorf("restore the mark of delivery %s: %w", d.Id, err)
	}
	return set, nil
}

// Case returns the recorded attempts for a case, oldest first.
func (l *Log) Case(ctx context.Context, caseID string) ([]*fbv1.Delivery, error) {
	raw, err := l.r.LRange(ctx, l.caseKey(caseID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read deliveries of case %s: %w", caseID, err)
	}
	out := make([]*fbv1.Delivery, 0, len(raw))
	for _, r := range raw {
		d := &fbv1.Delivery{}
		if err := proto.Unmarshal([]byte(r), d); err != nil {
			return nil, fmt.Errorf("decode delivery of case %s: %w", caseID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Claim reserves a delivery for this replica for ttl (SET NX), so two
// replicas never send the same notification to a receiver at once.
func (l *Log) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := l.r.SetNX(ctx, l.keys.Global("notify", "claim", key), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim delivery %s: %w", key, err)
	}
	return ok, nil
}

// Renew extends claims to ttl from now, and reports whether every one of
// them was still there to extend.
func (l *Log) Renew(ctx context.Context, ttl time.Duration, keys ...string) (bool, error) {
	pipe := l.r.Pipeline()
	cmds := make([]*redis.BoolCmd, len(keys))
	for i, key := range keys {
		cmds[i] = pipe.PExpire(ctx, l.keys.Global("notify", "claim", key), ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("renew delivery claims: %w", err)
	}
	for _, c := range cmds {
		if !c.Val() {
			return false, nil
		}
	}
	return true, nil
}

// StatsKeep is how long the daily counts of pages per receiver are kept:
// the longest period the console asks for, and a day more.
const StatsKeep = 15 * 24 * time.Hour

// Outcomes are the outcomes Stats counts, by the words it uses for them.
var Outcomes = map[fbv1.DeliveryOutcome]string{
	fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED:  "delivered",
	fbv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED:     "failed",
	fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING:   "retried",
	fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED: "suppressed",
}

// statsKey names one receiver's count of one outcome on one day; its days
// share a hash tag, so one PFCOUNT counts a period in Redis Cluster too.
// paceScript takes a receiver's next send slot by the generic cell rate
// algorithm. KEYS[1] holds the theoretical arrival time of the next send
// (ms); ARGV are now (ms), the interval between sends (ms) and the burst.
// It returns how long to wait (ms) for the slot it took.
var paceScript = redis.NewScript(`
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local wait = math.max(tat + interval - interval * burst - now, 0)
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
return math.ceil(wait)
`)

// Reserve takes receiver's next send slot, shared by every replica, and
// says how long to wait for it.
func (l *Log) Reserve(ctx context.Context, receiver string, limit rate.Limit, burst int, now time.Time) (time.Duration, error) {
	interval := 1000 / float64(limit)
	ms, err := paceScript.Run(ctx, l.r, []string{l.keys.Global("notify", "pace", receiver)}, now.UnixMilli(), interval, burst).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate slot of receiver %s: %w", receiver, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (l *Log) statsKey(receiver, outcome, day string) string {
	return l.keys.Of(store.Tag("insights/pages/"+receiver+"/"+outcome), day)
}

// count adds a delivery to its receiver's daily counts: a page (its dedup
// key) once per outcome, a retried attempt once by its id, so recording
// the same attempt again changes nothing.
func (l *Log) count(ctx context.Context, pipe redis.Pipeliner, d *fbv1.Delivery) {
	outcome, ok := Outcomes[d.Outcome]
	if !ok || d.Receiver == "" {
		return
	}
	member := d.DedupKey
	if member == "" || d.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING {
		member = d.Id
	}
	at := time.Now()
	if d.At != nil {
		at = d.At.AsTime()
	}
	key := l.statsKey(d.Receiver, outcome, store.Day(at))
	pipe.PFAdd(ctx, key, member)
	if l.expiries.Due(key, time.Now()) {
		pipe.Expire(ctx, key, StatsKeep)
	}
}

// Stats counts each receiver's pages by outcome over the n days up to now.
func (l *Log) Stats(ctx context.Context, receivers []string, now time.Time, n int) (map[string]map[string]int64, error) {
	days := store.LastDays(now, n)
	pipe := l.r.Pipeline()
	cmds := map[string]map[string]*redis.IntCmd{}
	for _, r := range receivers {
		cmds[r] = map[string]*redis.IntCmd{}
		for _, outcome := range Outcomes {
			keys := make([]string, len(days))
			for i, d := range days {
				keys[i] = l.statsKey(r, outcome, d)
			}
			cmds[r][outcome] = pipe.PFCount(ctx, keys...)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("count pages per receiver: %w", err)
	}
	out := make(map[string]map[string]int64, len(cmds))
	for r, byOutcome := range cmds {
		out[r] = map[string]int64{}
		for outcome, c := range byOutcome {
			out[r][outcome] = c.Val()
		}
	}
	return out, nil
}
