// Package receivers reads the notifier's receiver configuration from YAML:
// the receivers and their secrets, routing by team and escalation level,
// fallback receivers, grouping and rate limits. It validates all of it
// at once and builds the notify pipeline from it.
package receivers

import (
	"time"

	"github.com/firebreak/firebreak/services/notifier/notify"
)

// Receiver types.
const (
	TypePagerDuty    = "pagerduty"
	TypeSlack        = "slack"
	TypeAlertmanager = "alertmanager"
	TypeWebhook      = "webhook"
	TypeEmail        = "email"
)

// Config is the whole file. Secrets are read from files (*_file) or the
// environment (*_env), never from the file itself, and land in
// notify.Secret fields that print as "<redacted>", so a loaded Config can
// be logged.
type Config struct {
	// LinkBase is the console's URL; pages link to LinkBase/cases/<id>.
	LinkBase  string          `yaml:"link_base" json:"link_base"`
	Receivers []Receiver      `yaml:"receivers" json:"receivers"`
	Teams     map[string]Team `yaml:"teams" json:"teams"`
	// DefaultTeam routes cases whose team has no entry in Teams.
	DefaultTeam string `yaml:"default_team" json:"default_team"`
}

// Receiver is one destination. Exactly the block named by Type is set.
type Receiver struct {
	Name string `yaml:"name" json:"name"`
	Type string `yaml:"type" json:"type"`
	// SendResolved tells the receiver of acknowledgements and resolutions
	// too; it defaults to true for pagerduty, alertmanager and webhook.
	SendResolved *bool      `yaml:"send_resolved" json:"send_resolved"`
	RateLimit    *RateLimit `yaml:"rate_limit" json:"rate_limit"`
	// IncludePrivate lets the receiver carry the texts of private messages
	// (the author's and the brand's); by default they are left out.
	IncludePrivate bool   `yaml:"include_private" json:"include_private"`
	Retry          *Retry `yaml:"retry" json:"retry"`

	PagerDuty    *PagerDuty    `yaml:"pagerduty" json:"pagerduty,omitempty"`
	Slack        *Slack        `yaml:"slack" json:"slack,omitempty"`
	Alertmanager *Alertmanager `yaml:"alertmanager" json:"alertmanager,omitempty"`
	Webhook      *Webhook      `yaml:"webhook" json:"webhook,omitempty"`
	Email        *Email        `yaml:"email" json:"email,omitempty"`
}

// RateLimit bounds sends to one receiver. Defaults follow the receivers'
// documented limits: Slack about 1 message a second per webhook, PagerDuty
// 120 events a minute per routing key.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second" json:"per_second"`
	Burst     int     `yaml:"burst" json:"burst"`
}

// Retry overrides notify.DefaultBackoff field by field.
type Retry struct {
	MaxAttempts    int           `yaml:"max_attempts" json:"max_attempts"`
	InitialBackoff time.Duration `yaml:"initial_backoff" json:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff" json:"max_backoff"`
	AttemptTimeout time.Duration `yaml:"attempt_timeout" json:"attempt_timeout"`
	MaxRetryAfter  time.Duration `yaml:"max_retry_after" json:"max_retry_after"`
}

// PagerDuty is an Events API v2 integration.
type PagerDuty struct {
	RoutingKeyFile string        `yaml:"routing_key_file" json:"routing_key_file,omitempty"`
	RoutingKeyEnv  string        `yaml:"routing_key_env" json:"routing_key_env,omitempty"`
	URL            string        `yaml:"url" json:"url,omitempty"`
	Source         string        `yaml:"source" json:"source,omitempty"`
	RoutingKey     notify.Secret `yaml:"-" json:"routing_key"`
}

// Slack is an incoming webhook (its URL is a secret), or a bot token and
// a channel: a bot posts with chat.postMessage, so the message can be
// updated (chat.update) to show who took the case from anywhere; a
// webhook's message can be updated only through a Slack click's
// response_url.
type Slack struct {
	WebhookURLFile string        `yaml:"webhook_url_file" json:"webhook_url_file,omitempty"`
	WebhookURLEnv  string        `yaml:"webhook_url_env" json:"webhook_url_env,omitempty"`
	WebhookURL     notify.Secret `yaml:"-" json:"webhook_url"`
	BotTokenFile   string        `yaml:"bot_token_file" json:"bot_token_file,omitempty"`
	BotTokenEnv    string        `yaml:"bot_token_env" json:"bot_token_env,omitempty"`
	BotToken       notify.Secret `yaml:"-" json:"bot_token"`
	// Channel is the channel id (C0123ABCD) a bot posts to.
	Channel string `yaml:"channel" json:"channel,omitempty"`
	// APIURL overrides https://slack.com/api (a test server).
	APIURL string `yaml:"api_url" json:"api_url,omitempty"`
}

// Alertmanager is an Alertmanager's base URL.
type Alertmanager struct {
	URL             string        `yaml:"url" json:"url"`
	AlertTTL        time.Duration `yaml:"alert_ttl" json:"alert_ttl"`
	BearerTokenFile string        `yaml:"bearer_token_file" json:"bearer_token_file,omitempty"`
	BearerTokenEnv  string        `yaml:"bearer_token_env" json:"bearer_token_env,omitempty"`
	BearerToken     notify.Secret `yaml:"-" json:"bearer_token"`
}

// Webhook is a generic signed JSON endpoint.
type Webhook struct {
	URL        string        `yaml:"url" json:"url"`
	SecretFile string        `yaml:"secret_file" json:"secret_file,omitempty"`
	SecretEnv  string        `yaml:"secret_env" json:"secret_env,omitempty"`
	Secret     notify.Secret `yaml:"-" json:"secret"`
}

// Email is an SMTP relay and recipients.
type Email struct {
	Smarthost string   `yaml:"smarthost" json:"smarthost"`
	From      string   `yaml:"from" json:"from"`
	To        []string `yaml:"to" json:"to"`
	Username  string   `yaml:"username" json:"username,omitempty"`
	// RequireTLS defaults to true: credentials and pages about named
	// people do not cross the network in clear.
	RequireTLS   *bool         `yaml:"require_tls" json:"require_tls"`
	PasswordFile string        `yaml:"password_file" json:"password_file,omitempty"`
	PasswordEnv  string        `yaml:"password_env" json:"password_env,omitempty"`
	Password     notify.Secret `yaml:"-" json:"password"`
}

// Team routes one team's cases.
type Team struct {
	// Levels name the receivers per escalation level; a case beyond the
	// last level keeps paging the last level's receivers.
	Levels []Level `yaml:"levels" json:"levels"`
	// Fallback is tried when a receiver fails after its last attempt.
	Fallback string `yaml:"fallback" json:"fallback,omitempty"`
	// Group is the team's grouping.
	Group Group `yaml:"group" json:"group"`
}

// Level is one escalation level's receivers.
type Level struct {
	Level     int32    `yaml:"level" json:"level"`
	Receivers []string `yaml:"receivers" json:"receivers"`
}

// Group is notify.GroupConfig in YAML.
type Group struct {
	GroupWait     time.Duration `yaml:"group_wait" json:"group_wait"`
	GroupInterval time.Duration `yaml:"group_interval" json:"group_interval"`
	MaxSize       int           `yaml:"max_size" json:"max_size"`
}
