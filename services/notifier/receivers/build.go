package receivers

import (
	"net/http"
	"slices"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/alertmanager"
	"github.com/firebreak/firebreak/services/notifier/notify/email"
	"github.com/firebreak/firebreak/services/notifier/notify/pagerduty"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
	"github.com/firebreak/firebreak/services/notifier/notify/webhook"
	"github.com/firebreak/firebreak/services/platform/clock"
	"golang.org/x/time/rate"
)

// Pipeline builds the delivery pipeline: one chain per receiver, routed by
// this configuration. log is the shared delivery log (Redis in the service).
func (c *Config) Pipeline(log notify.Log, client *http.Client, clock clock.Clock) *notify.Pipeline {
	return notify.NewPipeline(c.Build(client, clock), c, log, clock, c.LinkBase)
}

// Build turns each configured receiver into a notify.Receiver.
func (c *Config) Build(client *http.Client, clock clock.Clock) []notify.Receiver {
	out := make([]notify.Receiver, len(c.Receivers))
	for i, r := range c.Receivers {
		limit, burst := r.rateLimit()
		out[i] = notify.Receiver{
			Name:           r.Name,
			Type:           r.Type,
			SendResolved:   r.sendResolved(),
			IncludePrivate: r.IncludePrivate,
			Notifier:       r.notifier(client, clock),
			Limit:          limit,
			Burst:          burst,
			Backoff:        r.backoff(),
		}
	}
	return out
}

func (r Receiver) notifier(client *http.Client, clock clock.Clock) notify.Notifier {
	switch r.Type {
	case TypePagerDuty:
		return pagerduty.New(pagerduty.Config{RoutingKey: r.PagerDuty.RoutingKey, URL: r.PagerDuty.URL, Source: r.PagerDuty.Source}, client, clock)
	case TypeSlack:
		s := r.Slack
		return slack.New(slack.Config{WebhookURL: s.WebhookURL, BotToken: s.BotToken, Channel: s.Channel, APIURL: s.APIURL}, client, clock)
	case TypeAlertmanager:
		a := r.Alertmanager
		return alertmanager.New(alertmanager.Config{URL: a.URL, BearerToken: a.BearerToken, AlertTTL: a.AlertTTL}, client, clock)
	case TypeWebhook:
		return webhook.New(webhook.Config{URL: r.Webhook.URL, Secret: r.Webhook.Secret}, client, clock)
	default:
		e := r.Email
		return email.New(email.Config{
			Smarthost: e.Smarthost, From: e.From, To: e.To, Username: e.Username, Password: e.Password,
			RequireTLS: e.RequireTLS == nil || *e.RequireTLS,
		}, clock)
	}
}

func (r Receiver) sendResolved() bool {
	if r.SendResolved != nil {
		return *r.SendResolved
	}
	return r.Type == TypePagerDuty || r.Type == TypeAlertmanager || r.Type == TypeWebhook
}

// rateLimit is the configured limit or the receiver type's documented one.
func (r Receiver) rateLimit() (rate.Limit, int) {
	if r.RateLimit != nil {
		return rate.Limit(r.RateLimit.PerSecond), r.RateLimit.Burst
	}
	switch r.Type {
	case TypeSlack:
		return 1, 1
	case TypePagerDuty:
		return 2, 2 // 120 a minute
	case TypeWebhook:
		return 10, 10
	case TypeEmail:
		return 1, 5
	default:
		return 0, 0
	}
}

func (r Receiver) backoff() notify.Backoff {
	b := notify.DefaultBackoff()
	if rt := r.Retry; rt != nil {
		b.MaxAttempts = cmpOr(rt.MaxAttempts, b.MaxAttempts)
		b.Initial = cmpOr(rt.InitialBackoff, b.Initial)
		b.Max = cmpOr(rt.MaxBackoff, b.Max)
		b.AttemptTimeout = cmpOr(rt.AttemptTimeout, b.AttemptTimeout)
		b.MaxRetryAfter = cmpOr(rt.MaxRetryAfter, b.MaxRetryAfter)
	}
	return b
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Route names the receivers of team at level: the highest configured level
// not above it, so a chain longer than the routes keeps paging the last.
func (c *Config) Route(team string, level int32) []string {
	t, ok := c.team(team)
	if !ok {
		return nil
	}
	level = max(level, 1)
	var best *Level
	for i, l := range t.Levels {
		if l.Level <= level && (best == nil || l.Level > best.Level) {
			best = &t.Levels[i]
		}
	}
	if best == nil {
		return nil
	}
	return slices.Clone(best.Receivers)
}

// Fallback is the team's fallback receiver, "" when none.
func (c *Config) Fallback(team string) string {
	t, _ := c.team(team)
	return t.Fallback
}

// Group is the team's grouping settings.
func (c *Config) Group(team string) notify.GroupConfig {
	t, _ := c.team(team)
	return notify.GroupConfig{Wait: t.Group.GroupWait, Interval: t.Group.GroupInterval, MaxSize: t.Group.MaxSize}
}

func (c *Config) team(name string) (Team, bool) {
	if t, ok := c.Teams[name]; ok {
		return t, true
	}
	t, ok := c.Teams[c.DefaultTeam]
	return t, ok
}
