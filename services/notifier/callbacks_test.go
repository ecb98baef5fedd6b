package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// pdEvents is PagerDuty's Events API v2 as far as incidents go: it records
// each event's action and dedup key, and which keys have an open incident.
type pdEvents struct {
	mu     sync.Mutex
	events []string // "trigger c-1", "resolve c-1"
}

func (p *pdEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Action   string `json:"event_action"`
		DedupKey string `json:"dedup_key"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.DedupKey == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.events = append(p.events, ev.Action+" "+ev.DedupKey)
	p.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","dedup_key":%q}`, ev.DedupKey)
}

func (p *pdEvents) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

// pagerDutyRig runs a notifier paging a fake PagerDuty and taking its
// webhooks, signed with secret.
func pagerDutyRig(t *testing.T, secret string) (*rig, *pdEvents) {
	t.Helper()
	api := &pdEvents{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyFile := write("pd-key", strings.Repeat("k", 32))
	file := write("receivers.yaml", fmt.Sprintf(`receivers:
  - {name: pd, type: pagerduty, pagerduty: {routing_key_file: %q, url: %q}}
teams:
  senior:
    levels:
      - {level: 1, receivers: [pd]}
`, keyFile, srv.URL+"/v2/enqueue"))
	return newRig(t, 1, Config{ReceiversFile: file, PagerDutyWebhookSecretFile: write("pd-secret", secret+"\n")}), api
}

// caseEvent is an event of case c-1 in the given episode.
func caseEvent(typ fbv1.CaseEventType, episode int32, state fbv1.CaseState) *fbv1.CaseEvent {
	ev := event("c-1", fmt.Sprintf("c-1:%s:e%d", strings.ToLower(typ.String()), episode), 1)
	ev.Type, ev.Case.Episode, ev.Case.State = typ, episode, state
	return ev
}

// pdWebhook posts a PagerDuty v3 webhook about the incident with the given
// key, signed with secret, and returns the status.
func pdWebhook(t *testing.T, addr, secret, eventID, eventType, incidentKey string, at time.Time) int {
	t.Helper()
	body := fmt.Sprintf(`{"event":{"id":%q,"occurred_at":%q,"event_type":%q,"agent":{"summary":"Ana"},"data":{"id":"P1","incident_key":%q}}}`,
		eventID, at.UTC().Format(time.RFC3339), eventType, incidentKey)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/pagerduty/webhook", strings.NewReader(body))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// commands returns the case commands published so far.
func commands(t *testing.T, d *deps.Deps) []*fbv1.CaseCommand {
	t.Helper()
	cons, err := d.JS.OrderedConsumer(context.Background(), d.Names.Stream(bus.NounCommands), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*fbv1.CaseCommand
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond))
		if err != nil {
			return out
		}
		cmd := &fbv1.CaseCommand{}
		if err := proto.Unmarshal(msg.Data(), cmd); err != nil {
			t.Fatal(err)
		}
		out = append(out, cmd)
	}
}

