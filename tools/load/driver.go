package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Sent is what happened to one mention at ingest.
type Sent struct {
	Mention
	// Due is when the mention was scheduled to be sent: on the rate's
	// schedule in an open-loop phase, when it was generated otherwise.
	// Latency is measured from it, so time spent waiting for a free
	// connection (the system falling behind) counts against the system
	// rather than vanishing (coordinated omission).
	Due time.Time
	// Sent is when the request carrying the mention was first made;
	// Accepted when ingest answered 202 (zero if it never did).
	Sent, Accepted time.Time
	// Attempts counts requests until one was accepted.
	Attempts int
	// Duplicate is ingest's word that it had the mention already.
	Duplicate bool
	Err       string
}

// DriveOptions bound one run of the driver.
type DriveOptions struct {
	// URL is ingest's POST /v1/mentions; it must be on loopback.
	URL string
	// Token is sent as Authorization: Bearer.
	Token string
	// Rate is mentions a second; 0 sends as fast as ingest takes them.
	Rate float64
	// Count and Duration bound the run; whichever comes first ends it.
	Count    int
	Duration time.Duration
	// Batch is mentions per request (1 unless replaying in bulk).
	Batch int
	// Workers is how many requests may be in flight at once.
	Workers int
	// Retry keeps re-sending a refused or unanswered request (same ids, so
	// ingest dedups) until RetryFor has passed, as a careful client does.
	Retry    bool
	RetryFor time.Duration
	// Hold, when set, is asked before each request and blocks while the
	// pipeline's backlog is too deep, so a fast run measures the pipeline
	// rather than a queue.
	Hold func(ctx context.Context)
}

// CheckLoopback refuses any target that is not on this machine.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("target %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %q is not on loopback; the load tools only drive a local Firebreak", raw)
}

// Drive posts generated mentions to ingest and returns what happened to
// each, in the order they were generated.
func Drive(ctx context.Context, gen *Generator, opts DriveOptions) ([]Sent, error) {
	if err := CheckLoopback(opts.URL); err != nil {
		return nil, err
	}
	opts.Batch = max(opts.Batch, 1)
	opts.Workers = max(opts.Workers, 1)
	if opts.Count <= 0 || opts.Duration <= 0 {
		return nil, fmt.Errorf("a run needs a count and a duration (got %d, %s)", opts.Count, opts.Duration)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: opts.Workers, MaxConnsPerHost: opts.Workers, IdleConnTimeout: 30 * time.Second,
	}}
	defer client.CloseIdleConnections()

	d := &driver{opts: opts, client: client}
	// Open loop: the schedule never waits for the workers. The queue holds
	// every batch of the run, so a slow system builds a queue whose waiting
	// is measured (from Due), instead of slowing the schedule down.
	queue := 0
	if opts.Rate > 0 {
		queue = opts.Count/opts.Batch + 1
	}
	batches := make(chan []int, queue)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range batches {
				d.post(ctx, idx)
			}
		}()
	}
	d.feed(ctx, gen, batches)
	close(batches)
	wg.Wait()
	return d.sent, nil
}

type driver struct {
	opts   DriveOptions
	client *http.Client
	mu     sync.Mutex
	sent   []Sent
	posted atomic.Int64
}

// feed generates batches on the rate's schedule (or as fast as workers take
// them) until the count or the context ends. Each mention's Due is its
// place on the schedule, not when a worker got to it.
func (d *driver) feed(ctx context.Context, gen *Generator, batches chan<- []int) {
	start := time.Now()
	for n := 0; n < d.opts.Count; {
		due := time.Now()
		if d.opts.Rate > 0 {
			due = start.Add(time.Duration(float64(n) / d.opts.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			}
		}
		if d.opts.Hold != nil {
			d.opts.Hold(ctx)
		}
		size := min(d.opts.Batch, d.opts.Count-n)
		d.mu.Lock()
		idx := make([]int, size)
		for i := range size {
			idx[i] = len(d.sent)
			d.sent = append(d.sent, Sent{Mention: gen.Next(), Due: due})
		}
		d.mu.Unlock()
		select {
		case batches <- idx:
			n += size
		case <-ctx.Done():
			d.mu.Lock()
			d.sent = d.sent[:idx[0]]
			d.mu.Unlock()
			return
		}
	}
}

// post sends one batch, retrying while allowed, and records the outcome.
func (d *driver) post(ctx context.Context, idx []int) {
	d.mu.Lock()
	batch := make([]Mention, len(idx))
	for i, j := range idx {
		batch[i] = d.sent[j].Mention
	}
	d.mu.Unlock()
	body := encodeNDJSON(batch)
	first := time.Now()
	giveUp := first.Add(d.opts.RetryFor)
	var res postResult
	attempts := 0
	for {
		attempts++
		// A retry outlives the run's context: a mention already handed to
		// ingest must be settled one way or the other.
		res = d.postOnce(body)
		if res.err == nil || !d.opts.Retry || time.Now().After(giveUp) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, j := range idx {
		s := &d.sent[j]
		s.Sent, s.Attempts = first, attempts
		if res.err != nil {
			s.Err = res.err.Error()
			continue
		}
		s.Accepted = res.at
		if i < len(res.accepted) {
			s.Duplicate = res.accepted[i].Duplicate
		}
	}
}

type postResult struct {
	at       time.Time
	accepted []struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	err error
}

func (d *driver) postOnce(body []byte) postResult {
	req, err := http.NewRequest(http.MethodPost, d.opts.URL, bytes.NewReader(body))
	if err != nil {
		return postResult{err: fmt.Errorf("POST %s: %w", d.opts.URL, err)}
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+d.opts.Token)
	resp, err := d.client.Do(req)
	if err != nil {
		return postResult{err: fmt.Errorf("POST %s: %w", d.opts.URL, err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted {
		return postResult{err: fmt.Errorf("POST %s: %s: %s", d.opts.URL, resp.Status, bytes.TrimSpace(b))}
	}
	res := postResult{at: time.Now()}
	var out struct {
		Accepted json.RawMessage `json:"accepted"`
	}
	if err := json.Unmarshal(b, &out); err == nil {
		_ = json.Unmarshal(out.Accepted, &res.accepted)
	}
	d.posted.Add(1)
	return res
}

func encodeNDJSON(batch []Mention) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, m := range batch {
		_ = enc.Encode(m) // plain structs of strings and numbers always encode
	}
	return buf.Bytes()
}
