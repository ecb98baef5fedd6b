// Package deliverylog is the notifier's delivery log in Redis: which
// deliveries were made (so each case level pages each receiver once across
// redeliveries, replicas and restarts) and every attempt, per case.
package deliverylog

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
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
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record %d deliveries: %w", len(deliveries), err)
	}
	return nil
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
