package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

func seenBefore(t *testing.T, s *seen, m *fbv1.Mention, now time.Time) bool {
	t.Helper()
	pipe := s.r.Pipeline()
	got := s.check(context.Background(), pipe, m, now)
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got()
}

func record(t *testing.T, s *seen, now time.Time, ms ...*fbv1.Mention) {
	t.Helper()
	pipe := s.r.Pipeline()
	for _, m := range ms {
		s.record(context.Background(), pipe, m, now)
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func posted(id string, at time.Time) *fbv1.Mention {
	return &fbv1.Mention{Id: id, CreatedAt: timestamppb.New(at)}
}

func TestAMentionIsRememberedExactlyThenByItsDaysFilter(t *testing.T) {
	client, keys := storetest.New(t)
	s := newSeen(client, keys, 10_000, 48*time.Hour, 30*24*time.Hour)
	ctx := context.Background()
	now := time.Now()
	old := posted("x:old", now.Add(-10*24*time.Hour)) // a backfill
	if seenBefore(t, s, old, now) {
		t.Fatal("a mention never ingested was taken for a duplicate")
	}
	record(t, s, now, old)
	if ttl := client.PTTL(ctx, s.exactKey(old.Id)).Val(); ttl <= 0 || ttl > 49*time.Hour {
		t.Fatalf("exact record expires in %v, want the exact window (48h and the future skew)", ttl)
	}
	if ttl := client.PTTL(ctx, s.dayKey(old.Id, now)).Val(); ttl < 30*24*time.Hour || ttl > 31*24*time.Hour {
		t.Fatalf("the day's filter expires in %v, want the keep and a day", ttl)
	}
	// Days later its exact record is gone; replayed, the filter of the day
	// it was ingested still knows it.
	client.Del(ctx, s.exactKey(old.Id))
	later := now.Add(5 * 24 * time.Hour)
	if !seenBefore(t, s, old, later) {
		t.Fatal("a replayed mention whose exact record expired was not found in its day's filter")
	}
	// A mention posted within the exact window is never taken for a
	// duplicate by a filter.
	fresh := posted("x:fresh", later.Add(-time.Hour))
	record(t, s, later, fresh)
	client.Del(ctx, s.exactKey(fresh.Id))
	if seenBefore(t, s, fresh, later) {
		t.Fatal("a recent mention was checked against the filters")
	}
	// The filters hold only what was recorded.
	if seenBefore(t, s, posted("x:other-old", now.Add(-10*24*time.Hour)), later) {
		t.Fatal("an old mention never ingested was taken for a duplicate")
	}
}

// The measured error rate of a day's filter at the count it was sized for.
func TestTheDailyFilterErrsAtItsDocumentedRate(t *testing.T) {
	client, keys := storetest.New(t)
	const perDay, probes = 20_000, 40_000
	s := newSeen(client, keys, perDay, time.Hour, 30*24*time.Hour)
	now := time.Now()
	old := now.Add(-2 * time.Hour) // one day's filter to check (unless just past midnight: two)
	for start := 0; start < perDay; start += 1000 {
		batch := make([]*fbv1.Mention, 0, 1000)
		for i := start; i < start+1000; i++ {
			batch = append(batch, posted(fmt.Sprintf("x:in-%d", i), old))
		}
		record(t, s, now, batch...)
	}
	falsePositives := 0
	for start := 0; start < probes; start += 1000 {
		pipe := client.Pipeline()
		answers := make([]func() bool, 0, 1000)
		for i := start; i < start+1000; i++ {
			answers = append(answers, s.check(context.Background(), pipe, posted(fmt.Sprintf("x:out-%d", i), old), now))
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, a := range answers {
			if a() {
				falsePositives++
			}
		}
	}
	var bytes int64
	for i := range store.Shards {
		key := keys.Of(store.ShardTag("seen", i), "seen", store.Day(now))
		bytes += client.MemoryUsage(context.Background(), key).Val()
	}
	t.Logf("%d mentions in a day's filter (%d bits, %d hashes per shard): %d false positives in %d probes; %.1f bytes a mention",
		perDay, s.bits, s.hashes, falsePositives, probes, float64(bytes)/perDay)
	// 1e-5 expected: 0.4 in 40,000. Ten would be a broken filter.
	if falsePositives > 3 {
		t.Fatalf("%d false positives in %d probes, want about %g", falsePositives, probes, seenFalsePositive*probes)
	}
	// 24 bits a mention, and allocator rounding on filters this small.
	if per := float64(bytes) / perDay; per > 8 {
		t.Fatalf("the filter costs %.1f bytes a mention, want about 3 (24 bits) and rounding", per)
	}
}
