// Package alertmanager posts cases as alerts to an existing Prometheus
// Alertmanager (API v2), so teams that already route, group and silence
// through Alertmanager keep doing so.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// AlertName is the alertname label of every Firebreak alert.
const AlertName = "FirebreakCase"

// Config is one Alertmanager.
type Config struct {
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093.
	URL string
	// BearerToken, when set, is sent as Authorization: Bearer, for an
	// Alertmanager behind an authenticating proxy.
	BearerToken notify.Secret
	// AlertTTL is how long a firing alert lasts unless resolved. Alertmanager
	// resolves an alert with no endsAt after its resolve_timeout (5 minutes by
	// default), and Firebreak posts a case once rather than every few
	// seconds as Prometheus does, so endsAt is set this far ahead instead.
	AlertTTL time.Duration
}

// DefaultAlertTTL keeps an unresolved case firing for a day.
const DefaultAlertTTL = 24 * time.Hour

// Notifier posts alerts to one Alertmanager.
type Notifier struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New returns a Notifier for one Alertmanager.
func New(cfg Config, client *http.Client, clock clock.Clock) *Notifier {
	if cfg.AlertTTL <= 0 {
		cfg.AlertTTL = DefaultAlertTTL
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &Notifier{cfg: cfg, client: client, clock: clock}
}

// RefreshEvery is how often an open case's alert is posted again: half its
// lifetime, so it never ends while the case is open, and an Alertmanager
// restarted without its state hears of it again.
func (n *Notifier) RefreshEvery() time.Duration { return n.cfg.AlertTTL / 2 }

// Alert is API v2's postableAlert.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Notify posts one alert per case (Alertmanager does its own grouping).
// Alertmanager answers 200; 400 means the alerts are invalid.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	now := n.clock.Now()
	alerts := make([]Alert, len(note.Events))
	for i, ev := range note.Events {
		alerts[i] = n.alert(note, ev, now)
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return notify.NoRetry(fmt.Errorf("encode alerts %s: %w", note.DedupKey, err))
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if n.cfg.BearerToken != "" {
		h.Set("Authorization", "Bearer "+string(n.cfg.BearerToken))
	}
	return notify.Post(ctx, n.client, n.clock, n.cfg.URL+"/api/v2/alerts", h, body)
}

// alert keeps the labels the same for every event of a case, so its
// acknowledgement and resolution update the alert that paged.
func (n *Notifier) alert(note *notify.Notification, ev *fbv1.CaseEvent, now time.Time) Alert {
	c := ev.GetCase()
	a := Alert{
		Labels: map[string]string{
			"alertname": AlertName,
			"team":      c.GetTeam(),
			"priority":  notify.PriorityName(c.GetPriority()),
			"brand":     c.GetBrand(),
			"case":      c.GetId(),
		},
		Annotations: map[string]string{
			"summary":     notify.Title(ev),
			"description": strings.Join(notify.Reasons(ev), "; "),
			"author":      notify.Author(c),
			"reach":       notify.ReachText(c),
			"level":       strconv.Itoa(int(notify.Level(ev))),
		},
		GeneratorURL: note.CaseLink(c.GetId()),
		EndsAt:       now.Add(n.cfg.AlertTTL).UTC().Format(time.RFC3339),
	}
	// Alertmanager's own templates and UIs show annotations, not always
	// the generator URL, so the link is both.
	if l := note.CaseLink(c.GetId()); l != "" {
		a.Annotations["case_url"] = l
	}
	if t := c.GetOpenedAt(); t != nil {
		a.StartsAt = t.AsTime().UTC().Format(time.RFC3339)
	}
	switch note.Action() {
	case notify.ActionAcknowledge:
		a.Annotations["acknowledged_by"] = ev.GetActor()
	case notify.ActionResolve:
		a.EndsAt = resolvedAt(ev, now).UTC().Format(time.RFC3339)
	}
	return a
}

func resolvedAt(ev *fbv1.CaseEvent, now time.Time) time.Time {
	if t := ev.GetCase().GetResolvedAt(); t != nil {
		return t.AsTime()
	}
	if t := ev.GetAt(); t != nil {
		return t.AsTime()
	}
	return now
}
