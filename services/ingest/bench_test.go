package ingest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// BenchmarkHTTPIngest measures mentions accepted over HTTP and durably
// published (each 202 comes after JetStream's acks and the Redis dedup
// writes) from parallel clients, on the embedded NATS server and the real
// Redis: as production runs it, with JetStream fsyncing every write, and
// with NATS's default; single mentions and batches of 100. Ingest must
// never be the end-to-end run's bottleneck: each figure is to be read
// beside `make bench`'s end-to-end throughput with the same sync.
//
// Besides ns/op it reports redis-trips/mention (pipelines and single
// commands ingest sent to Redis) and cpu-µs/mention: the process's user and
// system CPU, which holds the clients and the embedded NATS server as well
// as ingest, so it is to be compared between runs, not read as ingest's
// alone. CPU time moves less than wall time on a shared machine.
func BenchmarkHTTPIngest(b *testing.B) {
	for _, sync := range []struct {
		name string
		env  func(testing.TB) *depstest.Env
	}{{"sync=always", depstest.NewSyncAlways}, {"sync=default", depstest.New}} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", sync.name, batch), func(b *testing.B) { benchIngest(b, sync.env(b), batch, 0) })
		}
	}
}

// BenchmarkHTTPIngestAtLoadRate is the load run's shape: single mentions
// at 1,000 a second from 64 clients, so that requests overlap only as much
// as they do there. Its cpu-µs/mention is CPU per mention at that rate,
// and redis-trips/mention what the group commit saves there, not under a
// flood. Each op is a millisecond: run it with -benchtime 3000x or so.
func BenchmarkHTTPIngestAtLoadRate(b *testing.B) {
	benchIngest(b, depstest.New(b), 1, 1000)
}

// benchIngest posts batches of batch mentions from parallel clients, as
// fast as they can or, with perSecond > 0, that many requests a second.
func benchIngest(b *testing.B, env *depstest.Env, batch int, perSecond float64) {
	d := env.Deps(b, "ingest")
	trips := &storetest.RoundTrips{}
	d.Redis.AddHook(trips)
	svc, err := New(b.Context(), Config{Common: env.Common, MaxBodyBytes: 4 << 20, MaxBatch: 1000, SeenTTL: time.Hour, MaxInFlight: 256}, d)
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
	pace := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		pace = rate.NewLimiter(rate.Limit(perSecond), 1)
		b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	}
	b.ResetTimer()
	trips.N.Store(0)
	cpuBefore := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var body strings.Builder
		for pb.Next() {
			if err := pace.Wait(context.Background()); err != nil {
				b.Error(err)
				return
			}
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
			// Read to the end, or the client cannot reuse the
			// connection and the run measures dialling instead.
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start)
	cpu := processCPU() - cpuBefore
	mentions := float64(b.N * batch)
	b.ReportMetric(mentions/elapsed.Seconds(), "mentions/s")
	b.ReportMetric(float64(trips.N.Load())/mentions, "redis-trips/mention")
	b.ReportMetric(float64(cpu.Microseconds())/mentions, "cpu-µs/mention")
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
