package receivers_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/notifier/receivers"
	"go.yaml.in/yaml/v3"
)

const example = `
link_base: https://firebreak.example
default_team: standard
receivers:
  - name: senior-pager
    type: pagerduty
    pagerduty:
      routing_key_file: %DIR%/pd-key
  - name: senior-slack
    type: slack
    slack:
      webhook_url_env: SLACK_URL
  - name: am
    type: alertmanager
    alertmanager:
      url: http://alertmanager:9093
  - name: hook
    type: webhook
    rate_limit: {per_second: 50, burst: 20}
    retry: {max_attempts: 3, initial_backoff: 200ms}
    webhook:
      url: https://hooks.example/firebreak
      secret_env: HOOK_SECRET
  - name: ops-mail
    type: email
    email:
      smarthost: smtp.example:587
      from: firebreak@acme.example
      to: [ops@acme.example]
      username: firebreak
      password_file: %DIR%/smtp-pass
teams:
  senior:
    levels:
      - level: 1
        receivers: [senior-slack, hook]
      - level: 2
        receivers: [senior-pager, senior-slack]
    fallback: ops-mail
    group: {group_interval: 1m, max_size: 20}
  standard:
    levels:
      - level: 1
        receivers: [am]
`

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func load(t *testing.T) *receivers.Config {
	dir := t.TempDir()
	write(t, dir, "pd-key", "R0UT1NGK3Y0000000000000000000001\n")
	write(t, dir, "smtp-pass", "smtp-hunter2")
	raw := strings.ReplaceAll(example, "%DIR%", dir)
	cfg, err := receivers.Parse("example.yaml", []byte(raw), env(map[string]string{
		"SLACK_URL": "https://hooks.slack.com/services/T0/B0/SLACKSECRET", "HOOK_SECRET": "hook-hunter2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestExampleLoadsWithSecretsFromFilesAndEnvironment(t *testing.T) {
	cfg := load(t)
	if got := string(cfg.Receivers[0].PagerDuty.RoutingKey); got != "R0UT1NGK3Y0000000000000000000001" {
		t.Errorf("routing key %q, want the file's contents without the newline", got)
	}
	if got := string(cfg.Receivers[1].Slack.WebhookURL); !strings.HasSuffix(got, "SLACKSECRET") {
		t.Errorf("Slack URL %q, want it from SLACK_URL", got)
	}
	built := cfg.Build(nil, nil)
	if built[3].Backoff.MaxAttempts != 3 || built[3].Backoff.Initial != 200*time.Millisecond || built[3].Limit != 50 {
		t.Errorf("webhook receiver %+v, want retry and rate limit overrides", built[3])
	}
	if built[1].Limit != 1 || built[0].Limit != 2 || built[1].SendResolved || !built[0].SendResolved {
		t.Errorf("defaults: slack %v/%v, pagerduty %v/%v; want 1/s not resolved, 2/s resolved", built[1].Limit, built[1].SendResolved, built[0].Limit, built[0].SendResolved)
	}
	if g := cfg.Group("senior"); g.Interval != time.Minute || g.MaxSize != 20 {
		t.Errorf("group %+v", g)
	}
}

func TestRoutesByTeamAndLevel(t *testing.T) {
	cfg := load(t)
	tests := []struct {
		team  string
		level int32
		want  []string
	}{
		{"senior", 1, []string{"senior-slack", "hook"}},
		{"senior", 2, []string{"senior-pager", "senior-slack"}},
		{"senior", 5, []string{"senior-pager", "senior-slack"}},
		{"senior", 0, []string{"senior-slack", "hook"}},
		{"unknown", 1, []string{"am"}},
	}
	for _, tt := range tests {
		if got := cfg.Route(tt.team, tt.level); !slices.Equal(got, tt.want) {
			t.Errorf("Route(%s, %d) = %v, want %v", tt.team, tt.level, got, tt.want)
		}
	}
	if cfg.Fallback("senior") != "ops-mail" || cfg.Fallback("standard") != "" {
		t.Errorf("fallbacks %q %q", cfg.Fallback("senior"), cfg.Fallback("standard"))
	}
}

func TestEffectiveConfigNeverShowsSecrets(t *testing.T) {
	cfg := load(t)
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	for _, out := range []string{string(j), string(y)} {
		for _, secret := range []string{"R0UT1NGK3Y", "SLACKSECRET", "hook-hunter2", "smtp-hunter2"} {
			if strings.Contains(out, secret) {
				t.Fatalf("%s leaked in\n%s", secret, out)
			}
		}
	}
	if !strings.Contains(string(j), `"routing_key":"\u003credacted\u003e"`) {
		t.Fatalf("JSON does not show the secret as redacted:\n%s", j)
	}
}

func TestLoadReportsEveryProblemWithItsFix(t *testing.T) {
	bad := `
receivers:
  - name: pd
    type: pagerduty
    pagerduty: {routing_key_env: PD_KEY}
  - name: pd
    type: slak
  - name: mail
    type: email
    email: {smarthost: smtp.example, from: "not an address", to: []}
  - name: am
    type: alertmanager
    webhook: {url: "https://x"}
    alertmanager: {url: "alertmanager:9093"}
teams:
  senior:
    levels:
      - level: 1
        receivers: [pd, pagr]
    fallback: nobody
`
	_, err := receivers.Parse("bad.yaml", []byte(bad), env(nil))
	var ve *receivers.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	want := []string{
		"receivers[0].pagerduty.routing_key_env: environment variable PD_KEY is unset or empty; export it",
		`receivers[1].name: "pd" is used twice`,
		`receivers[1].type: "slak" is not a receiver type; use one of pagerduty, slack, alertmanager, webhook, email`,
		`receivers[2].email.smarthost: "smtp.example" lacks a port`,
		`receivers[2].email.from: "not an address" is not an address`,
		"receivers[2].email.to: empty; list at least one recipient",
		"receivers[3].webhook: set on a receiver of type alertmanager; remove it or change the type",
		`receivers[3].alertmanager.url: "alertmanager:9093" is not an http(s) URL`,
		`teams.senior.levels[0].receivers: "pagr" is not a configured receiver`,
		`teams.senior.fallback: "nobody" is not a configured receiver`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q\n%s", w, msg)
		}
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ve.Problems), len(want), msg)
	}
}

