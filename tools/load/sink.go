package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firebreak/firebreak/tools/stack"
)

// Behaviour is how the sink answers, so a run can make the receiver slow,
// failing, throttling or flapping.
type Behaviour int32

// The sink's behaviours.
const (
	Healthy    Behaviour = iota
	Slow                 // answers 204 after SlowDelay
	Failing              // answers 500
	Throttling           // answers 429 with Retry-After: 1 (or SetRetryAfter)
	Flapping             // alternates between 204 and 500
)

func (b Behaviour) String() string {
	return [...]string{"healthy", "slow", "failing", "throttling", "flapping"}[b]
}

// SlowDelay is how long a slow sink takes to answer: longer than a typical
// page, shorter than the notifier's 10 s client timeout.
const SlowDelay = 2 * time.Second

// Page is one notification the sink accepted.
type Page struct {
	At             time.Time
	IdempotencyKey string
	DedupKey       string
	Action         string
	// Receiver is the receiver the notifier sent the page as: one sink can
	// stand in for several receivers.
	Receiver string
	// Events are the case events the page carried.
	Events []PageEvent
}

// PageEvent is the part of a case event the checks need.
type PageEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	MentionID string `json:"mention_id"`
	Level     int32  `json:"level"`
	Round     int32  `json:"round"`
	Case      struct {
		ID      string `json:"id"`
		Episode int32  `json:"episode"`
	} `json:"case"`
}

// Sink is a local webhook receiver that records every page it accepts.
type Sink struct {
	srv       *http.Server
	lis       net.Listener
	behaviour atomic.Int32
	flap      atomic.Uint64
	refused   atomic.Int64
	// retryAfter is a throttling sink's Retry-After, in seconds (1 unset).
	retryAfter atomic.Int64

	mu    sync.Mutex
	pages []Page
}

// StartSink serves a webhook on addr (e.g. 127.0.0.1:0).
func StartSink(addr string) (*Sink, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook sink listen on %s: %w", addr, err)
	}
	s := &Sink{lis: lis}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	// The sink stands in for a receiver: its CPU is the harness's, not
	// the notifier's, and the profile says so (Harness).
	go pprof.Do(context.Background(), pprof.Labels(stack.ProfileLabel, Harness), func(context.Context) { _ = s.srv.Serve(lis) })
	return s, nil
}

// URL is where the notifier should post.
func (s *Sink) URL() string { return "http://" + s.lis.Addr().String() + "/webhook" }

// Set changes how the sink answers from now on.
func (s *Sink) Set(b Behaviour) { s.behaviour.Store(int32(b)) }

// SetRetryAfter changes the Retry-After a throttling sink answers with
// (whole seconds, at least 1).
func (s *Sink) SetRetryAfter(d time.Duration) { s.retryAfter.Store(int64(max(d/time.Second, 1))) }

// Close stops serving.
func (s *Sink) Close() error { return s.srv.Close() }

// Pages returns a copy of the pages accepted so far.
func (s *Sink) Pages() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Page(nil), s.pages...)
}

// Refused counts requests the sink answered with an error on purpose.
func (s *Sink) Refused() int64 { return s.refused.Load() }

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch Behaviour(s.behaviour.Load()) {
	case Slow:
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	case Failing:
		s.refuse(w, http.StatusInternalServerError)
		return
	case Throttling:
		w.Header().Set("Retry-After", strconv.FormatInt(max(s.retryAfter.Load(), 1), 10))
		s.refuse(w, http.StatusTooManyRequests)
		return
	case Flapping:
		if s.flap.Add(1)%2 == 0 {
			s.refuse(w, http.StatusInternalServerError)
			return
		}
	}
	var note struct {
		Action   string      `json:"action"`
		Receiver string      `json:"receiver"`
		DedupKey string      `json:"dedup_key"`
		Events   []PageEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &note); err != nil {
		http.Error(w, "body is not a Firebreak webhook: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.pages = append(s.pages, Page{At: at, IdempotencyKey: r.Header.Get("Idempotency-Key"), DedupKey: note.DedupKey, Action: note.Action, Receiver: note.Receiver, Events: note.Events})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sink) refuse(w http.ResponseWriter, code int) {
	s.refused.Add(1)
	http.Error(w, http.StatusText(code), code)
}
