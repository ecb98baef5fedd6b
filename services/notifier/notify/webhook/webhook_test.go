package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// endpoint is a receiver that does what the package asks of one: verify the
// signature, refuse replays, drop repeated idempotency keys.
type endpoint struct {
	secret notify.Secret
	now    time.Time
	mu     sync.Mutex
	seen   map[string]bool
	bodies []webhook.Body
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(e.secret, r.Header, body, e.now, 5*time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := r.Header.Get(webhook.HeaderIdempotency)
	if e.seen[key] {
		w.WriteHeader(http.StatusOK)
		return
	}
	e.seen[key] = true
	var b webhook.Body
	json.Unmarshal(body, &b)
	e.bodies = append(e.bodies, b)
	w.WriteHeader(http.StatusNoContent)
}

func TestSignedDeliveryVerifiesAndRepeatsAreDropped(t *testing.T) {
	ep := &endpoint{secret: "s3cret", now: t0.Add(time.Second), seen: map[string]bool{}}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	n := webhook.New(webhook.Config{URL: srv.URL, Secret: "s3cret"}, srv.Client(), clocktest.New(t0))
	ev := notifytest.Opened("case-1", "senior", t0)
	note := &notify.Notification{Events: []*fbv1.CaseEvent{ev}, Receiver: "hook", DedupKey: notify.Key(ev, "hook"), LinkBase: "https://firebreak.example"}
	for range 2 {
		if _, err := n.Notify(t.Context(), note); err != nil {
			t.Fatal(err)
		}
	}
	if len(ep.bodies) != 1 {
		t.Fatalf("endpoint kept %d bodies, want 1", len(ep.bodies))
	}
	b := ep.bodies[0]
	if b.Version != "1" || b.Action != "trigger" || b.DedupKey != "case-1:e0.r0.l1:hook" || b.Links["case-1"] != "https://firebreak.example/cases/case-1" {
		t.Fatalf("body %+v", b)
	}
	if ev := string(b.Events[0]); !strings.Contains(ev, `"type":"CASE_EVENT_TYPE_OPENED"`) || !strings.Contains(ev, `"opened_at":"2026-11-23T09:00:00Z"`) {
		t.Fatalf("event not in proto-name JSON: %s", b.Events[0])
	}
}

func TestWrongSecretIsRefusedAndNotRetried(t *testing.T) {
	ep := &endpoint{secret: "s3cret", now: t0, seen: map[string]bool{}}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	n := webhook.New(webhook.Config{URL: srv.URL, Secret: "other"}, srv.Client(), clocktest.New(t0))
	ev := notifytest.Opened("case-1", "senior", t0)
	retry, err := n.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{ev}, DedupKey: "k"})
	if retry || notify.ReasonOf(err) != notify.ReasonClientError {
		t.Fatalf("retry=%v err=%v; want permanent client_error", retry, err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"version":"1"}`)
	signed := func(ts time.Time, secret notify.Secret) http.Header {
		h := http.Header{}
		s := strconv.FormatInt(ts.Unix(), 10)
		h.Set(webhook.HeaderTimestamp, s)
		h.Set(webhook.HeaderSignature, "v1=deadbeef, v1="+webhook.Sign(secret, s, body))
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"fresh and signed", signed(t0, "k"), body, true},
		{"wrong secret", signed(t0, "x"), body, false},
		{"body changed", signed(t0, "k"), []byte(`{"version":"2"}`), false},
		{"replayed ten minutes later", signed(t0.Add(-10*time.Minute), "k"), body, false},
		{"no timestamp", http.Header{}, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhook.Verify("k", tt.h, tt.body, t0, 5*time.Minute); (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
