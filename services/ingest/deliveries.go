package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/ingest/x"
	"github.com/firebreak/firebreak/services/platform/store"
)

// deliveries is x.Deliveries in Redis: one key per event id, claimed with
// a short TTL while a request takes the delivery in and kept for the dedup
// TTL once it is durable. Each step is one atomic command or script, so
// replicas racing on the same delivery agree on a single winner.
type deliveries struct {
	redis redis.UniversalClient
	keys  store.Keys
	// ttl is how long a taken-in event id is remembered; claim bounds how
	// long a replica that died mid-request keeps the id from being retried.
	ttl, claim time.Duration
}

const (
	deliveryPending = "pending"
	deliveryDone    = "done"
)

// beginScript claims the id if nobody has, else returns what is there.
var beginScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return '' end
return redis.call('GET', KEYS[1]) or ''
`)

// releaseScript drops a claim that is still pending, never a done mark.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func (d *deliveries) key(eventID string) string { return d.keys.Global("x-event", eventID) }

func (d *deliveries) Begin(ctx context.Context, eventID string) (x.DeliveryState, error) {
	v, err := beginScript.Run(ctx, d.redis, []string{d.key(eventID)}, deliveryPending, d.claim.Milliseconds()).Text()
	if err != nil {
		return x.Fresh, fmt.Errorf("claim X event %s in Redis: %w", eventID, err)
	}
	switch v {
	case "":
		return x.Fresh, nil
	case deliveryDone:
		return x.Done, nil
	}
	return x.InProgress, nil
}

func (d *deliveries) Finish(ctx context.Context, eventID string, taken bool) error {
	var err error
	if taken {
		err = d.redis.Set(ctx, d.key(eventID), deliveryDone, d.ttl).Err()
	} else {
		err = releaseScript.Run(ctx, d.redis, []string{d.key(eventID)}, deliveryPending).Err()
	}
	if err != nil {
		return fmt.Errorf("record X event %s in Redis: %w", eventID, err)
	}
	return nil
}
