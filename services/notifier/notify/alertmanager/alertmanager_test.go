package alertmanager_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/alertmanager"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// amAPI answers POST /api/v2/alerts as Alertmanager does: 200 for a valid
// array of postableAlert, 400 with a message when labels are missing.
type amAPI struct {
	mu     sync.Mutex
	posts  [][]alertmanager.Alert
	header http.Header
}

func (a *amAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
		http.NotFound(w, r)
		return
	}
	var alerts []alertmanager.Alert
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &alerts); err != nil {
		http.Error(w, `"parsing alerts body"`, http.StatusBadRequest)
		return
	}
	for _, al := range alerts {
		if len(al.Labels) == 0 {
			http.Error(w, `"at least one label pair required"`, http.StatusBadRequest)
			return
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.posts = append(a.posts, alerts)
	a.header = r.Header.Clone()
}

func TestCaseFiresThenResolvesTheSameAlert(t *testing.T) {
	api := &amAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	n := alertmanager.New(alertmanager.Config{URL: srv.URL + "/", BearerToken: "tok", AlertTTL: 12 * time.Hour}, srv.Client(), clocktest.New(t0.Add(time.Minute)))
	opened := notifytest.Opened("case-1", "senior", t0)
	resolved := notifytest.Resolved(opened, "ops", t0.Add(10*time.Minute))
	for _, ev := range []*fbv1.CaseEvent{opened, resolved} {
		if _, err := n.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{ev}, LinkBase: "https://firebreak.example"}); err != nil {
			t.Fatal(err)
		}
	}
	fire, resolve := api.posts[0][0], api.posts[1][0]
	wantLabels := map[string]string{"alertname": "FirebreakCase", "team": "senior", "priority": "critical", "brand": "acme-mobile", "case": "case-1"}
	for k, v := range wantLabels {
		if fire.Labels[k] != v || resolve.Labels[k] != v {
			t.Errorf("label %s = %q / %q, want %q on both", k, fire.Labels[k], resolve.Labels[k], v)
		}
	}
	if fire.StartsAt != "2026-11-23T09:00:00Z" || fire.EndsAt != "2026-11-23T21:01:00Z" {
		t.Errorf("firing alert starts %s ends %s; want opened time and now+TTL", fire.StartsAt, fire.EndsAt)
	}
	if resolve.EndsAt != "2026-11-23T09:10:00Z" {
		t.Errorf("resolved alert ends %s, want the resolution time", resolve.EndsAt)
	}
	if fire.GeneratorURL != "https://firebreak.example/cases/case-1" || fire.Annotations["reach"] == "" || fire.Annotations["level"] != "1" {
		t.Errorf("alert %+v lacks link or annotations", fire)
	}
	for _, a := range []alertmanager.Alert{fire, resolve} {
		if a.Annotations["case_url"] != "https://firebreak.example/cases/case-1" {
			t.Errorf("annotation case_url = %q, want the console's case page", a.Annotations["case_url"])
		}
	}
	if got := api.header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization %q", got)
	}
}
