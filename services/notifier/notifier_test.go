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
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// hook is a webhook receiver that records the Idempotency-Key of each
// request, answering with status (200 unless set).
type hook struct {
	mu     sync.Mutex
	keys   []string
	sizes  []int // events per request
	status int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct{ Events []json.RawMessage }
	_ = json.NewDecoder(r.Body).Decode(&body)
	h.mu.Lock()
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	h.sizes = append(h.sizes, len(body.Events))
	status := h.status
	h.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.keys...)
}

type rig struct {
	t   *testing.T
	bus *deps.Deps
	svc []*Service
}

func newRig(t *testing.T, replicas int, cfg Config) *rig {
	t.Helper()
	return newRigOn(t, depstest.New(t), replicas, cfg)
}

// newRigOn runs replicas of the notifier on env.
func newRigOn(t *testing.T, env *depstest.Env, replicas int, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, bus: env.Deps(t, "test")}
	cfg.Common = env.Common
	cfg.DedupTTL, cfg.MaxInFlight, cfg.AckWait = time.Hour, 8, 30*time.Second
	for i := range replicas {
		svc, err := New(t.Context(), cfg, env.Deps(t, fmt.Sprintf("notifier-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(context.Background()) })
		r.svc = append(r.svc, svc)
	}
	return r
}

func event(caseID, id string, level int32, receivers ...string) *fbv1.CaseEvent {
	return &fbv1.CaseEvent{
		Id: id, Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Level: level, Receivers: receivers, At: timestamppb.Now(),
		Case: &fbv1.Case{Id: caseID, Brand: "acme", Team: "senior", Level: level, Priority: fbv1.Priority_PRIORITY_HIGH,
			Author: &fbv1.Author{Handle: "dan", Followers: 332000}, Reasons: []*fbv1.Reason{{Code: "x", Text: "why"}}},
	}
}

// publish sends ev, the copy-th time under a fresh message id, as a
// redelivery past the broker's dedup window would arrive.
func (r *rig) publish(ev *fbv1.CaseEvent, copy int) {
	r.t.Helper()
	_, err := r.bus.Publisher.Publish(context.Background(), bus.Event{Subject: r.bus.Names.Case("opened"), MsgID: fmt.Sprintf("%s#%d", ev.Id, copy), Message: ev})
	if err != nil {
		r.t.Fatal(err)
	}
}

func TestTwoReplicasPageEachEventOnceWhateverTheRedeliveries(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := newRig(t, 2, Config{WebhookURL: srv.URL})
	const n = 20
	for i := range n {
		ev := event(fmt.Sprintf("c%d-1", i), fmt.Sprintf("c%d-1:opened:m", i), 1)
		for copy := range 3 {
			r.publish(ev, copy)
		}
	}
	testkit.Eventually(t, "every case paged", func() bool { return len(h.got()) >= n })
	settle(t, r.bus)
	keys := h.got()
	seen := map[string]int{}
	for _, k := range keys {
		seen[k]++
	}
	if len(keys) != n || len(seen) != n {
		t.Fatalf("%d pages with %d distinct keys, want %d each once: %v", len(keys), len(seen), n, seen)
	}
}

func TestChainLevelReceiversAreUsedAndFailuresFallBack(t *testing.T) {
	oncall, head, broken, fallback := &hook{}, &hook{}, &hook{status: http.StatusBadRequest}, &hook{}
	urls := map[string]string{}
	for name, h := range map[string]*hook{"oncall": oncall, "head": head, "broken": broken, "fallback": fallback} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls[name] = srv.URL
	}
	file := filepath.Join(t.TempDir(), "receivers.yaml")
	doc := fmt.Sprintf(`receivers:
  - {name: oncall, type: webhook, webhook: {url: %q}}
  - {name: head, type: webhook, webhook: {url: %q}}
  - {name: broken, type: webhook, webhook: {url: %q}}
  - {name: fallback, type: webhook, webhook: {url: %q}}
teams:
  senior:
    levels:
      - {level: 1, receivers: [oncall]}
      - {level: 2, receivers: [head]}
    fallback: fallback
`, urls["oncall"], urls["head"], urls["broken"], urls["fallback"])
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, Config{ReceiversFile: file})

	r.publish(event("a-1", "a-1:escalated:0.2:1", 2, "head"), 0) // the chain names level 2's receiver
	r.publish(event("b-1", "b-1:opened:m", 1), 0)                // no names: routed by team and level
	r.publish(event("c-1", "c-1:opened:m", 1, "broken"), 0)      // fails for good: fallback and a failure event
	testkit.Eventually(t, "the fallback page", func() bool { return len(fallback.got()) == 1 })
	settle(t, r.bus)
	if len(head.got()) != 1 || len(oncall.got()) != 1 || len(broken.got()) != 1 {
		t.Fatalf("pages: head %v, oncall %v, broken %v", head.got(), oncall.got(), broken.got())
	}
	failed := caseEvents(t, r.bus, "delivery_failed")
	if len(failed) != 1 || failed[0].Case.Id != "c-1" || !strings.Contains(failed[0].Note, "broken") {
		t.Fatalf("failure events %v", failed)
	}
	resp, err := r.svc[0].ListDeliveries(context.Background(), &fbv1.ListDeliveriesRequest{CaseId: "c-1"})
	if err != nil || len(resp.Deliveries) != 2 {
		t.Fatalf("delivery log of c-1: %v %v", resp, err)
	}
	// The insights page counts the pages per receiver by outcome.
	stats, err := r.svc[0].GetDeliveryStats(context.Background(), &fbv1.GetDeliveryStatsRequest{Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, rs := range stats.Receivers {
		got[rs.Receiver] = [2]int64{rs.Delivered, rs.Failed}
		if rs.Type != "webhook" {
			t.Errorf("receiver %s of type %q", rs.Receiver, rs.Type)
		}
	}
	want := map[string][2]int64{"oncall": {1, 0}, "head": {1, 0}, "broken": {0, 1}, "fallback": {1, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages per receiver (delivered, failed) = %v, want %v", got, want)
	}
	if _, err := r.svc[0].GetDeliveryStats(context.Background(), &fbv1.GetDeliveryStatsRequest{Days: 30}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("30 days: %v, want InvalidArgument", err)
	}
}

// A receiver down longer than its retries (make chaos's 60 s of 500s) does
// not lose the page: the event is redelivered until the receiver takes it.
func TestPageOwedToAReceiverThatIsDownGoesOutWhenItIsBack(t *testing.T) {
	h := &hook{status: http.StatusInternalServerError}
	srv := httptest.NewServer(h)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "receivers.yaml")
	doc := fmt.Sprintf(`receivers:
  - {name: oncall, type: webhook, webhook: {url: %q}, retry: {max_attempts: 1}}
teams:
  senior:
    levels:
      - {level: 1, receivers: [oncall]}
`, srv.URL)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, Config{ReceiversFile: file})
	r.publish(event("down-1", "down-1:opened:m", 1), 0)
	testkit.Eventually(t, "three failed tries", func() bool { return len(h.got()) >= 3 })
	h.mu.Lock()
	h.status = http.StatusOK
	tries := len(h.keys)
	h.mu.Unlock()
	testkit.Eventually(t, "the page once the receiver is back", func() bool { return len(h.got()) > tries })
	settle(t, r.bus)
	if n := len(caseEvents(t, r.bus, "delivery_failed")); n != 1 {
		t.Errorf("%d delivery_failed events, want 1 (the first failure)", n)
	}
	resp, err := r.svc[0].ListDeliveries(context.Background(), &fbv1.ListDeliveriesRequest{CaseId: "down-1"})
	if err != nil || len(resp.Deliveries) == 0 || resp.Deliveries[len(resp.Deliveries)-1].Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
		t.Fatalf("delivery log of down-1 does not end delivered: %v %v", resp, err)
	}
}

