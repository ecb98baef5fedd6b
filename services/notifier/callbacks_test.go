package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
