// Command ingestload measures a running ingest: it posts unique mentions
// in NDJSON batches from concurrent clients to /v1/mentions and reports how
// many a second were accepted (each 202 means durably on the bus), with
// latency percentiles and the refusals ingest answered.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		os.Exit(1)
	}
}

type options struct {
	url                  string
	total, batch, conc   int
	key, brand, idPrefix string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("ingestload", flag.ContinueOnError)
	fs.StringVar(&o.url, "ingest", "http://127.0.0.1:8080", "ingest's HTTP address")
	fs.IntVar(&o.total, "mentions", 100_000, "mentions to send")
	fs.IntVar(&o.batch, "batch", 100, "mentions per request")
	fs.IntVar(&o.conc, "concurrency", 8, "requests in flight")
	fs.StringVar(&o.key, "token", os.Getenv("FIREBREAK_TOKEN"), "token with the ingest role (env FIREBREAK_TOKEN; make run prints one)")
	fs.StringVar(&o.brand, "brand", "acme", "brand of the mentions")
	fs.StringVar(&o.idPrefix, "id-prefix", fmt.Sprintf("load%d-", time.Now().UnixNano()), "platform id prefix; unique per run so nothing is a duplicate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.total < 1 || o.batch < 1 || o.conc < 1 {
		return fmt.Errorf("--mentions, --batch and --concurrency must be at least 1")
	}
	r := load(ctx, o)
	fmt.Fprintln(out, r)
	if r.accepted == 0 {
		return fmt.Errorf("nothing accepted; first error: %v", r.firstErr)
	}
	return nil
}

type report struct {
	accepted, refused int64
	statuses          map[int]int
	elapsed           time.Duration
	latencies         []time.Duration
	firstErr          error
}

func (r report) String() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	return fmt.Sprintf("accepted %d mentions in %s: %.0f mentions/s; request latency p50 %s p99 %s; refused %d (statuses %v)",
		r.accepted, r.elapsed.Round(time.Millisecond), float64(r.accepted)/r.elapsed.Seconds(),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), r.refused, r.statuses)
}

func load(ctx context.Context, o options) report {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conc}}
	var next atomic.Int64
	var mu sync.Mutex
	r := report{statuses: map[int]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	for range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				first := next.Add(int64(o.batch)) - int64(o.batch)
				if first >= int64(o.total) {
					return
				}
				n := min(int64(o.batch), int64(o.total)-first)
				t0 := time.Now()
				status, err := post(ctx, client, o, body(o, first, n))
				mu.Lock()
				r.latencies = append(r.latencies, time.Since(t0))
				r.statuses[status]++
				if status == http.StatusAccepted {
					r.accepted += n
				} else {
					r.refused += n
					if r.firstErr == nil {
						r.firstErr = fmt.Errorf("status %d: %v", status, err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}

func body(o options, first, n int64) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `{"platform":"generic","platform_id":"%s%d","brand":%q,"author":{"id":"a%d","followers":%d},"text":"load test mention %d: my order has not arrived"}`+"\n",
			o.idPrefix, i, o.brand, i%5000, i%100000, i)
	}
	return b.String()
}

func post(ctx context.Context, client *http.Client, o options, payload string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.url, "/")+"/v1/mentions", strings.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if o.key != "" {
		req.Header.Set("Authorization", "Bearer "+o.key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, fmt.Errorf("%s", strings.TrimSpace(string(msg)))
	}
	return resp.StatusCode, nil
}
