package receivers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/firebreak/firebreak/services/notifier/notify"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with the configuration: the field, using the
// YAML names, and what to do about it.
type Problem struct {
	Field   string
	Message string
}

// ValidationError lists every problem found, so one run shows them all.
type ValidationError struct {
	Path     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "receivers config %s has %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Field, p.Message)
	}
	return b.String()
}

// Load reads, validates and resolves the secrets of the file at path. A
// *ValidationError lists every problem found.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read receivers config: %w; set the path to a readable YAML file", err)
	}
	return Parse(path, raw, os.Getenv)
}

// Parse is Load for bytes already read; getenv reads the environment, so
// tests need not change the process's.
func Parse(path string, raw []byte, getenv func(string) string) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Path: path, Problems: []Problem{{Field: "(file)", Message: err.Error() + "; fix the YAML (unknown fields are refused to catch typos)"}}}
	}
	v := &validator{getenv: getenv}
	v.config(&cfg)
	if len(v.problems) > 0 {
		return nil, &ValidationError{Path: path, Problems: v.problems}
	}
	return &cfg, nil
}

type validator struct {
	getenv   func(string) string
	problems []Problem
}

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) config(c *Config) {
	if c.LinkBase != "" {
		v.url("link_base", c.LinkBase)
	}
	if len(c.Receivers) == 0 {
		v.add("receivers", "none configured; add at least one receiver")
	}
	names := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		field := fmt.Sprintf("receivers[%d]", i)
		if r.Name == "" {
			v.add(field+".name", "missing; give every receiver a unique name")
		} else if names[r.Name] {
			v.add(field+".name", "%q is used twice; names must be unique", r.Name)
		}
		names[r.Name] = true
		v.receiver(field, r)
	}
	if len(c.Teams) == 0 {
		v.add("teams", "none configured; route at least one team to receivers")
	}
	for _, name := range sortedKeys(c.Teams) {
		v.team("teams."+name, c.Teams[name], names)
	}
	if c.DefaultTeam != "" {
		if _, ok := c.Teams[c.DefaultTeam]; !ok {
			v.add("default_team", "%q is not under teams; add it or name a configured team", c.DefaultTeam)
		}
	}
}

func (v *validator) team(field string, t Team, names map[string]bool) {
	if len(t.Levels) == 0 {
		v.add(field+".levels", "none; give level 1 at least one receiver")
	}
	seen := map[int32]bool{}
	for i, l := range t.Levels {
		f := fmt.Sprintf("%s.levels[%d]", field, i)
		if l.Level < 1 {
			v.add(f+".level", "%d; levels start at 1", l.Level)
		}
		if seen[l.Level] {
			v.add(f+".level", "%d appears twice; merge the receivers into one entry", l.Level)
		}
		seen[l.Level] = true
		if len(l.Receivers) == 0 {
			v.add(f+".receivers", "empty; name at least one receiver")
		}
		for _, r := range l.Receivers {
			if !names[r] {
				v.add(f+".receivers", "%q is not a configured receiver; add it under receivers or fix the name", r)
			}
		}
	}
	if t.Fallback != "" && !names[t.Fallback] {
		v.add(field+".fallback", "%q is not a configured receiver; add it under receivers or fix the name", t.Fallback)
	}
	if t.Group.GroupWait < 0 || t.Group.GroupInterval < 0 || t.Group.MaxSize < 0 {
		v.add(field+".group", "negative values; use 0 to turn a setting off")
	}
	if t.Group.GroupWait > 0 && t.Group.GroupInterval == 0 {
		v.add(field+".group.group_interval", "0 turns grouping off, so group_wait has no effect; set group_interval (e.g. 1m)")
	}
}

func (v *validator) receiver(field string, r *Receiver) {
	blocks := map[string]bool{
		TypePagerDuty: r.PagerDuty != nil, TypeSlack: r.Slack != nil, TypeAlertmanager: r.Alertmanager != nil,
		TypeWebhook: r.Webhook != nil, TypeEmail: r.Email != nil,
	}
	if _, ok := blocks[r.Type]; !ok {
		v.add(field+".type", "%q is not a receiver type; use one of pagerduty, slack, alertmanager, webhook, email", r.Type)
		return
	}
	for typ, set := range blocks {
		if set && typ != r.Type {
			v.add(field+"."+typ, "set on a receiver of type %s; remove it or change the type", r.Type)
		}
	}
	if !blocks[r.Type] {
		v.add(field+"."+r.Type, "missing; a %s receiver needs its %s block", r.Type, r.Type)
		return
	}
	if rl := r.RateLimit; rl != nil && (rl.PerSecond < 0 || rl.Burst < 0 || (rl.PerSecond > 0 && rl.Burst == 0)) {
		v.add(field+".rate_limit", "per_second %v, burst %d; both must be positive (omit rate_limit for the default)", rl.PerSecond, rl.Burst)
	}
	if rt := r.Retry; rt != nil && rt.MaxAttempts < 0 {
		v.add(field+".retry.max_attempts", "%d; use 1 for no retries", rt.MaxAttempts)
	}
	v.settings(field+"."+r.Type, r)
}

