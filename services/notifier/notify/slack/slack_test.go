package slack_test

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
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// incomingWebhook answers as Slack documents: 200 "ok", 400
// "invalid_payload" for a body without text or blocks, 404
// "no_service" for an unknown hook.
func incomingWebhook(t *testing.T, got *[]map[string]any) *httptest.Server {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/T000/B000/XXXX" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no_service")
			return
		}
		var msg map[string]any
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || (msg["text"] == nil && msg["blocks"] == nil) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_payload")
			return
		}
		mu.Lock()
		*got = append(*got, msg)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMessageOffersAcknowledgeSnoozeAndResolve(t *testing.T) {
	var got []map[string]any
	srv := incomingWebhook(t, &got)
	n := slack.New(slack.Config{WebhookURL: notify.Secret(srv.URL + "/services/T000/B000/XXXX")}, srv.Client(), clocktest.New(t0))
	ev := notifytest.Opened("case-1", "senior", t0)
	if _, err := n.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{ev}, LinkBase: "https://firebreak.example"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got[0])
	body := string(raw)
	for _, want := range []string{
		`"type":"header"`,
		`*Author*\n@frequentflyer (Sam Doe), verified`,
		`*Reach*\n332,000 followers, 1.6x the brand's 203,000 (rival)`,
		`*Why*\n• author has 332,000 followers`,
		// Complaint text is quoted and escaped so it cannot forge links.
		`\u003e Second time asking: \u0026lt;when\u0026gt; will it be fixed?`,
		`{"action_id":"firebreak_acknowledge","style":"primary","text":{"emoji":true,"text":"Acknowledge","type":"plain_text"},"type":"button","value":"case-1:e0"}`,
		`{"action_id":"firebreak_snooze_1h","text":{"emoji":true,"text":"Snooze 1h","type":"plain_text"},"type":"button","value":"case-1:e0"}`,
		`{"action_id":"firebreak_resolve","style":"danger","text":{"emoji":true,"text":"Resolve","type":"plain_text"},"type":"button","value":"case-1:e0"}`,
		`"url":"https://firebreak.example/cases/case-1"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %s\n%s", want, body)
		}
	}
}

func TestAcknowledgementMessageLinksToTheCase(t *testing.T) {
	var got []map[string]any
	srv := incomingWebhook(t, &got)
	n := slack.New(slack.Config{WebhookURL: notify.Secret(srv.URL + "/services/T000/B000/XXXX")}, srv.Client(), clocktest.New(t0))
	ev := notifytest.Acknowledged(notifytest.Opened("case-1", "senior", t0), "amy", t0.Add(time.Minute))
	if _, err := n.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{ev}, LinkBase: "https://firebreak.example"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got[0])
	if !strings.Contains(string(raw), "acknowledged by amy") || !strings.Contains(string(raw), `\u003chttps://firebreak.example/cases/case-1|Open case\u003e`) {
		t.Fatalf("acknowledgement lacks who or the link:\n%s", raw)
	}
}

func TestUnknownWebhookIsPermanentAndHidesTheURL(t *testing.T) {
	var got []map[string]any
	srv := incomingWebhook(t, &got)
	n := slack.New(slack.Config{WebhookURL: notify.Secret(srv.URL + "/services/T000/B000/WRONG")}, srv.Client(), clocktest.New(t0))
	ev := notifytest.Opened("case-1", "senior", t0)
	retry, err := n.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{ev}})
	if retry || notify.ReasonOf(err) != notify.ReasonClientError || strings.Contains(err.Error(), "WRONG") {
		t.Fatalf("retry=%v err=%v; want a permanent client_error without the secret path", retry, err)
	}
}

type clicker struct {
	mu    sync.Mutex
	calls []string
}

func (c *clicker) Click(_ context.Context, k slack.Click) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, fmt.Sprintf("%s %s by %s (%s) slack:%s", k.Action, k.Ref, k.User.Name, k.User.Role, k.SlackUser))
	return nil
}

func (c *clicker) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

var users = slack.Users{
	"U0CA5": {Name: "amy@example.com", Role: "responder"},
	"U0VW1": {Name: "val@example.com", Role: "viewer"},
}

