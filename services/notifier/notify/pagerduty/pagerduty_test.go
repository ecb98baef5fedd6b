package pagerduty_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/notifier/notify/pagerduty"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

const routingKey = "R0UT1NGK3Y0000000000000000000001"

// eventsAPI behaves as PagerDuty's Events API v2 documents: 202 with a JSON
// status for a valid event, 400 for an invalid one, and whatever the test
// scripts first (429 with Retry-After, 500).
type eventsAPI struct {
	mu       sync.Mutex
	script   []int
	requests []map[string]any
	headers  []http.Header
}

func (a *eventsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev map[string]any
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		http.NotFound(w, r)
		return
	}
	if len(a.script) > 0 {
		code := a.script[0]
		a.script = a.script[1:]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "2")
		}
		w.WriteHeader(code)
		return
	}
	if err := json.Unmarshal(body, &ev); err != nil || !valid(ev) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`)
		return
	}
	a.requests = append(a.requests, ev)
	a.headers = append(a.headers, r.Header.Clone())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev["dedup_key"].(string)})
}

func valid(ev map[string]any) bool {
	key, _ := ev["routing_key"].(string)
	action, _ := ev["event_action"].(string)
	if len(key) != 32 || (action != "trigger" && action != "acknowledge" && action != "resolve") {
		return false
	}
	if action != "trigger" {
		_, ok := ev["dedup_key"].(string)
		return ok
	}
	p, _ := ev["payload"].(map[string]any)
	sev, _ := p["severity"].(string)
	return p["summary"] != "" && p["source"] != "" && strings.Contains("critical error warning info", sev) && sev != ""
}

func (a *eventsAPI) got() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

func setup(t *testing.T, key string, script ...int) (*eventsAPI, *pagerduty.Notifier) {
	api := &eventsAPI{script: script}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, pagerduty.New(pagerduty.Config{RoutingKey: notify.Secret(key), URL: srv.URL + "/v2/enqueue"}, srv.Client(), clocktest.New(t0))
}

func note(ev *fbv1.CaseEvent) *notify.Notification {
	return &notify.Notification{Events: []*fbv1.CaseEvent{ev}, Receiver: "pd", DedupKey: notify.Key(ev, "pd"), LinkBase: "https://firebreak.example"}
}

func TestTriggerSendsDocumentedEvent(t *testing.T) {
	api, pd := setup(t, routingKey)
	if _, err := pd.Notify(t.Context(), note(notifytest.Opened("case-1", "senior", t0))); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(api.got()[0])
	want := `{"client":"Firebreak","client_url":"https://firebreak.example/cases/case-1","dedup_key":"case-1","event_action":"trigger",` +
		`"links":[{"href":"https://firebreak.example/cases/case-1","text":"Open the case in Firebreak"}],` +
		`"payload":{"class":"high_reach","component":"acme-mobile","custom_details":{"author":"@frequentflyer (Sam Doe), verified","brand":"acme-mobile","case_id":"case-1",` +
		`"level":1,"link":"https://firebreak.example/cases/case-1","priority":"critical","reach":"332,000 followers, 1.6x the brand's 203,000 (rival)",` +
		`"reasons":["author has 332,000 followers, 1.6x the brand's 203,000","third complaint in 24 hours, none answered"],"team":"senior"},` +
		`"group":"senior","severity":"critical","source":"firebreak",` +
		`"summary":"[acme-mobile] @frequentflyer (Sam Doe), verified on x: critical, level 1 — author has 332,000 followers, 1.6x the brand's 203,000",` +
		`"timestamp":"2026-11-23T09:00:00Z"},"routing_key":"` + routingKey + `"}`
	if string(got) != want {
		t.Fatalf("event:\n%s\nwant:\n%s", got, want)
	}
	if ct := api.headers[0].Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestGroupedIncidentLinksEveryCase(t *testing.T) {
	api, pd := setup(t, routingKey)
	a, b := notifytest.Opened("case-1", "senior", t0), notifytest.Opened("case-2", "senior", t0)
	group := &notify.Notification{Events: []*fbv1.CaseEvent{a, b}, Receiver: "pd", DedupKey: "group-1", LinkBase: "https://firebreak.example"}
	if _, err := pd.Notify(t.Context(), group); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(api.got()[0])
	for _, want := range []string{
		`{"href":"https://firebreak.example/cases/case-1","text":"Case case-1: @frequentflyer (Sam Doe), verified"}`,
		`{"href":"https://firebreak.example/cases/case-2","text":"Case case-2: @frequentflyer (Sam Doe), verified"}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("grouped incident lacks link %s:\n%s", want, got)
		}
	}
}

func TestResolveSendsOnlyTheDedupKey(t *testing.T) {
	api, pd := setup(t, routingKey)
	ev := notifytest.Resolved(notifytest.Opened("case-1", "senior", t0), "ops", t0)
	if _, err := pd.Notify(t.Context(), note(ev)); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(api.got()[0])
	if want := `{"dedup_key":"case-1","event_action":"resolve","routing_key":"` + routingKey + `"}`; string(got) != want {
		t.Fatalf("event %s, want %s", got, want)
	}
}

func TestInvalidEventIsPermanent(t *testing.T) {
	_, pd := setup(t, "short-key")
	retry, err := pd.Notify(t.Context(), note(notifytest.Opened("case-1", "senior", t0)))
	if retry || notify.ReasonOf(err) != notify.ReasonClientError || !strings.Contains(err.Error(), "routing_key") {
		t.Fatalf("retry=%v err=%v; want a permanent client_error quoting PagerDuty", retry, err)
	}
}

