package escalation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
)

// BenchmarkRedisMemoryPerAuthor runs authors who keep complaining, one
// mention a simulated minute each, through the decision path, and weighs
// their Redis keys (MEMORY USAGE) as they go on. An author's own state
// (case, timeline, windows, indexes' share) must stop growing once its caps
// are reached, however long they go on; what grows with mentions are the
// per-mention join records, which live for the decision TTL and are
// reported per mention, for the capacity model.
//
// Metrics: author-B/author@N is an author's own state after N mentions;
// mention-B/mention is one decided mention's records; shared-B the
// indexes every author shares.
func BenchmarkRedisMemoryPerAuthor(b *testing.B) {
	const authors = 2
	// Past 1,000 mentions every cap (timeline 1,000, mention ids 500,
	// unanswered 1,000) has been reached.
	checkpoints := []int{10, 100, 1000, 1500}
	for range b.N {
		r := newRigWith(b, 1, func(c *Config) { c.JoinTimeout, c.TimerTick = time.Hour, 5*time.Second })
		svc := r.svc[0]
		// Five simulated minutes apart: the policy's two 24h windows fill
		// by the 576th mention, so the last checkpoints see every cap.
		const gap = 5 * time.Minute
		start := time.Now().Add(-time.Duration(checkpoints[len(checkpoints)-1]+1) * gap)
		tags := map[string]bool{}
		for a := range authors {
			tags["{"+svc.store.Author(ledger.AuthorKey("acme", fbv1.Platform_PLATFORM_X, fmt.Sprintf("mem-author-%d", a))).Tag+"}"] = true
		}
		sent := 0
		var w weight
		for _, upTo := range checkpoints {
			for ; sent < upTo; sent++ {
				at := start.Add(time.Duration(sent) * gap)
				for a := range authors {
					decideAs(b, svc, fmt.Sprintf("x:mem-%d-%d", a, sent), fmt.Sprintf("mem-author-%d", a), 120, fbv1.Tier_TIER_LOW, at)
				}
			}
			last := w
			var err error
			w, err = weigh(context.Background(), svc.d.Redis, r.env.Common.RedisPrefix, tags)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(w.author)/authors, fmt.Sprintf("author-B/author@%d", upTo))
			if upTo == checkpoints[len(checkpoints)-1] {
				b.ReportMetric(100*float64(w.author-last.author)/float64(last.author), "author-growth-%-since-last")
				b.ReportMetric(float64(w.mention)/float64(authors*sent), "mention-B/mention")
				b.ReportMetric(float64(w.shared), "shared-B")
			}
		}
	}
}

// weight is Redis memory by kind of key, in bytes.
type weight struct{ author, mention, shared int64 }

// weigh sums MEMORY USAGE of every key under prefix by kind: a mention's
// join record and its author tag, an author's own keys (under one of
// authorTags), and the shared indexes (cases, timers, joins, silences,
// surges, insights).
func weigh(ctx context.Context, rdb redis.UniversalClient, prefix string, authorTags map[string]bool) (weight, error) {
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return weight{}, err
	}
	var w weight
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, n)
		for i, k := range keys[:n] {
			cmds[i] = pipe.MemoryUsage(ctx, k, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return weight{}, err
		}
		for i, k := range keys[:n] {
			size := cmds[i].Val() // 0 for a key that expired meanwhile
			name := strings.TrimPrefix(k, prefix)
			switch {
			case strings.Contains(name, ":join:") || strings.HasPrefix(name, "mention:"):
				w.mention += size
			case authorTags[strings.SplitN(name, ":", 2)[0]]:
				w.author += size
			default:
				w.shared += size
			}
		}
		keys = keys[n:]
	}
	return w, nil
}
