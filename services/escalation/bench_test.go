package escalation

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
)

// roundTrips counts commands and pipelines sent to Redis: each is one
// network round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkDecision measures one mention through escalation's decision path
// with the real Redis and an embedded NATS: join the score, join the reach
// (which decides), commit, publish the case event. Authors repeat, so cases
// are opened and updated.
func BenchmarkDecision(b *testing.B) {
	r := newRigWith(b, 1, func(c *Config) { c.JoinTimeout, c.TimerTick = time.Hour, 5*time.Second })
	svc := r.svc[0]
	hook := &roundTrips{}
	svc.d.Redis.AddHook(hook)
	now := time.Now()
	var next atomic.Int64
	b.SetParallelism(8) // Redis round trips dominate; overlap them as replicas' handlers do
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			decideOne(b, svc, int(next.Add(1)), now)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(hook.n.Load())/float64(b.N), "redis-roundtrips/mention")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func decideOne(b *testing.B, svc *Service, i int, now time.Time) {
	ctx := context.Background()
	{
		m := mention(fmt.Sprintf("x:bench-%d", i), fmt.Sprintf("author-%d", i%500), int64(i%7)*60_000, now)
		a := svc.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.Id))
		sm, _ := proto.Marshal(scored(m, 0.9))
		rm, _ := proto.Marshal(reached(m, fbv1.Tier(1+i%4)))
		if err := svc.join(ctx, nil, a, m.Id, ledger.Part{Name: "score", Data: sm, Complaint: true, At: now}); err != nil {
			b.Fatal(err)
		}
		if err := svc.join(ctx, nil, a, m.Id, ledger.Part{Name: "reach", Data: rm, At: now}); err != nil {
			b.Fatal(err)
		}
	}
}
