package e2e

import (
	"bytes"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentLargeBodiesKeepTheEdgesMemoryBounded sends 80 bodies of
// 4 MiB at once, 320 MiB in all, to an edge whose body budget is 32 MiB.
// The heap grows by a few times the budget (the bodies admitted, and the
// garbage of those done before the collector runs), not by what was sent:
// bodies past the budget are refused unread.
func TestConcurrentLargeBodiesKeepTheEdgesMemoryBounded(t *testing.T) {
	e := startEdge(t)
	before := e.ingested(t)
	const (
		clients = 80
		size    = 4 << 20
		budget  = 32 << 20 // ingest's --max-body-bytes-in-flight
	)
	// Collect eagerly, so the heap is what is held, not garbage waiting.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	body := bytes.Repeat([]byte(`{"platform":"x","text":"`), size/24) // one copy, read by every client
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			default:
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			runtime.Gosched()
		}
	}()
	codes := make(chan int, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, e.base+"/v1/mentions", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = keyed()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1 // refused unread: the edge closed the connection
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(codes)
	for code := range codes {
		if code != http.StatusServiceUnavailable && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge && code != -1 {
			t.Errorf("a 4 MiB body of garbage was answered %d, want a refusal", code)
		}
	}
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("heap grew by at most %d MiB while %d MiB were sent (body budget %d MiB)", grew>>20, clients*size>>20, budget>>20)
	if grew > 4*budget {
		t.Errorf("heap grew by %d MiB for %d MiB sent; want it bounded by the %d MiB body budget", grew>>20, clients*size>>20, budget>>20)
	}
	if got := e.ingested(t) - before; got != 0 {
		t.Fatalf("%d mentions published", got)
	}
}
