package pagerduty

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// CaseUpdater acknowledges and resolves the episode of a case an incident
// was about. The notifier's commander implements it by publishing case
// commands on the bus (commands.cases), which escalation applies (and
// ignores for an episode that is not the case's current one). Both must be
// idempotent, as PagerDuty retries.
type CaseUpdater interface {
	Acknowledge(ctx context.Context, ref notify.CaseRef, actor string) error
	Resolve(ctx context.Context, ref notify.CaseRef, actor string) error
}

// maxWebhookBody bounds a webhook body; PagerDuty's are a few kilobytes.
const maxWebhookBody = 1 << 20

// MaxEventAge is how old an event may be before it is refused as a
// possible replay of a signed delivery.
const MaxEventAge = 5 * time.Minute

// Events remembers which webhook events were handled, across replicas, for
// longer than MaxEventAge, so a replayed signed event is handled once.
type Events interface {
	// Claim returns false if id was claimed before.
	Claim(ctx context.Context, id string) (bool, error)
	// Release forgets a claim whose handling failed, so PagerDuty's retry
	// of the same event is handled.
	Release(ctx context.Context, id string)
}

// WebhookHandler serves PagerDuty v3 webhooks. It refuses requests whose
// X-PagerDuty-Signature does not match secret, and turns
// incident.acknowledged and incident.resolved into calls on cases, taking
// the case and its episode from the incident key (the dedup key Notify
// sent: a bare case id is the first episode). Other
// events are accepted and ignored.
// Events older than MaxEventAge (by occurred_at, with clock) are refused
// with 400, and an event id handled before is acknowledged and ignored.
func WebhookHandler(secret notify.Secret, cases CaseUpdater, clock clock.Clock, events Events) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
		if err != nil || len(body) > maxWebhookBody {
			http.Error(w, "body unreadable or over 1 MiB", http.StatusBadRequest)
			return
		}
		if !VerifySignature(secret, r.Header.Get("X-PagerDuty-Signature"), body) {
			http.Error(w, "signature does not match", http.StatusUnauthorized)
			return
		}
		var we webhookEvent
		if err := json.Unmarshal(body, &we); err != nil {
			http.Error(w, "decode PagerDuty webhook: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := fresh(we, clock.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		first, err := events.Claim(r.Context(), we.Event.ID)
		if err != nil {
			http.Error(w, "cannot check the event id now; retry", http.StatusServiceUnavailable)
			return
		}
		if !first {
			w.WriteHeader(http.StatusNoContent) // handled before: a retry or a replay
			return
		}
		if err := handle(r.Context(), cases, we); err != nil {
			events.Release(context.WithoutCancel(r.Context()), we.Event.ID)
			// A 5xx makes PagerDuty retry, which the idempotent calls allow.
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// VerifySignature checks PagerDuty's header, which lists one v1=<hex> per
// active signing secret, against the HMAC-SHA256 of body.
func VerifySignature(secret notify.Secret, header string, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	for sig := range strings.SplitSeq(header, ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// fresh refuses an event without an id, or one that occurred more than
// MaxEventAge ago (or as far in the future).
func fresh(we webhookEvent, now time.Time) error {
	if we.Event.ID == "" || len(we.Event.ID) > 128 {
		return fmt.Errorf("event has no id (or one over 128 characters)")
	}
	at, err := time.Parse(time.RFC3339Nano, we.Event.OccurredAt)
	if err != nil {
		return fmt.Errorf("event occurred_at %q is not an RFC 3339 time", we.Event.OccurredAt)
	}
	if age := now.Sub(at); age > MaxEventAge || age < -MaxEventAge {
		return fmt.Errorf("event occurred %s from now; refused as a possible replay (at most %s)", age.Round(time.Second), MaxEventAge)
	}
	return nil
}

// webhookEvent is the part of a v3 webhook payload that matters here.
type webhookEvent struct {
	Event struct {
		ID         string `json:"id"`
		OccurredAt string `json:"occurred_at"`
		EventType  string `json:"event_type"`
		Agent      *struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"agent"`
		Data struct {
			ID          string `json:"id"`
			IncidentKey string `json:"incident_key"`
		} `json:"data"`
	} `json:"event"`
}

func handle(ctx context.Context, cases CaseUpdater, we webhookEvent) error {
	key := we.Event.Data.IncidentKey
	// Grouped pages carry a group key, not a case; nothing to update.
	if key == "" || strings.HasPrefix(key, "group:") {
		return nil
	}
	ref := notify.ParseEpisodeKey(key, true)
	actor := "pagerduty"
	if a := we.Event.Agent; a != nil && a.Summary != "" {
		actor = "pagerduty:" + a.Summary
	}
	switch we.Event.EventType {
	case "incident.acknowledged":
		if err := cases.Acknowledge(ctx, ref, actor); err != nil {
			return fmt.Errorf("acknowledge case %s from PagerDuty incident %s: %w", key, we.Event.Data.ID, err)
		}
	case "incident.resolved":
		if err := cases.Resolve(ctx, ref, actor); err != nil {
			return fmt.Errorf("resolve case %s from PagerDuty incident %s: %w", key, we.Event.Data.ID, err)
		}
	}
	return nil
}
