package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify/alertmanager"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// alertmanagerAPI records the alerts posted to it, by case.
type alertmanagerAPI struct {
	mu    sync.Mutex
	posts map[string][]alertmanager.Alert
}

func (a *alertmanagerAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var alerts []alertmanager.Alert
	if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, al := range alerts {
		a.posts[al.Labels["case"]] = append(a.posts[al.Labels["case"]], al)
	}
}

func (a *alertmanagerAPI) of(caseID string) []alertmanager.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]alertmanager.Alert(nil), a.posts[caseID]...)
}

func TestAlertOfAnOpenCaseIsPostedAgainBeforeItEndsUntilTheCaseIsResolved(t *testing.T) {
	am := &alertmanagerAPI{posts: map[string][]alertmanager.Alert{}}
	srv := httptest.NewServer(am)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "receivers.yaml")
	doc := fmt.Sprintf(`receivers:
  - {name: am, type: alertmanager, alertmanager: {url: %q, alert_ttl: 2s}}
teams:
  senior:
    levels: [{level: 1, receivers: [am]}]
`, srv.URL)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, Config{ReceiversFile: file})
	svc := r.svc[0]
	r.publish(event("c1", "c1:opened:m", 1), 0)
	testkit.Eventually(t, "the first alert", func() bool { return len(am.of("c1")) == 1 })

	// Each refresh posts the same alert, its end moved on, while the case is open.
	testkit.Eventually(t, "the alert posted again", func() bool {
		svc.refreshDue(context.Background())
		return len(am.of("c1")) >= 2
	})
	posts := am.of("c1")
	first, again := posts[0], posts[len(posts)-1]
	if again.Labels["alertname"] != first.Labels["alertname"] || again.StartsAt != first.StartsAt {
		t.Errorf("the alert posted again is another alert: %v starting %s, was %v starting %s", again.Labels, again.StartsAt, first.Labels, first.StartsAt)
	}
	if end, err := time.Parse(time.RFC3339, again.EndsAt); err != nil || !end.After(time.Now()) {
		t.Errorf("the alert posted again ends at %q, want a time to come", again.EndsAt)
	}

	resolved := event("c1", "c1:resolved:x", 1)
	resolved.Type, resolved.Case.State = fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED, fbv1.CaseState_CASE_STATE_RESOLVED
	r.publish(resolved, 0)
	testkit.Eventually(t, "the case forgotten", func() bool {
		_, err := svc.d.Redis.ZScore(context.Background(), svc.d.Keys.ShardOf(alertsIndex, "c1"), "c1").Result()
		return errors.Is(err, redis.Nil)
	})
	if n, err := svc.d.Redis.Exists(context.Background(), svc.alertsKey("c1")).Result(); err != nil || n != 0 {
		t.Errorf("the resolved case's alerts are still kept (%d, %v)", n, err)
	}
}
