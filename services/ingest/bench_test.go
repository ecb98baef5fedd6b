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
// writes) from parallel clients, on the embedded NATS server and the real
// Redis: as production runs it, with JetStream fsyncing every write, and
// with NATS's default; single mentions and batches of 100. Ingest must
// never be the end-to-end run's bottleneck: each figure is to be read
// beside `make bench`'s end-to-end throughput with the same sync.
func BenchmarkHTTPIngest(b *testing.B) {
	for _, sync := range []struct {
		name string
		env  func(testing.TB) *depstest.Env
	}{{"sync=always", depstest.NewSyncAlways}, {"sync=default", depstest.New}} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", sync.name, batch), func(b *testing.B) { benchIngest(b, sync.env(b), batch) })
		}
	}
}

func benchIngest(b *testing.B, env *depstest.Env, batch int) {
	svc, err := New(b.Context(), Config{Common: env.Common, MaxBodyBytes: 4 << 20, MaxBatch: 1000, SeenTTL: time.Hour, MaxInFlight: 256}, env.Deps(b, "ingest"))
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop(context.Background()) })
	url := "http://" + svc.HTTPAddr() + "/v1/mentions"
	run := fmt.Sprintf("%s-%d", b.Name(), time.Now().UnixNano())
	var next atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(16) // many clients: a single mention per request waits on one fsync
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var body strings.Builder
		for pb.Next() {
			body.Reset()
			for range batch {
				fmt.Fprintf(&body, `{"platform":"x","platform_id":"%s-%d","brand":"acme","author":{"id":"u1","followers":10},"text":"where is my bag"}`+"\n", run, next.Add(1))
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