// press posts a block_actions payload for one button, by a Slack user,
// signed as Slack signs it.
func press(t *testing.T, srv *httptest.Server, secret string, ts time.Time, user, action, value, responseURL string) (int, string) {
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":%q,"username":"someone","team_id":"T3MDE"},`+
		`"container":{"type":"message","message_ts":"1700000000.000100","channel_id":"C0CHAN"},"response_url":%q,`+
		`"actions":[{"action_id":%q,"block_id":"b1","value":%q,"type":"button","action_ts":"1"}]}`, user, responseURL, action, value)
	body := url.Values{"payload": {payload}}.Encode()
	stamp := fmt.Sprint(ts.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func click(t *testing.T, srv *httptest.Server, secret string, ts time.Time) int {
	code, _ := press(t, srv, secret, ts, "U0CA5", slack.AckActionID, "case-1:e0", "")
	return code
}

// memoryEvents is slack.Events in memory, as one replica would see Redis.
type memoryEvents struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *memoryEvents) Claim(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	first := !m.seen[id]
	m.seen[id] = true
	return first, nil
}

func (m *memoryEvents) Release(_ context.Context, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, id)
}

func handler(secret string, c slack.Commander, now time.Time, hosts ...string) http.Handler {
	return slack.InteractionHandler(slack.Options{SigningSecret: notify.Secret(secret), Users: users, Commander: c,
		Clock: clocktest.New(now), Events: &memoryEvents{}, Client: http.DefaultClient, ResponseHosts: hosts})
}

func TestAcknowledgeButtonAcknowledgesCaseOnceHoweverOftenTheRequestIsReplayed(t *testing.T) {
	c := &clicker{}
	srv := httptest.NewServer(handler("8f742231b10e8888abcd99yyyzzz85a5", c, t0.Add(30*time.Second)))
	defer srv.Close()
	for range 3 {
		if code := click(t, srv, "8f742231b10e8888abcd99yyyzzz85a5", t0); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if got := c.got(); len(got) != 1 || got[0] != "firebreak_acknowledge case-1:e0 by amy@example.com (responder) slack:U0CA5" {
		t.Fatalf("calls %v, want one acknowledgement by amy@example.com", got)
	}
}

func TestInteractionRefusesForgedOrReplayedRequests(t *testing.T) {
	c := &clicker{}
	srv := httptest.NewServer(handler("right", c, t0))
	defer srv.Close()
	if code := click(t, srv, "wrong", t0); code != http.StatusUnauthorized {
		t.Errorf("forged: status %d, want 401", code)
	}
	if code := click(t, srv, "right", t0.Add(-6*time.Minute)); code != http.StatusUnauthorized {
		t.Errorf("six minutes old: status %d, want 401", code)
	}
	if got := c.got(); len(got) != 0 {
		t.Fatalf("acted on %v", got)
	}
}

// responses is a click's response_url: it records what was posted to it.
type responses struct {
	mu  sync.Mutex
	got []map[string]any
}

func (r *responses) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(req.Body).Decode(&m)
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	io.WriteString(w, "ok")
}

func (r *responses) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

