package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

// fakeX serves GET /2/users as X documents it: ids comma separated (at
// most 100), public_metrics on request, unknown ids in "errors", and
// x-rate-limit-* headers; it answers 429 once remaining reaches 0.
type fakeX struct {
	mu        sync.Mutex
	calls     [][]string
	remaining int
	reset     time.Time
}

func (f *fakeX) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer app-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("x-rate-limit-limit", "300")
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(f.reset.Unix(), 10))
	if f.remaining <= 0 {
		w.Header().Set("x-rate-limit-remaining", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`))
		return
	}
	f.remaining--
	w.Header().Set("x-rate-limit-remaining", strconv.Itoa(f.remaining))
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	if len(ids) > 100 || !strings.Contains(r.URL.Query().Get("user.fields"), "public_metrics") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.calls = append(f.calls, ids)
	var data, errs []map[string]any
	for _, id := range ids {
		if strings.HasPrefix(id, "gone") {
			errs = append(errs, map[string]any{"value": id, "detail": "Could not find user with ids: [" + id + "].", "title": "Not Found Error", "resource_type": "user", "parameter": "ids", "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found"})
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "u"))
		data = append(data, map[string]any{"id": id, "name": "N", "username": "user" + id, "verified": n%2 == 0,
			"public_metrics": map[string]int{"followers_count": n * 1000, "following_count": 1, "tweet_count": 5, "listed_count": 0}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data, "errors": errs})
}

func TestXLookupsAreBatchedUpTo100(t *testing.T) {
	fake := &fakeX{remaining: 100, reset: time.Now().Add(15 * time.Minute)}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	b := &Batcher{Provider: NewX(srv.URL, "app-token", srv.Client()), Window: 50 * time.Millisecond}
	var wg sync.WaitGroup
	errs := make(chan error, 150)
	for i := 1; i <= 150; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := b.Get(context.Background(), fmt.Sprintf("u%d", i))
			if err != nil || p.Followers != int64(i*1000) {
				errs <- fmt.Errorf("u%d: %+v %v", i, p, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := b.Get(context.Background(), "gone1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	total := 0
	for _, c := range fake.calls {
		total += len(c)
	}
	if total != 151 || len(fake.calls) > 3 || len(fake.calls[0]) != 100 {
		t.Fatalf("%d calls of sizes %v: want 151 ids in batches of at most 100", len(fake.calls), sizes(fake.calls))
	}
}

func sizes(calls [][]string) []int {
	var out []int
	for _, c := range calls {
		out = append(out, len(c))
	}
	return out
}

func TestXRateLimitHeadersStopCallsUntilReset(t *testing.T) {
	fake := &fakeX{remaining: 1, reset: time.Now().Add(15 * time.Minute)}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	x := NewX(srv.URL, "app-token", srv.Client())
	if _, err := x.Lookup(context.Background(), []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	// remaining is now 0: the next call is refused here, not sent.
	for range 3 {
		if _, err := x.Lookup(context.Background(), []string{"u2"}); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v, want rate limited", err)
		}
	}
	if len(fake.calls) != 1 {
		t.Fatalf("%d calls reached X, want 1", len(fake.calls))
	}
	x.lim.clock = clocktest.New(fake.reset.Add(time.Second))
	fake.remaining = 5
	if _, err := x.Lookup(context.Background(), []string{"u2"}); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
}

func TestMastodonAndBlueskyLookups(t *testing.T) {
	var blueskyCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/accounts/42":
			w.Header().Set("X-RateLimit-Remaining", "299")
			w.Header().Set("X-RateLimit-Reset", time.Now().Add(5*time.Minute).UTC().Format(time.RFC3339Nano))
			_, _ = w.Write([]byte(`{"id":"42","username":"dan","acct":"dan@example.social","followers_count":332000,"following_count":310,"statuses_count":9}`))
		case r.URL.Path == "/api/v1/accounts/404":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"Record not found"}`))
		case r.URL.Path == "/xrpc/app.bsky.actor.getProfile" && r.URL.Query().Get("actor") == "did:plc:dan":
			blueskyCalls.Add(1)
			w.Header().Set("ratelimit-limit", "3000")
			w.Header().Set("ratelimit-remaining", "0")
			w.Header().Set("ratelimit-reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
			_, _ = w.Write([]byte(`{"did":"did:plc:dan","handle":"dan.bsky.social","followersCount":1200,"followsCount":30,"postsCount":4}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"InvalidRequest","message":"Error: actor must be a valid did or a handle"}`))
		}
	}))
	defer srv.Close()
	m := NewMastodon(srv.URL, "tok", srv.Client())
	got, err := m.Lookup(context.Background(), []string{"42"})
	if err != nil || got["42"].Followers != 332000 {
		t.Fatalf("mastodon: %v %v", got, err)
	}
	if _, err := m.Lookup(context.Background(), []string{"404"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mastodon unknown: %v", err)
	}
	b := NewBluesky(srv.URL, srv.Client())
	got, err = b.Lookup(context.Background(), []string{"did:plc:dan"})
	if err != nil || got["did:plc:dan"].Followers != 1200 {
		t.Fatalf("bluesky: %v %v", got, err)
	}
	// ratelimit-remaining 0: the next call waits for the reset.
	if _, err := b.Lookup(context.Background(), []string{"did:plc:dan"}); !errors.Is(err, ErrRateLimited) || blueskyCalls.Load() != 1 {
		t.Fatalf("bluesky after remaining 0: %v, %d calls", err, blueskyCalls.Load())
	}
}

func TestPlausible(t *testing.T) {
	for _, tc := range []struct {
		old, next int64
		want      bool
	}{
		{332000, 0, false}, {332000, 30000, false}, {332000, 300000, true}, {500, 0, true}, {0, 10, true}, {5000, 600, true},
	} {
		if got := Plausible(tc.old, tc.next); got != tc.want {
			t.Errorf("Plausible(%d, %d) = %v", tc.old, tc.next, got)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"1","verified":true,"public_metrics":{"followers_count":5}}]}`))
	f.Add([]byte(`{"id":"42","followers_count":332000}`))
	f.Add([]byte(`{"did":"did:plc:x","followersCount":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if users, err := DecodeXUsers(body); err == nil {
			for _, p := range users {
				if p.Followers < 0 {
					t.Fatal("negative followers")
				}
			}
		}
		if p, err := DecodeMastodonAccount(body); err == nil && p.Followers < 0 {
			t.Fatal("negative followers")
		}
		if p, err := DecodeBlueskyProfile(body); err == nil && p.Followers < 0 {
			t.Fatal("negative followers")
		}
	})
}
