// Package pagerduty pages through PagerDuty's Events API v2 and takes
// PagerDuty's v3 webhooks back, so an incident acknowledged or resolved in
// PagerDuty acknowledges or resolves the case and stops Firebreak's chain.
package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config is one PagerDuty service integration.
type Config struct {
	// RoutingKey is the integration key of an Events API v2 integration.
	RoutingKey notify.Secret
	// URL overrides DefaultURL (an EU account, or a test server).
	URL string
	// Source names the system in the page; "firebreak" when empty.
	Source string
}

// Notifier sends events to PagerDuty.
type Notifier struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New returns a Notifier for one integration.
func New(cfg Config, client *http.Client, clock clock.Clock) *Notifier {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Source == "" {
		cfg.Source = "firebreak"
	}
	return &Notifier{cfg: cfg, client: client, clock: clock}
}

// event is the Events API v2 request body.
type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []link   `json:"links,omitempty"`
}

type payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// maxSummary is the Events API's limit on payload.summary.
const maxSummary = 1024

// Notify sends a trigger, acknowledge or resolve event. The dedup key names
// the case's episode (see DedupKey), so PagerDuty itself folds a page
// repeated after a crash into the open incident, acknowledge and resolve
// find it, and a new episode is a new incident. The page of a new episode
// first resolves the incident of the one before: that episode is over (it
// was resolved, or superseded by a raise or an expired acknowledgement),
// and its incident must not stay open, nor be triggered again.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	if prev := previousIncident(note); prev != "" {
		e := event{RoutingKey: string(n.cfg.RoutingKey), EventAction: string(notify.ActionResolve), DedupKey: prev}
		if retry, err := n.post(ctx, e); err != nil {
			return retry, err
		}
	}
	return n.post(ctx, n.event(note))
}

func (n *Notifier) post(ctx context.Context, e event) (bool, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return notify.NoRetry(fmt.Errorf("encode PagerDuty event %s: %w", e.DedupKey, err))
	}
	h := http.Header{"Content-Type": {"application/json"}}
	return notify.Post(ctx, n.client, n.clock, n.cfg.URL, h, body)
}

// previousIncident is the dedup key of the incident of the episode before
// the one a page opens, or "" when there is none: the first episode, a
// grouped page (keyed by its group), an acknowledgement or resolution.
func previousIncident(note *notify.Notification) string {
	c := note.Event().GetCase()
	if note.Action() != notify.ActionTrigger || note.Grouped() || c.GetEpisode() < 1 {
		return ""
	}
	return notify.EpisodeKeyOf(c.GetId(), c.GetEpisode()-1)
}

func (n *Notifier) event(note *notify.Notification) event {
	ev := note.Event()
	e := event{
		RoutingKey:  string(n.cfg.RoutingKey),
		EventAction: string(note.Action()),
		DedupKey:    DedupKey(note),
	}
	if note.Action() != notify.ActionTrigger {
		return e
	}
	c := ev.GetCase()
	e.Payload = &payload{
		Summary:   notify.Truncate(notify.GroupTitle(note), maxSummary),
		Source:    n.cfg.Source,
		Severity:  Severity(highest(note.Events)),
		Component: c.GetBrand(),
		Group:     c.GetTeam(),
	}
	if at := ev.GetAt(); at != nil {
		e.Payload.Timestamp = at.AsTime().UTC().Format(time.RFC3339)
	}
	if rs := c.GetReasons(); len(rs) > 0 {
		e.Payload.Class = rs[0].GetCode()
	}
	e.Payload.CustomDetails = details(note)
	e.Client = "Firebreak"
	if l := note.CaseLink(c.GetId()); l != "" && !note.Grouped() {
		e.ClientURL = l
		e.Links = []link{{Href: l, Text: "Open the case in Firebreak"}}
	}
	if note.Grouped() {
		e.Links = groupLinks(note)
	}
	return e
}

// maxLinks bounds the links of a grouped incident; the rest are in its
// custom details.
const maxLinks = 20

// groupLinks links each case of a storm group, so the incident leads to
// every case page and not only to the first.
func groupLinks(note *notify.Notification) []link {
	var out []link
	for _, ev := range note.Events {
		c := ev.GetCase()
		l := note.CaseLink(c.GetId())
		if l == "" || len(out) == maxLinks {
			break
		}
		out = append(out, link{Href: l, Text: notify.Truncate("Case "+c.GetId()+": "+notify.Author(c), 100)})
	}
	return out
}

// DedupKey names the case's episode for one case (notify.EpisodeKey: the
// case id in its first episode, "<case id>:e<episode>" after), so the
// incident of an earlier episode is never triggered again and its
// webhooks say which episode they are about; a group uses its group key.
func DedupKey(note *notify.Notification) string {
	if note.Grouped() {
		return note.DedupKey
	}
	return notify.EpisodeKey(note.Event().GetCase())
}

func details(note *notify.Notification) map[string]any {
	if !note.Grouped() {
		return caseDetails(note, note.Event())
	}
	cases := make([]map[string]any, len(note.Events))
	for i, ev := range note.Events {
		cases[i] = caseDetails(note, ev)
	}
	return map[string]any{"cases": cases}
}

func caseDetails(note *notify.Notification, ev *fbv1.CaseEvent) map[string]any {
	c := ev.GetCase()
	d := map[string]any{
		"case_id":  c.GetId(),
		"brand":    c.GetBrand(),
		"team":     c.GetTeam(),
		"level":    notify.Level(ev),
		"priority": notify.PriorityName(c.GetPriority()),
		"author":   notify.Author(c),
		"reach":    notify.ReachText(c),
		"reasons":  notify.Reasons(ev),
	}
	if l := note.CaseLink(c.GetId()); l != "" {
		d["link"] = l
	}
	return d
}

// Severity maps a priority to the Events API's severities.
func Severity(p fbv1.Priority) string {
	switch p {
	case fbv1.Priority_PRIORITY_CRITICAL:
		return "critical"
	case fbv1.Priority_PRIORITY_HIGH:
		return "error"
	case fbv1.Priority_PRIORITY_NORMAL:
		return "warning"
	default:
		return "info"
	}
}

func highest(events []*fbv1.CaseEvent) fbv1.Priority {
	var p fbv1.Priority
	for _, ev := range events {
		p = max(p, ev.GetCase().GetPriority())
	}
	return p
}
