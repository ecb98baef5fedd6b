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

func TestMessageCarriesCaseAndAcknowledgeButton(t *testing.T) {
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

type acker struct {
	mu    sync.Mutex
	calls []string
}

func (a *acker) Acknowledge(_ context.Context, ref notify.CaseRef, actor string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, ref.String()+" by "+actor)
	return nil
}

// click posts a block_actions payload signed as Slack signs it.
func click(t *testing.T, srv *httptest.Server, secret string, ts time.Time) int {
	payload := `{"type":"block_actions","user":{"id":"U0CA5","username":"amy","team_id":"T3MDE"},` +
		`"actions":[{"action_id":"firebreak_acknowledge","block_id":"b1","value":"case-1","type":"button","action_ts":"1"}]}`
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
	resp.Body.Close()
	return resp.StatusCode
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

func TestAcknowledgeButtonAcknowledgesCaseOnceHoweverOftenTheRequestIsReplayed(t *testing.T) {
	a := &acker{}
	srv := httptest.NewServer(slack.InteractionHandler("8f742231b10e8888abcd99yyyzzz85a5", a, clocktest.New(t0.Add(30*time.Second)), &memoryEvents{}))
	defer srv.Close()
	for range 3 {
		if code := click(t, srv, "8f742231b10e8888abcd99yyyzzz85a5", t0); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if len(a.calls) != 1 || a.calls[0] != "case-1 by slack:amy" {
		t.Fatalf("calls %v, want case-1 by slack:amy, once", a.calls)
	}
}

func TestInteractionRefusesForgedOrReplayedRequests(t *testing.T) {
	a := &acker{}
	srv := httptest.NewServer(slack.InteractionHandler("right", a, clocktest.New(t0), &memoryEvents{}))
	defer srv.Close()
	if code := click(t, srv, "wrong", t0); code != http.StatusUnauthorized {
		t.Errorf("forged: status %d, want 401", code)
	}
	if code := click(t, srv, "right", t0.Add(-6*time.Minute)); code != http.StatusUnauthorized {
		t.Errorf("six minutes old: status %d, want 401", code)
	}
	if len(a.calls) != 0 {
		t.Fatalf("acknowledged %v", a.calls)
	}
}