func TestNewEpisodeIsANewIncidentAndTheLastOneIsResolved(t *testing.T) {
	r, api := pagerDutyRig(t, "s3cret")
	r.publish(caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, 0, fbv1.CaseState_CASE_STATE_OPEN), 0)
	testkit.Eventually(t, "the first page", func() bool { return len(api.got()) == 1 })
	ack := caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, 0, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED)
	ack.Actor, ack.At = "ana", timestamppb.Now()
	r.publish(ack, 0)
	testkit.Eventually(t, "the acknowledgement", func() bool { return len(api.got()) == 2 })
	// The acknowledgement expired, or a louder complaint raised the case:
	// episode 1 pages level 1 again, twice over as the bus redelivers.
	reopened := caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, 1, fbv1.CaseState_CASE_STATE_OPEN)
	r.publish(reopened, 0)
	r.publish(reopened, 1)
	testkit.Eventually(t, "the page of episode 1", func() bool { return len(api.got()) >= 4 })
	settle(t, r.bus)
	want := []string{"trigger c-1", "acknowledge c-1", "resolve c-1", "trigger c-1:e1"}
	if got := api.got(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("PagerDuty was sent %v, want %v: a new incident, the old one resolved and never triggered again", got, want)
	}
	// PagerDuty reports the old incident resolved (by Firebreak itself, or
	// by someone late): the command names episode 0, which escalation
	// ignores now that the case is in episode 1; the new incident's
	// acknowledgement names episode 1.
	addr := r.svc[0].HTTPAddr()
	if code := pdWebhook(t, addr, "s3cret", "evt-old", "incident.resolved", "c-1", time.Now()); code != http.StatusNoContent {
		t.Fatalf("webhook for the old incident: %d", code)
	}
	if code := pdWebhook(t, addr, "s3cret", "evt-new", "incident.acknowledged", "c-1:e1", time.Now()); code != http.StatusNoContent {
		t.Fatalf("webhook for the new incident: %d", code)
	}
	var got []string
	testkit.Eventually(t, "two commands", func() bool {
		got = got[:0]
		for _, c := range commands(t, r.bus) {
			if c.Episode == nil {
				got = append(got, fmt.Sprintf("%s %s (no episode)", c.Action, c.CaseId))
				continue
			}
			got = append(got, fmt.Sprintf("%s %s episode %d", c.Action, c.CaseId, c.GetEpisode()))
		}
		return len(got) == 2
	})
	want = []string{"CASE_COMMAND_ACTION_RESOLVE c-1 episode 0", "CASE_COMMAND_ACTION_ACKNOWLEDGE c-1 episode 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("commands %v, want %v", got, want)
	}
}

// fakeSlack is Slack's Web API (chat.postMessage, chat.update) and the
// response_urls of clicks, recording each call.
type fakeSlack struct {
	mu    sync.Mutex
	calls []string // "chat.postMessage C0CHAN", "chat.update C0CHAN 1.2", "response <text>"
	texts []string // the blocks' JSON of each call
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	raw, _ := json.Marshal(m)
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/chat.postMessage" && r.Header.Get("Authorization") == "Bearer xoxb-test":
		f.calls = append(f.calls, fmt.Sprintf("chat.postMessage %v", m["channel"]))
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.0001%02d"}`, m["channel"], len(f.calls))
	case r.URL.Path == "/api/chat.update" && r.Header.Get("Authorization") == "Bearer xoxb-test":
		f.calls = append(f.calls, fmt.Sprintf("chat.update %v %v", m["channel"], m["ts"]))
		fmt.Fprintf(w, `{"ok":true}`)
	case strings.HasPrefix(r.URL.Path, "/actions/"):
		f.calls = append(f.calls, fmt.Sprintf("response replace=%v %v", m["replace_original"], m["response_type"]))
		io.WriteString(w, "ok")
	default:
		io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	f.texts = append(f.texts, string(raw))
}

func (f *fakeSlack) got() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]string(nil), f.texts...)
}

const slackSigningSecret = "slack-signing-secret"

