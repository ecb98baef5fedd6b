package receivers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/notifier/receivers"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

// hookServer is a webhook endpoint answering every request with status,
// keeping the bodies it verified.
func hookServer(t *testing.T, status int, secret notify.Secret, now time.Time) (*httptest.Server, func() []webhook.Body) {
	var mu sync.Mutex
	var got []webhook.Body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, now, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var b webhook.Body
		json.Unmarshal(body, &b)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []webhook.Body { mu.Lock(); defer mu.Unlock(); return got }
}

func TestFailingReceiverFallsBackToTheTeamsFallback(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	broken, brokenGot := hookServer(t, http.StatusInternalServerError, "s", t0)
	backup, backupGot := hookServer(t, http.StatusOK, "s", t0)
	yaml := `
receivers:
  - {name: primary, type: webhook, retry: {max_attempts: 3}, webhook: {url: "` + broken.URL + `", secret_env: S}}
  - {name: backup, type: webhook, webhook: {url: "` + backup.URL + `", secret_env: S}}
teams:
  senior:
    levels: [{level: 1, receivers: [primary]}]
    fallback: backup
`
	cfg, err := receivers.Parse("t.yaml", []byte(yaml), env(map[string]string{"S": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	log := &notifytest.Log{}
	p := cfg.Pipeline(log, http.DefaultClient, clocktest.New(t0))
	results, err := p.Deliver(t.Context(), notifytest.Opened("case-1", "senior", t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || !results[0].Failed() || results[0].Reason() != notify.ReasonServerError || len(results[0].Attempts) != 3 ||
		!results[1].Fallback || results[1].Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
		t.Fatalf("results %+v; want primary failed after 3 server errors, backup delivered", results)
	}
	if len(brokenGot()) != 3 || len(backupGot()) != 1 || backupGot()[0].DedupKey != "case-1:e0.r0.l1:backup" {
		t.Fatalf("primary got %d, backup got %v", len(brokenGot()), backupGot())
	}
	var outcomes []string
	for _, d := range log.Deliveries() {
		outcomes = append(outcomes, d.GetReceiver()+":"+strings.TrimPrefix(d.GetOutcome().String(), "DELIVERY_OUTCOME_"))
	}
	want := "primary:RETRYING primary:RETRYING primary:FAILED backup:DELIVERED"
	if strings.Join(outcomes, " ") != want {
		t.Fatalf("log %v, want %s", outcomes, want)
	}
}
