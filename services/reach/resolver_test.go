package reach

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// xUsers is a users-lookup server whose answers the test sets; it counts
// the ids it was asked for.
type xUsers struct {
	mu        sync.Mutex
	followers map[string]int64
	down      bool
	asked     atomic.Int32
	arrived   atomic.Int32
	release   chan struct{} // when set, each answer waits for it
}

func (x *xUsers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.arrived.Add(1)
	if x.release != nil {
		<-x.release
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var data []map[string]any
	for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
		x.asked.Add(1)
		data = append(data, map[string]any{"id": id, "username": id, "public_metrics": map[string]int64{"followers_count": x.followers[id]}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func newTestResolver(t *testing.T, x *xUsers) *resolver {
	t.Helper()
	client, keys := storetest.New(t)
	srv := httptest.NewServer(x)
	t.Cleanup(srv.Close)
	tok := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tok, []byte("t"), 0o600)
	l := Lookups{XURL: srv.URL, XTokenFile: tok, ProfileTTL: time.Hour, ProfileKeep: 24 * time.Hour, Timeout: 2 * time.Second,
		BrandAccounts: "acme:x=brand", BrandRefresh: time.Hour, VelocityHigh: 10}
	r, err := newResolver(l, map[string]int64{"acme": 1}, client, keys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return r
}

func xMention(author string, followers int64) *fbv1.Mention {
	return &fbv1.Mention{Id: "x:1", Platform: fbv1.Platform_PLATFORM_X, Brand: "acme", Author: &fbv1.Author{Id: author, Followers: followers}}
}

func TestResolverLooksUpOnceCachesAndServesStaleWhileRefreshing(t *testing.T) {
	x := &xUsers{followers: map[string]int64{"dan": 332000, "brand": 203000}}
	r := newTestResolver(t, x)
	ctx := context.Background()
	clk := clocktest.New(time.Now())
	r.clock = clk

	r.refreshBrands(ctx)
	got, err := r.resolve(ctx, xMention("dan", 5))
	if err != nil || got.followers != 332000 || got.source != "platform" || got.brandFollowers != 203000 {
		t.Fatalf("first: %+v %v", got, err)
	}
	got, _ = r.resolve(ctx, xMention("dan", 5))
	if got.source != "cache" || x.asked.Load() != 2 {
		t.Fatalf("second: %+v, %d ids asked (want the brand and dan once each)", got, x.asked.Load())
	}
	// Two hours on the count is stale: served at once, refreshed behind.
	clk.Advance(2 * time.Hour)
	x.mu.Lock()
	x.followers["dan"] = 340000
	x.mu.Unlock()
	got, _ = r.resolve(ctx, xMention("dan", 5))
	if got.followers != 332000 || got.source != "cache" {
		t.Fatalf("stale: %+v", got)
	}
	testkit.Eventually(t, "the refresh", func() bool {
		got, _ := r.resolve(ctx, xMention("dan", 5))
		return got.followers == 340000
	})
}

func TestResolverKeepsAGoodCountOverAnImplausibleZero(t *testing.T) {
	x := &xUsers{followers: map[string]int64{"dan": 332000}}
	r := newTestResolver(t, x)
	ctx := context.Background()
	clk := clocktest.New(time.Now())
	r.clock = clk
	if got, _ := r.resolve(ctx, xMention("dan", 0)); got.followers != 332000 {
		t.Fatalf("first: %+v", got)
	}
	clk.Advance(2 * time.Hour)
	x.mu.Lock()
	x.followers["dan"] = 0 // X under load
	x.mu.Unlock()
	r.resolve(ctx, xMention("dan", 0))
	r.wg.Wait()
	got, _ := r.resolve(ctx, xMention("dan", 0))
	if got.followers != 332000 {
		t.Fatalf("after X reported 0: %+v", got)
	}
}

func TestResolverFallsBackToTheMentionAndCoalescesLookups(t *testing.T) {
	x := &xUsers{followers: map[string]int64{"eve": 1200}, release: make(chan struct{})}
	r := newTestResolver(t, x)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]resolved, 20)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = r.resolve(ctx, xMention("eve", 7)) }()
	}
	// The first lookup is held at X while the other mentions arrive and
	// join it.
	testkit.Eventually(t, "every mention to wait on the one lookup at X", func() bool {
		return x.arrived.Load() == 1 && r.waiting.Load() == int64(len(results))
	})
	close(x.release)
	wg.Wait()
	for _, got := range results {
		if got.followers != 1200 {
			t.Fatalf("coalesced lookup: %+v", got)
		}
	}
	if n := x.asked.Load(); n != 1 {
		t.Fatalf("X was asked for eve %d times, want once for 20 concurrent mentions", n)
	}
	x.mu.Lock()
	x.down = true
	x.mu.Unlock()
	got, err := r.resolve(ctx, xMention("newcomer", 4200))
	if err != nil || got.followers != 4200 || got.source != "mention" || !strings.Contains(strings.Join(got.notes, ";"), "used the count in the mention") {
		t.Fatalf("platform down: %+v %v", got, err)
	}
}

func TestVelocityFromMetricUpdatesOfTheSamePost(t *testing.T) {
	r := newTestResolver(t, &xUsers{})
	ctx := context.Background()
	created := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	m := &fbv1.Mention{Id: "x:9", Platform: fbv1.Platform_PLATFORM_GENERIC, Brand: "acme", Author: &fbv1.Author{Id: "a"},
		CreatedAt: timestamppb.New(created), IngestedAt: timestamppb.New(created.Add(10 * time.Minute)),
		Metrics: &fbv1.PublicMetrics{Reposts: 20, Likes: 30}}
	got, _ := r.resolve(ctx, m)
	if got.velocity != 5 {
		t.Fatalf("first observation: %v per minute, want 50 over 10 minutes = 5", got.velocity)
	}
	again, _ := r.resolve(ctx, m)
	if again.velocity != 5 {
		t.Fatalf("redelivery: %v, want the same 5", again.velocity)
	}
	m.IngestedAt = timestamppb.New(created.Add(12 * time.Minute))
	m.Metrics = &fbv1.PublicMetrics{Reposts: 50, Likes: 60}
	got, _ = r.resolve(ctx, m)
	if got.velocity != 30 || velocityReason(got.velocity, 10) == "" {
		t.Fatalf("update: %v per minute, want 60 over 2 minutes = 30", got.velocity)
	}
}
