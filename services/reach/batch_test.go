package reach

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// newLocalResolver is a resolver with no platform lookups: counts come
// from mentions and the cache alone.
func newLocalResolver(t *testing.T) (*resolver, redis.UniversalClient, store.Keys, *storetest.RoundTrips) {
	t.Helper()
	client, keys := storetest.New(t)
	trips := &storetest.RoundTrips{}
	client.AddHook(trips)
	l := Lookups{ProfileTTL: time.Hour, ProfileKeep: 24 * time.Hour, Timeout: 2 * time.Second, BrandRefresh: time.Hour, VelocityHigh: 10}
	r, err := newResolver(l, map[string]int64{"acme": 1000}, client, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r, client, keys, trips
}

func batchOf(n int) []*fbv1.Mention {
	ms := make([]*fbv1.Mention, n)
	for i := range ms {
		ms[i] = &fbv1.Mention{Id: fmt.Sprintf("x:%d", i), Platform: fbv1.Platform_PLATFORM_X, Brand: "acme",
			Author:  &fbv1.Author{Id: fmt.Sprintf("author%d", i), Followers: int64(100 * (i + 1))},
			Metrics: &fbv1.PublicMetrics{Reposts: int64(i), Likes: 1}}
	}
	return ms
}

func TestABatchReadsInOneRoundTripAndCachesInOne(t *testing.T) {
	r, _, _, trips := newLocalResolver(t)
	ctx := context.Background()
	ms := batchOf(20)

	got, errs := r.resolveAll(ctx, ms)
	if n := trips.N.Load(); n != 2 {
		t.Fatalf("first batch of 20 new authors: %d round trips, want 2 (the reads, then the counts to cache)", n)
	}
	for i, m := range ms {
		if errs[i] != nil || got[i].followers != m.Author.Followers || got[i].source != "mention" || got[i].brandFollowers != 1000 {
			t.Fatalf("mention %d: %+v %v, want the mention's %d followers", i, got[i], errs[i], m.Author.Followers)
		}
	}

	trips.N.Store(0)
	again, errs := r.resolveAll(ctx, ms)
	if n := trips.N.Load(); n != 1 {
		t.Fatalf("same authors again: %d round trips, want 1 (nothing new to cache)", n)
	}
	for i := range ms {
		if errs[i] != nil || again[i].followers != got[i].followers || again[i].source != "cache" {
			t.Fatalf("mention %d again: %+v %v, want the cached count", i, again[i], errs[i])
		}
	}
}

func TestAMentionWithBrokenStateFailsAloneInItsBatch(t *testing.T) {
	r, client, keys, _ := newLocalResolver(t)
	ctx := context.Background()
	ms := batchOf(3)
	// The second post's velocity key holds a string: its script fails
	// with WRONGTYPE, the others' do not.
	if err := client.Set(ctx, keys.Of(store.Tag(ms[1].Id), "velocity"), "not a hash", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, errs := r.resolveAll(ctx, ms)
	if errs[1] == nil {
		t.Fatalf("mention with a broken velocity key resolved: %+v", got[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || got[i].followers != ms[i].Author.Followers {
			t.Fatalf("mention %d failed with its neighbour: %+v %v", i, got[i], errs[i])
		}
	}
}
