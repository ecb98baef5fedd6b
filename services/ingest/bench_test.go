package ingest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/deps/depstest"
)

// BenchmarkHTTPIngest measures mentions accepted over HTTP and durably
// published (each 202 comes after JetStream's acks and the Redis dedup
// writes), with batches of 100 from parallel clients, on the embedded NATS
// server and the real Redis.
func BenchmarkHTTPIngest(b *testing.B) {
	env := depstest.New(b)
	svc, err := New(b.Context(), Config{Common: env.Common, MaxBodyBytes: 4 << 20, MaxBatch: 1000, SeenTTL: time.Hour, MaxInFlight: 256}, env.Deps(b, "ingest"))
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop(context.Background()) })
	url := "http://" + svc.HTTPAddr() + "/v1/mentions"
	const batch = 100
	var next atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var body strings.Builder
		for pb.Next() {
			body.Reset()
			for range batch {
				fmt.Fprintf(&body, `{"platform":"x","platform_id":"b%d","brand":"acme","author":{"id":"u1","followers":10},"text":"where is my bag"}`+"\n", next.Add(1))
			}
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body.String()))
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set("Authorization", "Bearer "+env.Token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "mentions/s")
}