func TestEachButtonActsInTheMappedUsersName(t *testing.T) {
	c := &clicker{}
	srv := httptest.NewServer(handler("s", c, t0))
	defer srv.Close()
	for i, action := range []string{slack.AckActionID, slack.SnoozeActionID, slack.ResolveActionID} {
		if code, _ := press(t, srv, "s", t0.Add(time.Duration(i)*time.Second), "U0CA5", action, "case-1:e2", ""); code != http.StatusOK {
			t.Fatalf("%s: %d", action, code)
		}
	}
	want := []string{
		"firebreak_acknowledge case-1:e2 by amy@example.com (responder) slack:U0CA5",
		"firebreak_snooze_1h case-1:e2 by amy@example.com (responder) slack:U0CA5",
		"firebreak_resolve case-1:e2 by amy@example.com (responder) slack:U0CA5",
	}
	if got := c.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("clicks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnmappedUsersAndViewersAreRefusedPrivately(t *testing.T) {
	resp := &responses{}
	hook := httptest.NewServer(resp)
	defer hook.Close()
	host := strings.TrimPrefix(hook.URL, "http://")
	c := &clicker{}
	srv := httptest.NewServer(handler("s", c, t0, host))
	defer srv.Close()
	for i, tc := range []struct{ user, says string }{
		{"U0NOBODY", "your Slack account (U0NOBODY) is not linked to a Firebreak user"},
		{"U0VW1", "you are signed in as val@example.com with the viewer role; acknowledging, snoozing and resolving need the responder or admin role"},
	} {
		code, body := press(t, srv, "s", t0.Add(time.Duration(i)*time.Second), tc.user, slack.ResolveActionID, "case-1:e0", hook.URL+"/actions/T0/1/x")
		if code != http.StatusOK || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %q, want 200 saying %q", tc.user, code, body, tc.says)
		}
	}
	// A response_url elsewhere than Slack (or the configured hosts) is not followed.
	if code, _ := press(t, srv, "s", t0.Add(5*time.Second), "U0NOBODY", slack.AckActionID, "case-1:e0", "http://169.254.169.254/latest"); code != http.StatusOK {
		t.Errorf("click with a foreign response_url: %d", code)
	}
	if got := c.got(); len(got) != 0 {
		t.Fatalf("acted on %v for users who may not act", got)
	}
	got := resp.all()
	if len(got) != 2 {
		t.Fatalf("%d messages to the response_url, want 2 ephemeral refusals: %v", len(got), got)
	}
	for _, m := range got {
		if m["response_type"] != "ephemeral" || !strings.Contains(fmt.Sprint(m["text"]), "Firebreak did not act") {
			t.Errorf("refusal %v, want an ephemeral explanation", m)
		}
	}
}

// webAPI is Slack's Web API as far as chat.postMessage and chat.update go:
// it checks the bot token and records each call.
type webAPI struct {
	mu    sync.Mutex
	calls []string
	msgs  []map[string]any
}

func (a *webAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer xoxb-test" {
		io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("%s %v %v", r.URL.Path, m["channel"], m["ts"]))
	a.msgs = append(a.msgs, m)
	switch r.URL.Path {
	case "/api/chat.postMessage":
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100"}`, m["channel"])
	case "/api/chat.update":
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, m["channel"], m["ts"])
	default:
		io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

func TestBotPostsAMessageItCanUpdateToShowWhoTookTheCase(t *testing.T) {
	api := &webAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	n := slack.New(slack.Config{BotToken: "xoxb-test", Channel: "C0CHAN", APIURL: srv.URL + "/api"}, srv.Client(), clocktest.New(t0))
	opened := notifytest.Opened("case-1", "senior", t0)
	ref, _, err := n.Post(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{opened}})
	if err != nil || ref != "C0CHAN/1700000000.000100" {
		t.Fatalf("posted %q, %v", ref, err)
	}
	acked := notifytest.Acknowledged(opened, "ana", t0.Add(time.Minute))
	acked.AuthMethod = "oidc"
	if err := n.Update(t.Context(), ref, slack.Taken(acked, "https://firebreak.example")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/api/chat.postMessage C0CHAN <nil>", "/api/chat.update C0CHAN 1700000000.000100"}; strings.Join(api.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %v, want %v", api.calls, want)
	}
	raw, _ := json.Marshal(api.msgs[1])
	for _, want := range []string{"*Acknowledged* by ana (oidc) at 09:01 UTC", `"action_id":"firebreak_snooze_1h"`, `"action_id":"firebreak_resolve"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("updated message lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), `"action_id":"firebreak_acknowledge"`) {
		t.Errorf("an acknowledged case still offers Acknowledge:\n%s", raw)
	}
	bad := slack.New(slack.Config{BotToken: "xoxb-revoked", Channel: "C0CHAN", APIURL: srv.URL + "/api"}, srv.Client(), clocktest.New(t0))
	if retry, err := bad.Notify(t.Context(), &notify.Notification{Events: []*fbv1.CaseEvent{opened}}); retry || err == nil || !strings.Contains(err.Error(), "invalid_auth; the bot token is wrong or revoked") {
		t.Fatalf("revoked token: retry=%v err=%v; want a permanent error saying what to do", retry, err)
	}
}
