package escalation

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// surgesPolicy is fastPolicy counting complaints towards surges, as the
// default policy does.
const surgesPolicy = fastPolicy + surgesSection

// BenchmarkDecision measures one mention through escalation's decision path
// with the real Redis and an embedded NATS: join the score, join the reach
// (which decides), commit, publish the case event. Authors repeat, so cases
// are opened and updated. With surges, each complaint is also counted
// towards its brand's surges.
//
// batch=1 is a mention's parts handled one message at a time (a join each,
// then the commit); batch=16 is the consumer's batch of 16 messages (eight
// mentions' scores and reaches) handled together, as under load, where the
// joins share a round trip, and so do the commits.
func BenchmarkDecision(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("policy=routes/batch=%d", batch), func(b *testing.B) { benchDecision(b, fastPolicy, batch) })
		b.Run(fmt.Sprintf("policy=surges/batch=%d", batch), func(b *testing.B) { benchDecision(b, surgesPolicy, batch) })
	}
}

func benchDecision(b *testing.B, pol string, batch int) {
	path := b.TempDir() + "/policy.yaml"
	if err := writeFile(path, pol); err != nil {
		b.Fatal(err)
	}
	r := newRigWith(b, 1, func(c *Config) { c.JoinTimeout, c.TimerTick, c.PolicyFile = time.Hour, 5*time.Second, path })
	svc := r.svc[0]
	hook := &storetest.RoundTrips{}
	svc.d.Redis.AddHook(hook)
	now := time.Now()
	var next atomic.Int64
	b.SetParallelism(8) // Redis round trips dominate; overlap them as replicas' handlers do
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if batch == 1 {
				decideOne(b, svc, int(next.Add(1)), now)
				continue
			}
			// A batch of mentions per batch/2 iterations, b.N mentions in all.
			i := int(next.Add(1))
			if i%(batch/2) == 0 {
				decideBatch(b, svc, i-batch/2+1, batch/2, now)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(hook.N.Load())/float64(b.N), "redis-roundtrips/mention")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func decideOne(b *testing.B, svc *Service, i int, now time.Time) {
	decideAs(b, svc, fmt.Sprintf("x:bench-%d", i), fmt.Sprintf("author-%d", i%500), int64(i%7)*60_000, fbv1.Tier(1+i%4), now)
}

// decideAs joins a complaint's score and reach, which decides it.
func decideAs(b *testing.B, svc *Service, id, author string, followers int64, tier fbv1.Tier, at time.Time) {
	ctx := context.Background()
	m := mention(id, author, followers, at)
	a := svc.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.Id))
	score := scored(m, 0.9)
	sm, _ := proto.Marshal(score)
	rm, _ := proto.Marshal(reached(m, tier))
	if err := svc.join(ctx, nil, a, m.Id, ledger.Part{Name: "score", Data: sm, Complaint: true, At: at}, score); err != nil {
		b.Fatal(err)
	}
	if err := svc.join(ctx, nil, a, m.Id, ledger.Part{Name: "reach", Data: rm, At: at}, nil); err != nil {
		b.Fatal(err)
	}
}

// decideBatch decides mentions first to first+n-1 as one consumer batch
// of their 2n parts: scores first, then reaches.
func decideBatch(b *testing.B, svc *Service, first, n int, now time.Time) {
	parts := make([]batchPart, 0, 2*n)
	for k := range 2 * n {
		i := first + k%n
		m := mention(fmt.Sprintf("x:bench-%d", i), fmt.Sprintf("author-%d", i%500), int64(i%7)*60_000, now)
		a := svc.store.Author(ledger.AuthorKey(m.Brand, m.Platform, m.Author.Id))
		if k < n {
			score := scored(m, 0.9)
			sm, _ := proto.Marshal(score)
			parts = append(parts, batchPart{at: k, author: a, mentionID: m.Id, part: ledger.Part{Name: "score", Data: sm, Complaint: true, At: now}, score: score})
			continue
		}
		rm, _ := proto.Marshal(reached(m, fbv1.Tier(1+i%4)))
		parts = append(parts, batchPart{at: k, author: a, mentionID: m.Id, part: ledger.Part{Name: "reach", Data: rm, At: now}})
	}
	errs := make([]error, len(parts))
	svc.joinBatch(context.Background(), parts, errs)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}