func TestUnknownFieldIsRefused(t *testing.T) {
	_, err := receivers.Parse("typo.yaml", []byte("receiver: []\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "field receiver not found") {
		t.Fatalf("err = %v, want the unknown field named", err)
	}
}

func TestLoadMissingFileSaysWhatToDo(t *testing.T) {
	_, err := receivers.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "set the path") {
		t.Fatalf("err = %v", err)
	}
}

func TestSlackBotNeedsAChannelAndOneWayToPost(t *testing.T) {
	bad := `
receivers:
  - {name: a, type: slack, slack: {bot_token_env: BOT}}
  - {name: b, type: slack, slack: {bot_token_env: BOT, webhook_url_env: HOOK, channel: C1}}
  - {name: c, type: slack, slack: {webhook_url_env: HOOK, channel: C1}}
  - {name: ok, type: slack, slack: {bot_token_env: BOT, channel: C0CHAN, api_url: "http://127.0.0.1:1/api"}}
teams:
  senior: {levels: [{level: 1, receivers: [ok]}]}
`
	_, err := receivers.Parse("slack.yaml", []byte(bad), env(map[string]string{"BOT": "xoxb-1", "HOOK": "https://hooks.slack.com/services/T/B/x"}))
	var ve *receivers.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	want := []string{
		"receivers[0].slack.channel: missing; a bot posts to a channel",
		"receivers[1].slack.bot_token_file: set with webhook_url; keep one",
		"receivers[2].slack.channel: set without bot_token_file",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q\n%s", w, err)
		}
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ve.Problems), len(want), err)
	}
}

func TestSlackUsersFileIsCheckedWhole(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "users.yaml", "U0CA5: {user: amy@example.com, role: responder}\nW0ADM: {user: root@example.com, role: admin}\n")
	users, err := receivers.LoadSlackUsers(good)
	if err != nil || users["U0CA5"].Name != "amy@example.com" || users["W0ADM"].Role != "admin" || len(users) != 2 {
		t.Fatalf("users %v, %v", users, err)
	}
	bad := write(t, dir, "bad.yaml", "amy: {user: amy@example.com, role: responder}\nU0VW1: {user: val@example.com, role: owner}\nU0NON: {role: viewer}\n")
	_, err = receivers.LoadSlackUsers(bad)
	for _, w := range []string{
		"amy: is not a Slack user id",
		`U0VW1.role: "owner" is not a role; use viewer, responder or admin`,
		"U0NON.user: missing",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if _, err := receivers.LoadSlackUsers(write(t, dir, "typo.yaml", "U0CA5: {usr: amy}\n")); err == nil || !strings.Contains(err.Error(), "field usr not found") {
		t.Errorf("typo: %v", err)
	}
}
