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
	"github.com/firebreak/firebreak/services/notifier/notify"
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

// alertmanagerReceiver serves a fake Alertmanager, stopped at cleanup, and
// writes a receivers file that pages the senior team's level 1 to it with
// alerts that end after 2s.
func alertmanagerReceiver(t *testing.T) (*alertmanagerAPI, string) {
	t.Helper()
	am := &alertmanagerAPI{posts: map[string][]alertmanager.Alert{}}
	srv := httptest.NewServer(am)
	t.Cleanup(srv.Close)
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
	return am, file
}

func TestAlertOfAnOpenCaseIsPostedAgainBeforeItEndsUntilTheCaseIsResolved(t *testing.T) {
	am, file := alertmanagerReceiver(t)
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

// stuckAlerts is an Alertmanager that never answers: a post to it runs
// until its context ends. It says when that would have been.
type stuckAlerts struct {
	every     time.Duration
	deadlines chan time.Time
}

func (s stuckAlerts) RefreshEvery() time.Duration { return s.every }

func (s stuckAlerts) Notify(ctx context.Context, _ *notify.Notification) (bool, error) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Time{}
	}
	s.deadlines <- d
	<-ctx.Done()
	return true, ctx.Err()
}

// TestPostingAlertsAgainStopsWellInsideTheLease: a receiver that never
// answers cannot hold a refresh past its claim's lease, where another
// replica could take the claim and post the same alerts at once. The
// refresh is cut off at its bound and the case waits for the lease.
func TestPostingAlertsAgainStopsWellInsideTheLease(t *testing.T) {
	am, file := alertmanagerReceiver(t)
	r := newRig(t, 1, Config{ReceiversFile: file, refreshBound: 200 * time.Millisecond})
	svc := r.svc[0]
	r.publish(event("c1", "c1:opened:m", 1), 0)
	testkit.Eventually(t, "the first alert, kept for posting again", func() bool {
		n, err := svc.d.Redis.Exists(context.Background(), svc.alertsKey("c1")).Result()
		return len(am.of("c1")) == 1 && err == nil && n == 1
	})
	stuck := stuckAlerts{every: time.Second, deadlines: make(chan time.Time, 4)}
	rec := svc.receivers["am"]
	rec.Notifier = stuck
	svc.receivers["am"] = rec

	var deadline time.Time
	testkit.Eventually(t, "the alert posted again to the receiver that never answers", func() bool {
		svc.refreshDue(context.Background()) // returns only because the post is cut off
		select {
		case deadline = <-stuck.deadlines:
			return true
		default:
			return false
		}
	})
	if deadline.IsZero() || !deadline.Before(time.Now().Add(refreshLease)) {
		t.Fatalf("the post ran with deadline %v, want one inside the %s lease", deadline, refreshLease)
	}
	// The claim still holds: nobody posts the case again until it ends.
	svc.refreshDue(context.Background())
	select {
	case <-stuck.deadlines:
		t.Fatal("the case was posted again while its claim held")
	default:
	}
}
