package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/platform/clock"
)

type oneRoute struct{}

func (oneRoute) Route(string, int32) []string { return []string{"hook"} }
func (oneRoute) Fallback(string) string       { return "" }

// BenchmarkWebhookDeliveries measures signed deliveries per second to a
// loopback webhook through the whole chain: dedup, rate limit (off), retry,
// record, with the in-memory log standing in for Redis.
func BenchmarkWebhookDeliveries(b *testing.B) {
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	hook := webhook.New(webhook.Config{URL: srv.URL, Secret: "bench-secret"}, client, clock.System{})
	p := notify.NewPipeline([]notify.Receiver{{Name: "hook", Type: "webhook", Notifier: hook, Backoff: notify.DefaultBackoff()}},
		oneRoute{}, &notifytest.Log{}, clock.System{}, "https://firebreak.example")
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ev := notifytest.Opened(fmt.Sprintf("case-%d", seq.Add(1)), "senior", t0)
			results, err := p.Deliver(b.Context(), ev)
			if err != nil || len(results) != 1 || results[0].Failed() {
				b.Fatalf("deliver: %v %+v", err, results)
			}
		}
	})
	b.StopTimer()
	if received.Load() != int64(b.N) {
		b.Fatalf("webhook received %d, want %d", received.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