func TestThrottledAndFailingEventsAreRetriedUntilAccepted(t *testing.T) {
	api, pd := setup(t, routingKey, http.StatusTooManyRequests, http.StatusInternalServerError)
	clock := clocktest.New(t0)
	b := notify.DefaultBackoff()
	b.Jitter = 0
	log := &notifytest.Log{}
	p := notify.NewPipeline([]notify.Receiver{{Name: "pd", Type: "pagerduty", Notifier: pd, Backoff: b}}, route{"pd"}, log, clock, "")
	results, err := p.Deliver(t.Context(), notifytest.Opened("case-1", "senior", t0))
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED || len(api.got()) != 1 {
		t.Fatalf("outcome %v, pages %d; want delivered once", results[0].Outcome, len(api.got()))
	}
	var reasons []notify.Reason
	for _, a := range results[0].Attempts {
		reasons = append(reasons, a.Reason)
	}
	if len(reasons) != 3 || reasons[0] != notify.ReasonRateLimited || reasons[1] != notify.ReasonServerError || reasons[2] != "" {
		t.Fatalf("attempt reasons %v, want rate_limited, server_error, success", reasons)
	}
	if s := clock.Sleeps(); len(s) != 2 || s[0] != 2*time.Second || s[1] != 2*time.Second {
		t.Fatalf("waits %v, want 2s (Retry-After over a 1s backoff), then 2s backoff", s)
	}
}

type route []string

func (r route) Route(string, int32) []string { return r }
func (r route) Fallback(string) string       { return "" }

type cases struct {
	mu    sync.Mutex
	calls []string
}

func (c *cases) Acknowledge(_ context.Context, ref notify.CaseRef, actor string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "ack "+ref.String()+" "+actor)
	return nil
}

func (c *cases) Resolve(_ context.Context, ref notify.CaseRef, actor string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "resolve "+ref.String()+" "+actor)
	return nil
}

// v3Payload is a trimmed copy of PagerDuty's documented incident webhook.
const v3Payload = `{"event":{"id":"01BZ4Q9QG5AA1U6XKB2MFWXKGU","event_type":"incident.%s","resource_type":"incident",` +
	`"occurred_at":"2026-11-23T09:01:00.000Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV",` +
	`"self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,` +
	`"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","number":2,"status":"%s",` +
	`"incident_key":"case-1","title":"A little bump in the road"}}}`

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// occurred is v3Payload's occurred_at; webhookClock reads a minute later.
var occurred = time.Date(2026, 11, 23, 9, 1, 0, 0, time.UTC)

func webhookClock() clock.Clock { return clocktest.New(occurred.Add(time.Minute)) }

// memoryEvents is pagerduty.Events in memory, as one replica would see Redis.
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

func TestWebhookAcknowledgesAndResolvesTheCase(t *testing.T) {
	c := &cases{}
	srv := httptest.NewServer(pagerduty.WebhookHandler("whsec", c, webhookClock(), &memoryEvents{}))
	defer srv.Close()
	for _, status := range []string{"acknowledged", "resolved"} {
		body := strings.NewReplacer("incident.%s", "incident."+status, `"status":"%s"`, `"status":"`+status+`"`, "01BZ4Q9QG5AA1U6XKB2MFWXKGU", "event-"+status).Replace(v3Payload)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		// Two signatures, as during a secret rotation; the second matches.
		req.Header.Set("X-PagerDuty-Signature", sign("old", body)+","+sign("whsec", body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: status %d", status, resp.StatusCode)
		}
	}
	want := []string{"ack case-1:e0 pagerduty:Tenex Engineer", "resolve case-1:e0 pagerduty:Tenex Engineer"}
	if strings.Join(c.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %v, want %v", c.calls, want)
	}
}

func TestWebhookRefusesBadSignature(t *testing.T) {
	c := &cases{}
	srv := httptest.NewServer(pagerduty.WebhookHandler("whsec", c, webhookClock(), &memoryEvents{}))
	defer srv.Close()
	body := strings.NewReplacer("%s", "acknowledged").Replace(v3Payload)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	req.Header.Set("X-PagerDuty-Signature", sign("wrong", body))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(c.calls) != 0 {
		t.Fatalf("status %d, calls %v; want 401 and nothing acknowledged", resp.StatusCode, c.calls)
	}
}

// A signed event replayed is handled once, and one older than five minutes
// not at all: neither can resolve a later episode of the case.
func TestWebhookHandlesAnEventOnceAndRefusesOldOnes(t *testing.T) {
	c := &cases{}
	events := &memoryEvents{}
	body := strings.NewReplacer("%s", "resolved").Replace(v3Payload)
	send := func(clock clock.Clock) int {
		srv := httptest.NewServer(pagerduty.WebhookHandler("whsec", c, clock, events))
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-PagerDuty-Signature", sign("whsec", body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(clocktest.New(occurred.Add(6 * time.Minute))); code != http.StatusBadRequest || len(c.calls) != 0 {
		t.Fatalf("an event six minutes old: %d, calls %v; want 400 and nothing resolved", code, c.calls)
	}
	for i := range 3 {
		if code := send(webhookClock()); code != http.StatusNoContent {
			t.Fatalf("delivery %d: %d", i+1, code)
		}
	}
	if len(c.calls) != 1 {
		t.Fatalf("calls %v; want the event handled once", c.calls)
	}
}
