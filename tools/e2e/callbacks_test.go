package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

const (
	pdSecret    = "pagerduty-webhook-secret-for-the-hostile-test"
	slackSecret = "slack-signing-secret-for-the-hostile-test"
)

// callbacks is a running Firebreak whose notifier takes PagerDuty webhooks
// and Slack interactions, with a case open for them to act on.
type callbacks struct {
	w      *world
	caseID string
	base   string
	js     jetstream.JetStream
	cmds   jetstream.Stream
}

func startCallbacks(t *testing.T) *callbacks {
	t.Helper()
	dir := t.TempDir()
	secret := func(name, value string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	w := startWith(t, map[string][]string{"notifier": {
		"--pagerduty-webhook-secret-file=" + secret("pd", pdSecret),
		"--slack-signing-secret-file=" + secret("slack", slackSecret),
		"--slack-users-file=" + secret("slack-users", "U0CA5: {user: amy@example.com, role: responder}\nU0VW1: {user: val@example.com, role: viewer}"),
	}})
	w.post(post{id: "callbacks-1", author: "cora", followers: 332_000, text: complaint})
	d := w.decision("x:callbacks-1")
	if !d.Escalate {
		t.Fatalf("the complaint did not open a case: %v", d.Reasons)
	}
	js, err := jetstream.New(w.nc)
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := js.Stream(context.Background(), bus.Names{Prefix: "firebreak"}.Stream(bus.NounCommands))
	if err != nil {
		t.Fatal(err)
	}
	return &callbacks{w: w, caseID: d.CaseId, base: "http://" + w.stack.Notifier.HTTPAddr(), js: js, cmds: cmds}
}

// commands counts what has been published on commands.cases.
func (c *callbacks) commands(t *testing.T) uint64 {
	t.Helper()
	info, err := c.cmds.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// post sends a callback and returns its status, failing the test if the
// answer was slow.
func (c *callbacks) post(t *testing.T, path string, header http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if took := time.Since(start); took > quickly {
		t.Errorf("POST %s took %s, want under %s", path, took, quickly)
	}
	return resp.StatusCode
}

// unchanged checks that a refused or replayed callback left the case and
// the command stream as they were.
func (c *callbacks) unchanged(t *testing.T, what string, code, want int, commandsBefore uint64, before *fbv1.GetCaseResponse) {
	t.Helper()
	if code != want {
		t.Errorf("%s: status %d, want %d", what, code, want)
	}
	if n := c.commands(t); n != commandsBefore {
		t.Errorf("%s: %d commands published on commands.cases, want none", what, n-commandsBefore)
	}
	after := c.snapshot(t)
	if !proto.Equal(before.Case, after.Case) || len(after.Timeline) != len(before.Timeline) {
		t.Errorf("%s changed the case: %s with %d events, was %s with %d", what, after.Case.State, len(after.Timeline), before.Case.State, len(before.Timeline))
	}
}

func (c *callbacks) snapshot(t *testing.T) *fbv1.GetCaseResponse {
	t.Helper()
	resp, err := c.w.escalation.GetCase(context.Background(), &fbv1.GetCaseRequest{Id: c.caseID})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// settled waits until escalation has applied every command published.
func (c *callbacks) settled(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, "escalation to apply the commands", func() bool {
		done, err := bustest.CaughtUp(context.Background(), c.js, c.cmds.CachedInfo().Config.Name, "escalation-commands")
		return err == nil && done
	})
}

// laterSecond waits until the clock has passed the second of t: the
// notifier names a command by the second it handled the callback in, so a
// replay in a later second would not be hidden by the broker's dedup and
// only the notifier's own event-id dedup can stop it.
func laterSecond(t *testing.T, at time.Time) {
	t.Helper()
	testkit.Eventually(t, "the next second", func() bool { return time.Now().Unix() > at.Unix() })
}

// pdEvent is a PagerDuty v3 webhook about the case's incident.
func pdEvent(id, eventType, incidentKey string, at time.Time) string {
	return fmt.Sprintf(`{"event":{"id":%q,"event_type":%q,"resource_type":"incident","occurred_at":%q,`+
		`"agent":{"id":"PLH1HKV","summary":"Ana Responder","type":"user_reference"},`+
		`"data":{"id":"PGR0VU2","type":"incident","incident_key":%q,"status":"resolved"}}}`,
		id, eventType, at.UTC().Format(time.RFC3339Nano), incidentKey)
}

func pdSigned(secret, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return http.Header{"Content-Type": {"application/json"}, "X-PagerDuty-Signature": {"v1=" + hex.EncodeToString(mac.Sum(nil))}}
}

// slackClick is a block_actions request for the Acknowledge button on the
// case's first episode by amy (a responder), and its headers signed with
// secret at ts.
func slackClick(secret, caseID string, ts time.Time) (http.Header, string) {
	return slackClickBy(secret, "U0CA5", "firebreak_acknowledge", caseID, ts)
}

func slackClickBy(secret, user, action, caseID string, ts time.Time) (http.Header, string) {
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":%q,"team_id":"T3MDE"},`+
		`"actions":[{"action_id":%q,"block_id":"b1","value":%q,"type":"button","action_ts":"1"}]}`, user, action, caseID+":e0")
	body := url.Values{"payload": {payload}}.Encode()
	stamp := fmt.Sprint(ts.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	return http.Header{
		"Content-Type":              {"application/x-www-form-urlencoded"},
		"X-Slack-Request-Timestamp": {stamp},
		"X-Slack-Signature":         {"v0=" + hex.EncodeToString(mac.Sum(nil))},
	}, body
}

// TestReplayedOrForgedCallbacksChangeNothing sends PagerDuty webhooks and
// Slack interactions as an attacker holding an old signed request, or no
// secret at all, would: each is refused (or, for an exact replay of a
// handled event, answered without effect) quickly, with nothing published
// on commands.cases and the case unchanged; so is a signed click by someone
// the Slack users file does not name, or by a viewer. The genuine ones act
// once, and a late resolution of an earlier episode of the case is recorded
// as ignored and resolves nothing.
func TestReplayedOrForgedCallbacksChangeNothing(t *testing.T) {
	c := startCallbacks(t)
	const slackPath, pdPath = "/v1/slack/interactions", "/v1/pagerduty/webhook"

	// A genuine click acknowledges the case once.
	header, click := slackClick(slackSecret, c.caseID, time.Now())
	n, clicked := c.commands(t), time.Now()
	if code := c.post(t, slackPath, header, click); code != http.StatusOK {
		t.Fatalf("genuine Slack click: %d", code)
	}
	if got := c.commands(t); got != n+1 {
		t.Fatalf("genuine Slack click published %d commands, want 1", got-n)
	}
	testkit.Eventually(t, "the case acknowledged from Slack", func() bool {
		return c.snapshot(t).Case.State == fbv1.CaseState_CASE_STATE_ACKNOWLEDGED
	})
	c.settled(t)

	t.Run("Slack", func(t *testing.T) {
		before, n := c.snapshot(t), c.commands(t)
		laterSecond(t, clicked)
		c.unchanged(t, "the same click replayed", c.post(t, slackPath, header, click), http.StatusOK, n, before)
		stale, staleBody := slackClick(slackSecret, c.caseID, time.Now().Add(-6*time.Minute))
		c.unchanged(t, "a click signed six minutes ago", c.post(t, slackPath, stale, staleBody), http.StatusUnauthorized, n, before)
		future, futureBody := slackClick(slackSecret, c.caseID, time.Now().Add(6*time.Minute))
		c.unchanged(t, "a click dated six minutes ahead", c.post(t, slackPath, future, futureBody), http.StatusUnauthorized, n, before)
		forged, forgedBody := slackClick("not-the-secret", c.caseID, time.Now())
		c.unchanged(t, "a click signed with another secret", c.post(t, slackPath, forged, forgedBody), http.StatusUnauthorized, n, before)
		unsigned, unsignedBody := slackClick(slackSecret, c.caseID, time.Now())
		unsigned.Del("X-Slack-Signature")
		c.unchanged(t, "an unsigned click", c.post(t, slackPath, unsigned, unsignedBody), http.StatusUnauthorized, n, before)
		// Signed clicks by people who may not act: someone the users file
		// does not name, and a viewer.
		stranger, strangerBody := slackClickBy(slackSecret, "U0STRANGER", "firebreak_resolve", c.caseID, time.Now())
		c.unchanged(t, "a click by a Slack user not in the users file", c.post(t, slackPath, stranger, strangerBody), http.StatusOK, n, before)
		viewer, viewerBody := slackClickBy(slackSecret, "U0VW1", "firebreak_resolve", c.caseID, time.Now())
		c.unchanged(t, "a viewer's click", c.post(t, slackPath, viewer, viewerBody), http.StatusOK, n, before)
		// The signature of the genuine click over another body.
		_, other := slackClick(slackSecret, "other-1", time.Now())
		c.unchanged(t, "a signature moved to another body", c.post(t, slackPath, header, other), http.StatusUnauthorized, n, before)
	})

	// A genuine PagerDuty resolution resolves the case once.
	resolved := pdEvent("01PDEVENTRESOLVED", "incident.resolved", c.caseID, time.Now())
	n, sent := c.commands(t), time.Now()
	if code := c.post(t, pdPath, pdSigned(pdSecret, resolved), resolved); code != http.StatusNoContent {
		t.Fatalf("genuine PagerDuty webhook: %d", code)
	}
	if got := c.commands(t); got != n+1 {
		t.Fatalf("genuine PagerDuty webhook published %d commands, want 1", got-n)
	}
	testkit.Eventually(t, "the case resolved from PagerDuty", func() bool {
		return c.snapshot(t).Case.State == fbv1.CaseState_CASE_STATE_RESOLVED
	})
	c.settled(t)

	t.Run("PagerDuty", func(t *testing.T) {
		before, n := c.snapshot(t), c.commands(t)
		laterSecond(t, sent)
		c.unchanged(t, "the same event replayed", c.post(t, pdPath, pdSigned(pdSecret, resolved), resolved), http.StatusNoContent, n, before)
		old := pdEvent("01PDEVENTOLD", "incident.acknowledged", c.caseID, time.Now().Add(-6*time.Minute))
		c.unchanged(t, "an event that occurred six minutes ago", c.post(t, pdPath, pdSigned(pdSecret, old), old), http.StatusBadRequest, n, before)
		noID := pdEvent("", "incident.acknowledged", c.caseID, time.Now())
		c.unchanged(t, "an event without an id", c.post(t, pdPath, pdSigned(pdSecret, noID), noID), http.StatusBadRequest, n, before)
		fresh := pdEvent("01PDEVENTFORGED", "incident.acknowledged", c.caseID, time.Now())
		c.unchanged(t, "an event signed with another secret", c.post(t, pdPath, pdSigned("not-the-secret", fresh), fresh), http.StatusUnauthorized, n, before)
		c.unchanged(t, "an unsigned event", c.post(t, pdPath, http.Header{"Content-Type": {"application/json"}}, fresh), http.StatusUnauthorized, n, before)
		c.unchanged(t, "a signature moved to another body", c.post(t, pdPath, pdSigned(pdSecret, resolved), fresh), http.StatusUnauthorized, n, before)
	})

	// The case is reopened (a new episode); PagerDuty's incident of the
	// first episode is then resolved again late, a genuine and fresh
	// delivery: it is recorded as ignored and the reopened case stays open.
	if _, err := c.w.escalation.ReopenCase(context.Background(), &fbv1.ReopenCaseRequest{Id: c.caseID, Note: "she wrote again"}); err != nil {
		t.Fatal(err)
	}
	late := pdEvent("01PDEVENTLATE", "incident.resolved", c.caseID, time.Now())
	if code := c.post(t, pdPath, pdSigned(pdSecret, late), late); code != http.StatusNoContent {
		t.Fatalf("late PagerDuty resolution: %d", code)
	}
	testkit.Eventually(t, "the late resolution recorded as ignored", func() bool {
		tl := c.snapshot(t).Timeline
		return len(tl) > 0 && tl[len(tl)-1].Type == fbv1.CaseEventType_CASE_EVENT_TYPE_COMMAND_IGNORED
	})
	if now := c.snapshot(t).Case; now.State != fbv1.CaseState_CASE_STATE_OPEN || now.Episode != 1 {
		t.Fatalf("after a late resolution of episode 0 the case is %s in episode %d, want open in episode 1", now.State, now.Episode)
	}
}