// slackRig runs a notifier that posts to a fake Slack with a bot token,
// takes its clicks, and maps U0CA5 to a responder and U0VW1 to a viewer.
func slackRig(t *testing.T) (*rig, *fakeSlack, *httptest.Server) {
	t.Helper()
	api := &fakeSlack{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	file := write("receivers.yaml", fmt.Sprintf(`link_base: https://firebreak.example
receivers:
  - {name: social, type: slack, slack: {bot_token_file: %q, channel: C0CHAN, api_url: %q}}
teams:
  senior:
    levels:
      - {level: 1, receivers: [social]}
`, write("bot", "xoxb-test"), srv.URL+"/api"))
	r := newRig(t, 1, Config{ReceiversFile: file, SlackSigningSecretFile: write("signing", slackSigningSecret),
		SlackUsersFile: write("users.yaml", "U0CA5: {user: amy@example.com, role: responder}\nU0VW1: {user: val@example.com, role: viewer}\n")})
	return r, api, srv
}

// slackPress posts a signed click on a button of the message C0CHAN/ts.
func slackPress(t *testing.T, addr, user, action, value, ts, responseURL string) (int, string) {
	t.Helper()
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":%q},"container":{"type":"message","message_ts":%q,"channel_id":"C0CHAN"},`+
		`"response_url":%q,"actions":[{"action_id":%q,"value":%q,"type":"button"}]}`, user, ts, responseURL, action, value)
	body := "payload=" + url.QueryEscape(payload)
	stamp := fmt.Sprint(time.Now().Unix())
	mac := hmac.New(sha256.New, []byte(slackSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/slack/interactions", strings.NewReader(body))
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// taken is the case event escalation publishes once someone acted.
func taken(typ fbv1.CaseEventType, state fbv1.CaseState, actor, auth, via string) *fbv1.CaseEvent {
	ev := caseEvent(typ, 0, state)
	ev.Id += ":" + actor
	ev.Actor, ev.AuthMethod, ev.Via, ev.At = actor, auth, via, timestamppb.Now()
	ev.Case.UpdatedAt = ev.At
	if typ == fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED {
		ev.Case.SnoozedUntil = timestamppb.New(time.Now().Add(time.Hour))
	}
	return ev
}

func TestSlackMessageIsUpdatedAfterAConsoleAck(t *testing.T) {
	r, api, _ := slackRig(t)
	r.publish(caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, 0, fbv1.CaseState_CASE_STATE_OPEN), 0)
	testkit.Eventually(t, "the message posted", func() bool { calls, _ := api.got(); return len(calls) == 1 })
	_, texts := api.got()
	for _, button := range []string{`"text":"Acknowledge"`, `"text":"Snooze 1h"`, `"text":"Resolve"`, `"value":"c-1:e0"`} {
		if !strings.Contains(texts[0], button) {
			t.Errorf("message lacks %s:\n%s", button, texts[0])
		}
	}
	// Ana acknowledges in the console (signed in with OIDC).
	r.publish(taken(fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED, "ana", "oidc", ""), 0)
	testkit.Eventually(t, "the message updated", func() bool { calls, _ := api.got(); return len(calls) == 2 })
	calls, texts := api.got()
	if want := []string{"chat.postMessage C0CHAN", "chat.update C0CHAN 1700000000.000101"}; strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Fatalf("Slack calls %v, want %v", calls, want)
	}
	if !strings.Contains(texts[1], "*Acknowledged* by ana (oidc)") || strings.Contains(texts[1], `"text":"Acknowledge"`) {
		t.Fatalf("updated message does not say who took it, or still offers Acknowledge:\n%s", texts[1])
	}
}

func TestSlackClicksActAsTheMappedUserAndViewersAreRefused(t *testing.T) {
	r, api, srv := slackRig(t)
	r.publish(caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, 0, fbv1.CaseState_CASE_STATE_OPEN), 0)
	testkit.Eventually(t, "the message posted", func() bool { calls, _ := api.got(); return len(calls) == 1 })
	addr, respond := r.svc[0].HTTPAddr(), srv.URL+"/actions/T0/1/secret"

	// A viewer and someone unknown are told why, privately; nothing is sent.
	for _, c := range []struct{ user, says string }{
		{"U0VW1", "with the viewer role"},
		{"U0STRANGER", "is not linked to a Firebreak user"},
	} {
		if code, body := slackPress(t, addr, c.user, "firebreak_resolve", "c-1:e0", "1700000000.000101", respond); code != http.StatusOK || !strings.Contains(body, c.says) {
			t.Fatalf("%s: %d %q, want 200 saying %q", c.user, code, body, c.says)
		}
	}
	if cmds := commands(t, r.bus); len(cmds) != 0 {
		t.Fatalf("commands %v from users who may not act", cmds)
	}
	// Amy, a responder, snoozes the case for an hour.
	if code, body := slackPress(t, addr, "U0CA5", "firebreak_snooze_1h", "c-1:e0", "1700000000.000101", respond); code != http.StatusOK {
		t.Fatalf("snooze: %d %s", code, body)
	}
	var cmds []*fbv1.CaseCommand
	testkit.Eventually(t, "the snooze command", func() bool { cmds = commands(t, r.bus); return len(cmds) == 1 })
	c := cmds[0]
	if c.Action != fbv1.CaseCommandAction_CASE_COMMAND_ACTION_SNOOZE || c.SnoozeSeconds != 3600 || c.Actor != "amy@example.com" ||
		c.Via != "slack:U0CA5" || c.Source != "slack" || c.GetEpisode() != 0 || c.Episode == nil || c.CaseId != "c-1" {
		t.Fatalf("command %v, want a 1h snooze of c-1 episode 0 by amy@example.com via slack:U0CA5", c)
	}
	// Escalation applies it; the clicked message is replaced through the
	// click's response_url, not chat.update.
	r.publish(taken(fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED, fbv1.CaseState_CASE_STATE_OPEN, "amy@example.com", "slack", "slack:U0CA5"), 0)
	testkit.Eventually(t, "the message replaced", func() bool { calls, _ := api.got(); return len(calls) == 4 })
	settle(t, r.bus)
	calls, texts := api.got()
	want := []string{"chat.postMessage C0CHAN", "response replace=<nil> ephemeral", "response replace=<nil> ephemeral", "response replace=true <nil>"}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Fatalf("Slack calls %v, want %v", calls, want)
	}
	if last := texts[3]; !strings.Contains(last, "*Snoozed* by amy@example.com (slack:U0CA5) until") || strings.Contains(last, "Snooze 1h") {
		t.Fatalf("replaced message does not say who snoozed it, or still offers Snooze:\n%s", last)
	}
}