func (v *validator) settings(field string, r *Receiver) {
	switch r.Type {
	case TypePagerDuty:
		p := r.PagerDuty
		p.RoutingKey = v.secret(field+".routing_key", p.RoutingKeyFile, p.RoutingKeyEnv)
		if p.RoutingKey != "" && len(p.RoutingKey) != 32 {
			v.add(field+".routing_key", "is %d characters, PagerDuty's are 32; copy the Events API v2 integration key", len(p.RoutingKey))
		}
		if p.URL != "" {
			v.url(field+".url", p.URL)
		}
	case TypeSlack:
		s := r.Slack
		bot := s.BotTokenFile != "" || s.BotTokenEnv != ""
		if bot {
			if s.WebhookURLFile != "" || s.WebhookURLEnv != "" {
				v.add(field+".bot_token_file", "set with webhook_url; keep one: a bot token (updatable messages) or an incoming webhook")
			}
			s.BotToken = v.secret(field+".bot_token", s.BotTokenFile, s.BotTokenEnv)
			if s.Channel == "" {
				v.add(field+".channel", "missing; a bot posts to a channel: set its id (C0123ABCD), and invite the app to it")
			}
			if s.APIURL != "" {
				v.url(field+".api_url", s.APIURL)
			}
			return
		}
		if s.Channel != "" {
			v.add(field+".channel", "set without bot_token_file; an incoming webhook posts to its own channel, so remove channel or use a bot token")
		}
		s.WebhookURL = v.secret(field+".webhook_url", s.WebhookURLFile, s.WebhookURLEnv)
		if s.WebhookURL != "" {
			// Not v.url: its message would quote the secret URL.
			if u, err := url.Parse(string(s.WebhookURL)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.add(field+".webhook_url", "is not an http(s) URL; paste the whole https://hooks.slack.com/services/... URL")
			}
		}
	case TypeAlertmanager:
		a := r.Alertmanager
		v.url(field+".url", a.URL)
		a.BearerToken = v.optionalSecret(field+".bearer_token", a.BearerTokenFile, a.BearerTokenEnv)
	case TypeWebhook:
		w := r.Webhook
		v.url(field+".url", w.URL)
		w.Secret = v.optionalSecret(field+".secret", w.SecretFile, w.SecretEnv)
	case TypeEmail:
		v.email(field, r.Email)
	}
}

func (v *validator) email(field string, e *Email) {
	if !strings.Contains(e.Smarthost, ":") {
		v.add(field+".smarthost", "%q lacks a port; use host:port, e.g. smtp.example.com:587", e.Smarthost)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		v.add(field+".from", "%q is not an address (%v); use e.g. firebreak@example.com", e.From, err)
	}
	if len(e.To) == 0 {
		v.add(field+".to", "empty; list at least one recipient")
	}
	for _, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			v.add(field+".to", "%q is not an address (%v)", to, err)
		}
	}
	e.Password = v.optionalSecret(field+".password", e.PasswordFile, e.PasswordEnv)
	if e.Username != "" && e.Password == "" {
		v.add(field+".password_file", "username is set but no password; set password_file or password_env")
	}
}

func (v *validator) url(field, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(field, "%q is not an http(s) URL; use e.g. https://host:port", raw)
	}
}

// secret reads a required secret from a file or an environment variable.
func (v *validator) secret(field, file, env string) notify.Secret {
	if file == "" && env == "" {
		name := short(field)
		v.add(field+"_file", "missing; set %s_file to a mounted secret file or %s_env to an environment variable", name, name)
		return ""
	}
	return v.optionalSecret(field, file, env)
}

func (v *validator) optionalSecret(field, file, env string) notify.Secret {
	switch {
	case file != "" && env != "":
		v.add(field+"_file", "both %s_file and %s_env are set; keep one", short(field), short(field))
	case file != "":
		raw, err := os.ReadFile(file)
		if err != nil {
			v.add(field+"_file", "cannot be read: %v; mount the secret there or fix the path", err)
			return ""
		}
		if s := strings.TrimSpace(string(raw)); s != "" {
			return notify.Secret(s)
		}
		v.add(field+"_file", "%s is empty; write the secret into it", file)
	case env != "":
		if s := strings.TrimSpace(v.getenv(env)); s != "" {
			return notify.Secret(s)
		}
		v.add(field+"_env", "environment variable %s is unset or empty; export it", env)
	}
	return ""
}

// short is the last element of a field path: routing_key for
// receivers[0].pagerduty.routing_key.
func short(field string) string {
	return field[strings.LastIndex(field, ".")+1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