func TestPagerDutyAcknowledgementBecomesACommand(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "pd-secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, Config{PagerDutyWebhookSecretFile: secretFile})
	body := `{"event":{"id":"evt-1","occurred_at":"` + time.Now().UTC().Format(time.RFC3339) + `","event_type":"incident.acknowledged","agent":{"summary":"Ana"},"data":{"id":"P1","incident_key":"abc-1"}}}`
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.svc[0].HTTPAddr()+"/v1/pagerduty/webhook", strings.NewReader(body))
		req.Header.Set("X-PagerDuty-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("v1=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", code)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	if code := post("v1=" + hex.EncodeToString(mac.Sum(nil))); code != http.StatusNoContent {
		t.Fatalf("signed webhook: %d, want 204", code)
	}
	cons, err := r.bus.JS.OrderedConsumer(context.Background(), r.bus.Names.Stream(bus.NounCommands), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var cmd fbv1.CaseCommand
	if err := proto.Unmarshal(msg.Data(), &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.CaseId != "abc-1" || cmd.Action != fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE || cmd.Actor != "pagerduty:Ana" {
		t.Fatalf("command %v", &cmd)
	}
}

// settle waits until the notifier has acknowledged everything.
func settle(t *testing.T, d *deps.Deps) {
	t.Helper()
	testkit.Eventually(t, "the notifier to catch up", func() bool {
		done, err := bustest.CaughtUp(context.Background(), d.JS, d.Names.Stream(bus.NounCases), "notifier-cases")
		return err == nil && done
	})
}

func caseEvents(t *testing.T, d *deps.Deps, event string) []*fbv1.CaseEvent {
	t.Helper()
	cons, err := d.JS.OrderedConsumer(context.Background(), d.Names.Stream(bus.NounCases), jetstream.OrderedConsumerConfig{FilterSubjects: []string{d.Names.Case(event)}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*fbv1.CaseEvent
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond))
		if err != nil {
			return out
		}
		e := &fbv1.CaseEvent{}
		if err := proto.Unmarshal(msg.Data(), e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func TestABurstOfCasesForOneTeamIsSentAsOneGroup(t *testing.T) {
	t.Run("OneRedis", func(t *testing.T) { burstIsGrouped(t, depstest.New(t)) })
	// A transaction over keys of two slots fails with CROSSSLOT on a
	// Cluster; the group window and its due shard share a hash tag.
	t.Run("RedisCluster", func(t *testing.T) { burstIsGrouped(t, depstest.NewOnCluster(t)) })
}

// burstIsGrouped publishes six cases at once. The group interval is long
// enough (3s) that all six arrive within it even on a loaded machine (at
// 400ms, a load average of 35 on 2 cores spread them over three intervals).
// groupedHook is a webhook receiver that records what it gets, and a
// receivers file paging it for the senior team's level 1, grouped every
// interval.
func groupedHook(t *testing.T, interval string) (*hook, string) {
	t.Helper()
	h := &hook{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "receivers.yaml")
	doc := fmt.Sprintf(`receivers:
  - {name: hook, type: webhook, webhook: {url: %q}}
teams:
  senior:
    levels: [{level: 1, receivers: [hook]}]
    group: {group_interval: %s}
`, srv.URL, interval)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return h, file
}

func burstIsGrouped(t *testing.T, env *depstest.Env) {
	h, file := groupedHook(t, "3s")
	r := newRigOn(t, env, 2, Config{ReceiversFile: file, GroupTick: 20 * time.Millisecond})
	for i := range 6 {
		r.publish(event(fmt.Sprintf("s%d-1", i), fmt.Sprintf("s%d-1:opened:m", i), 1), 0)
	}
	testkit.Eventually(t, "the group to go out", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		total := 0
		for _, n := range h.sizes {
			total += n
		}
		return total == 6
	})
	h.mu.Lock()
	sizes := append([]int(nil), h.sizes...)
	h.mu.Unlock()
	if len(sizes) > 3 || len(sizes) < 2 {
		t.Fatalf("6 cases went out in %d notifications %v; want the first alone and the rest grouped", len(sizes), sizes)
	}
	if sizes[0] != 1 {
		t.Fatalf("first notification held %d cases, want the first page sent at once", sizes[0])
	}
}

func TestEventsHeldByAnOlderReleaseStillGoOutAfterTheUpgrade(t *testing.T) {
	h, file := groupedHook(t, "100ms")
	env := depstest.New(t)
	d := env.Deps(t, "old-release")
	ctx := context.Background()
	// The older layout: the window under the team's own tag, one due index.
	tag := store.Tag("team/senior")
	held := map[string]any{}
	var pending []string
	for i := range 2 {
		ev := event(fmt.Sprintf("old%d-1", i), fmt.Sprintf("old%d-1:opened:m", i), 1)
		b, _ := proto.Marshal(ev)
		held[ev.Id] = b
		pending = append(pending, ev.Id)
	}
	past := time.Now().Add(-time.Second)
	d.Redis.Set(ctx, d.Keys.Of(tag, "storm", "state"), encodeState(notify.GroupState{Pending: pending, FlushAt: past, LastSent: past}), 0)
	d.Redis.HSet(ctx, d.Keys.Of(tag, "storm", "held"), held)
	d.Redis.ZAdd(ctx, d.Keys.Global("notify", "storms"), redis.Z{Score: float64(past.UnixMilli()), Member: "senior"})

	newRigOn(t, env, 1, Config{ReceiversFile: file, GroupTick: 20 * time.Millisecond})
	testkit.Eventually(t, "the two held events to go out", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.sizes) == 1 && h.sizes[0] == 2
	})
	if n := d.Redis.Exists(ctx, d.Keys.Global("notify", "storms"), d.Keys.Of(tag, "storm", "held")).Val(); n != 0 {
		t.Errorf("%d old storm keys left behind", n)
	}
}