func TestSlackMessageIsNotRolledBackByAnOlderEventHandledLate(t *testing.T) {
	r, api, _ := slackRig(t)
	r.publish(caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, 0, fbv1.CaseState_CASE_STATE_OPEN), 0)
	testkit.Eventually(t, "the message posted", func() bool { calls, _ := api.got(); return len(calls) == 1 })
	ack := taken(fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED, "ana", "oidc", "")
	resolved := taken(fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED, fbv1.CaseState_CASE_STATE_RESOLVED, "ben", "api-key", "")
	resolved.Case.UpdatedAt = timestamppb.New(ack.Case.UpdatedAt.AsTime().Add(time.Minute))
	// The resolution is handled first, the acknowledgement before it late.
	r.publish(resolved, 0)
	testkit.Eventually(t, "the message updated", func() bool { calls, _ := api.got(); return len(calls) == 2 })
	r.publish(ack, 0)
	settle(t, r.bus)
	calls, texts := api.got()
	if len(calls) != 2 || !strings.Contains(texts[1], "*Resolved* by ben (api-key)") {
		t.Fatalf("Slack calls %v; want the message left showing the resolution:\n%s", calls, texts[len(texts)-1])
	}
}

// An acknowledgement handled while the page was still being posted finds
// no message to update; the page, once posted, sees the case was taken and
// updates its own message.
func TestSlackMessagePostedAfterTheCaseWasTakenShowsWhoTookIt(t *testing.T) {
	r, api, _ := slackRig(t)
	opened := caseEvent(fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, 0, fbv1.CaseState_CASE_STATE_OPEN)
	ack := taken(fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED, "ana", "oidc", "")
	opened.Case.UpdatedAt = timestamppb.New(ack.Case.UpdatedAt.AsTime().Add(-time.Minute))
	r.publish(ack, 0)
	settle(t, r.bus)
	if calls, _ := api.got(); len(calls) != 0 {
		t.Fatalf("Slack calls %v before any message was posted", calls)
	}
	r.publish(opened, 0)
	testkit.Eventually(t, "the message posted and updated", func() bool { calls, _ := api.got(); return len(calls) == 2 })
	calls, texts := api.got()
	if want := []string{"chat.postMessage C0CHAN", "chat.update C0CHAN 1700000000.000101"}; strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Fatalf("Slack calls %v, want %v", calls, want)
	}
	if !strings.Contains(texts[1], "*Acknowledged* by ana (oidc)") {
		t.Fatalf("the posted message was not updated to say who took the case:\n%s", texts[1])
	}
}
