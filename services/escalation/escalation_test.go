package escalation

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// fastPolicy pages quickly so chains can be watched in a test.
const fastPolicy = `
complaint: score.complaint >= 0.5
window: 24h
routes:
  - name: rival
    match: complaint && reach.tier == TIER_RIVAL
    team: senior
    priority: CRITICAL
    reason: "author has {audience}"
  - name: repeat
    match: complaint && history.complaints_in_window >= 3
    team: senior
    priority: HIGH
    reason: "{nth} complaint in {window}"
  - name: standard
    match: complaint
    team: standard
    priority: NORMAL
    reason: "complaint"
chains:
  senior:
    levels:
      - receivers: [oncall]
        ack_timeout: 150ms
      - receivers: [head]
        ack_timeout: 150ms
    repeat: 0
    ack_expiry: 300ms
  standard:
    levels:
      - receivers: [queue]
        ack_timeout: 1h
`

type rig struct {
	t          testing.TB
	policyPath string
	env        *depstest.Env
	bus        *deps.Deps
	svc        []*Service
	// clock, when set, is every replica's clock and their chain timers
	// fire only when elapse says so: a test of what a timer does, or does
	// not do, then waits for nothing.
	clock *clocktest.Clock
}

func newRig(t *testing.T, replicas int) *rig {
	t.Helper()
	return newRigWith(t, replicas, func(*Config) {})
}

func newRigWith(t testing.TB, replicas int, tune func(*Config)) *rig {
	t.Helper()
	return newRigOn(t, nil, replicas, tune)
}

// newTimedRig is a rig of one replica on a fake clock whose chain timers
// run only in elapse.
func newTimedRig(t *testing.T) *rig {
	t.Helper()
	return newRigOn(t, clocktest.New(time.Now()), 1, func(*Config) {})
}

func newRigOn(t testing.TB, fake *clocktest.Clock, replicas int, tune func(*Config)) *rig {
	t.Helper()
	return newRigIn(t, depstest.New(t), fake, replicas, tune)
}

// newPartitionedRig is a rig whose mentions are split over partitions
// streams.
func newPartitionedRig(t testing.TB, partitions, replicas int, tune func(*Config)) *rig {
	t.Helper()
	return newRigIn(t, depstest.NewPartitioned(t, partitions), nil, replicas, tune)
}

func newRigIn(t testing.TB, env *depstest.Env, fake *clocktest.Clock, replicas int, tune func(*Config)) *rig {
	t.Helper()
	path := t.TempDir() + "/policy.yaml"
	if err := writeFile(path, fastPolicy); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, env: env, bus: env.Deps(t, "test"), policyPath: path, clock: fake}
	for i := range replicas {
		r.svc = append(r.svc, r.start(fmt.Sprintf("escalation-%d", i), tune))
	}
	return r
}

// start runs a replica on the rig's infrastructure (and clock).
func (r *rig) start(name string, tune func(*Config)) *Service {
	r.t.Helper()
	d := r.env.Deps(r.t, name)
	cfg := Config{Common: r.env.Common, PolicyFile: r.policyPath, Reopen: time.Hour, DecisionTTL: time.Hour,
		MaxInFlight: 16, TimerTick: 10 * time.Millisecond, JoinTimeout: 200 * time.Millisecond, PolicyCheck: 20 * time.Millisecond}
	if r.clock != nil {
		cfg.TimerTick = time.Hour // elapse runs the timers
	}
	tune(&cfg)
	svc, err := New(r.t.Context(), cfg, d)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.clock != nil {
		svc.clock = r.clock
	}
	if err := svc.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc
}

// elapse moves a timed rig's clock on by d and runs every running
// replica's timers once: when it returns, all that was due has fired and
// its events are on the bus.
func (r *rig) elapse(d time.Duration, running ...*Service) {
	r.t.Helper()
	r.clock.Advance(d)
	if running == nil {
		running = r.svc
	}
	for _, s := range running {
		s.fireDue(r.t.Context())
	}
}

// settled waits until the escalation replicas have handled every mention
// part on the bus, so a test can check that a duplicate changed nothing.
func (r *rig) settled() { r.drained(bus.NounMentions, "join") }

// settledCommands waits until every case command on the bus is handled.
func (r *rig) settledCommands() { r.drained(bus.NounCommands, "commands") }

func (r *rig) drained(noun, purpose string) {
	r.t.Helper()
	streams := []string{r.bus.Names.Stream(noun)}
	if noun == bus.NounMentions {
		streams = r.bus.Names.MentionStreams()
	}
	testkit.Eventually(r.t, "the escalation "+purpose+" consumer to handle everything on the bus", func() bool {
		for _, stream := range streams {
			if done, err := bustest.CaughtUp(context.Background(), r.bus.JS, stream, bus.Durable("escalation", purpose)); !done || err != nil {
				return false
			}
		}
		return true
	})
}

func mention(id, author string, followers int64, at time.Time) *fbv1.Mention {
	return &fbv1.Mention{Id: id, Platform: fbv1.Platform_PLATFORM_X, PlatformId: id, Brand: "acme",
		Author: &fbv1.Author{Id: author, Handle: author, Followers: followers}, Text: "still broken", CreatedAt: timestamppb.New(at)}
}

func scored(m *fbv1.Mention, complaint float64) *fbv1.ScoredMention {
	return &fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{MentionId: m.Id, Complaint: complaint, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE}}
}

func reached(m *fbv1.Mention, tier fbv1.Tier) *fbv1.ReachedMention {
	return &fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{MentionId: m.Id, Followers: m.Author.Followers, BrandFollowers: 203_000,
		RelativeToBrand: float64(m.Author.Followers) / 203_000, Tier: tier}}
}

// send publishes a part under a fresh message id, as a redelivery past the
// broker's dedup window would arrive.
func (r *rig) send(msg proto.Message, copy int) {
	r.t.Helper()
	subject, id := r.bus.Names.Scored(), ""
	var m *fbv1.Mention
	switch part := msg.(type) {
	case *fbv1.ScoredMention:
		id, m = part.Mention.Id+":scored", part.Mention
	case *fbv1.ReachedMention:
		subject, id, m = r.bus.Names.Reached(), part.Mention.Id+":reached", part.Mention
	}
	// In the author's partition, as ingest put the mention: for a brand
	// reply, the author it answers.
	author := m.GetAuthor().GetId()
	if m.GetBrandReply() {
		author = m.GetReplyToAuthorId()
	}
	subject = r.bus.Names.InPartition(subject, r.bus.Names.MentionPartition(ledger.AuthorKey(m.GetBrand(), m.GetPlatform(), author)))
	_, err := r.bus.Publisher.Publish(context.Background(), bus.Event{Subject: subject, MsgID: fmt.Sprintf("%s#%d", id, copy), Message: msg})
	if err != nil {
		r.t.Fatal(err)
	}
}

// events returns every case event on the bus, in order.
func (r *rig) events() []*fbv1.CaseEvent {
	r.t.Helper()
	cons, err := r.bus.JS.OrderedConsumer(context.Background(), r.bus.Names.Stream(bus.NounCases), jetstream.OrderedConsumerConfig{})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []*fbv1.CaseEvent
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(100 * time.Millisecond))
		if err != nil {
			return out
		}
		e := &fbv1.CaseEvent{}
		if err := proto.Unmarshal(msg.Data(), e); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, e)
	}
}

func (r *rig) waitEvents(what string, cond func([]*fbv1.CaseEvent) bool) []*fbv1.CaseEvent {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.events()
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("gave up waiting for %s; events: %v", what, types(evs))
		}
	}
}

func (r *rig) decision(id string) *fbv1.Decision {
	r.t.Helper()
	var d *fbv1.Decision
	testkit.Eventually(r.t, "a decision on "+id, func() bool {
		resp, err := r.svc[0].ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: id})
		if err == nil {
			d = resp.Decision
		}
		return err == nil
	})
	return d
}

// opened waits for mention id's decision and for its case event on the bus.
// A decision is stored before its events are published: a test that moves
// the clock on before then could fire the chain's next level ahead of the
// opening page, which a real ack timeout of minutes never does.
func (r *rig) opened(id string) *fbv1.Decision {
	r.t.Helper()
	d := r.decision(id)
	r.waitEvents("the case event of "+id, func(evs []*fbv1.CaseEvent) bool {
		return slices.ContainsFunc(evs, func(e *fbv1.CaseEvent) bool { return e.MentionId == id })
	})
	return d
}

func types(evs []*fbv1.CaseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s@L%d", strings.TrimPrefix(e.Type.String(), "CASE_EVENT_TYPE_"), e.Level))
	}
	return out
}

func count(evs []*fbv1.CaseEvent, t fbv1.CaseEventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == t {
			n++
		}
	}
	return n
}

func TestOutOfOrderAndDuplicatedPartsDecideOnce(t *testing.T) {
	r := newRig(t, 1)
	m := mention("x:1", "dan", 332_000, time.Now())
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 2)
	r.send(scored(m, 0.9), 1)
	r.send(scored(m, 0.9), 2)
	d := r.decision("x:1")
	if !d.Escalate || d.Team != "senior" || d.Priority != fbv1.Priority_PRIORITY_CRITICAL {
		t.Fatalf("decision %v", d)
	}
	// The console shows every mention of a case from its decision.
	if d.Mention.GetText() != "still broken" || d.Mention.GetCreatedAt() == nil {
		t.Fatalf("decision keeps mention %v, want the mention as ingested", d.Mention)
	}
	evs := r.waitEvents("the case to open", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED) > 0
	})
	if n := count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED); n != 1 {
		t.Fatalf("%d opened events, want 1: %v", n, types(evs))
	}
	if !slices.Equal(evs[0].Receivers, []string{"oncall"}) {
		t.Errorf("opened event pages %v, want the chain's first level [oncall]", evs[0].Receivers)
	}
	if count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED) != 0 {
		t.Fatalf("duplicated parts updated the case: %v", types(evs))
	}
}

func TestTwoReplicasCountEveryComplaintExactlyOnce(t *testing.T) {
	// A join timeout a loaded machine cannot hit: a mention decided without
	// its reach is revised when it comes, with the count as of then, which
	// is another test's subject (TestLateReachIsDecidedWithoutThenRaisesTheCase).
	r := newRigWith(t, 2, func(c *Config) { c.JoinTimeout = 30 * time.Second })
	const n = 24
	start := time.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	for i := range n {
		// One event time for all, so that each joined complaint sees every
		// complaint joined before it: exact counting makes the counts 1..n.
		m := mention(fmt.Sprintf("x:burst-%d", i), "burst", 10, start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.send(scored(m, 0.9), 1)
			r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
			r.send(scored(m, 0.9), 2) // a duplicate racing the original
		}()
	}
	wg.Wait()
	var counts []int32
	var caseID string
	for i := range n {
		d := r.decision(fmt.Sprintf("x:burst-%d", i))
		counts = append(counts, d.History.ComplaintsInWindow)
		if caseID != "" && d.CaseId != caseID {
			t.Fatalf("mention %d went to case %s, others to %s: one open case per author", i, d.CaseId, caseID)
		}
		caseID = d.CaseId
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != int32(i+1) {
			t.Fatalf("window counts %v, want 1..%d each once", counts, n)
		}
	}
	resp, err := r.svc[1].GetCase(context.Background(), &fbv1.GetCaseRequest{Id: caseID})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Case.MentionIds) != n || resp.Case.Team != "senior" {
		t.Fatalf("case has %d mentions, team %s; want %d, senior", len(resp.Case.MentionIds), resp.Case.Team, n)
	}
}

func TestChainPagesNextLevelUntilAcknowledged(t *testing.T) {
	r := newTimedRig(t)
	m := mention("x:chain", "loud", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.opened("x:chain")
	r.elapse(150 * time.Millisecond) // level 1's ack timeout
	evs := r.waitEvents("level 2 to fire", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) >= 1
	})
	esc := evs[len(evs)-1]
	if esc.Level != 2 || !slices.Equal(esc.Receivers, []string{"head"}) || esc.Reasons[0].Code != "not_acknowledged" {
		t.Fatalf("escalated event: level %d receivers %v reasons %v", esc.Level, esc.Receivers, esc.Reasons)
	}
	// The chain has no more levels and no repeat: nothing else fires.
	r.elapse(time.Hour)
	if got := types(r.events()); len(got) != 2 {
		t.Fatalf("events %v, want opened and one escalation", got)
	}
	if _, err := r.svc[0].AcknowledgeCase(asAna(), &fbv1.AcknowledgeCaseRequest{Id: esc.Case.Id, Note: "on it"}); err != nil {
		t.Fatal(err)
	}
	// Acknowledged is not answered: with no brand reply the chain resumes.
	r.elapse(300 * time.Millisecond) // the chain's ack expiry
	evs = r.waitEvents("the acknowledgement to expire", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) >= 2
	})
	last := evs[len(evs)-1]
	if last.Reasons[0].Code != "ack_expired" || last.Case.State != fbv1.CaseState_CASE_STATE_OPEN {
		t.Fatalf("after ack expiry: %v in state %v", last.Reasons, last.Case.State)
	}
}

func TestResolvedCaseStopsItsChain(t *testing.T) {
	r := newTimedRig(t)
	m := mention("x:done", "calm", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	d := r.opened("x:done")
	if _, err := r.svc[0].ResolveCase(asAna(), &fbv1.ResolveCaseRequest{Id: d.CaseId, Note: "called him"}); err != nil {
		t.Fatal(err)
	}
	r.elapse(400 * time.Millisecond) // two ack timeouts: level 2 would have fired
	if evs := r.events(); count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) != 0 {
		t.Fatalf("resolved case kept paging: %v", types(evs))
	}
	if _, err := r.svc[0].ResolveCase(asAna(), &fbv1.ResolveCaseRequest{Id: d.CaseId}); err == nil ||
		!strings.Contains(err.Error(), "FailedPrecondition") {
		t.Fatalf("resolving twice: %v, want FailedPrecondition", err)
	}
}

// A consumer whose leader dies can deliver again, as first deliveries,
// messages it had handed out. A decision whose events never reached the
// stream must get them out then too: make chaos with 2 partitions lost 19
// escalations' events when first deliveries skipped the republish. Here
// the events are lost with their stream and the consumer's state deleted,
// so the consumer the service re-creates hands both parts out afresh.
func TestEventsLostBeforePublishGoOutOnAFirstDeliveryToo(t *testing.T) {
	r := newTimedRig(t)
	ctx := context.Background()
	m := mention("x:forgotten", "lost", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.opened("x:forgotten")
	// A fresh stream: no events, and no memory of their ids.
	name := r.bus.Names.Stream(bus.NounCases)
	cases, err := r.bus.JS.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.bus.JS.DeleteStream(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := r.bus.JS.CreateStream(ctx, cases.CachedInfo().Config); err != nil {
		t.Fatal(err)
	}
	if err := r.bus.JS.DeleteConsumer(ctx, r.bus.Names.MentionStream(0), bus.Durable("escalation", "join")); err != nil {
		t.Fatal(err)
	}
	r.waitEvents("the opened event again after the consumer lost its state", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED) == 1
	})
}

func TestEventsLostBeforePublishAreRepublishedOnRedelivery(t *testing.T) {
	r := newTimedRig(t)
	ctx := context.Background()
	cases := r.bus.Names.Stream(bus.NounCases)
	stream, err := r.bus.JS.Stream(ctx, cases)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	// The escalation replica stores its decision, then cannot publish: as if
	// it died between its Redis write and its ack.
	broken := cfg
	broken.Subjects = []string{"nowhere.>"}
	if _, err := r.bus.JS.UpdateStream(ctx, broken); err != nil {
		t.Fatal(err)
	}
	m := mention("x:lost", "lost", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.decision("x:lost")
	r.elapse(150 * time.Millisecond) // level 2 fires while publishing fails
	if _, err := r.bus.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	evs := r.waitEvents("the opened event after redelivery", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED) == 1
	})
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED && e.MentionId != "x:lost" {
			t.Fatalf("republished %v", e)
		}
	}
	// The chain's level 2 fired while publishing failed; it comes out of the
	// outbox once the bus is back, once.
	r.elapse(time.Second) // the outbox's retry
	r.waitEvents("the escalation from the outbox", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) >= 1
	})
	r.elapse(time.Hour)
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED); n != 1 {
		t.Fatalf("%d escalated events, want 1", n)
	}
}

func TestTimeoutDecisionIsPublishedFromTheOutboxWhenThePublishFails(t *testing.T) {
	r := newTimedRig(t)
	ctx := context.Background()
	stream, err := r.bus.JS.Stream(ctx, r.bus.Names.Stream(bus.NounCases))
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	m := mention("x:alone", "alone", 332_000, time.Now())
	r.send(scored(m, 0.9), 1) // its reach never comes
	r.settled()
	// The case events cannot be published when the join times out.
	broken := cfg
	broken.Subjects = []string{"nowhere.>"}
	if _, err := r.bus.JS.UpdateStream(ctx, broken); err != nil {
		t.Fatal(err)
	}
	r.elapse(time.Minute) // past the 200ms join timeout, armed on the real clock
	d := r.decision("x:alone")
	if !slices.Equal(d.Missing, []string{"reach"}) || d.CaseId == "" {
		t.Fatalf("timeout decision: missing %v case %q", d.Missing, d.CaseId)
	}
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED); n != 0 {
		t.Fatalf("%d opened events while the stream took none", n)
	}
	if out, err := r.svc[0].store.Outbox(ctx, d.CaseId); err != nil || len(out) != 1 {
		t.Fatalf("outbox after the failed publish: %d events, %v; want the opened event", len(out), err)
	}
	if _, err := r.bus.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	r.elapse(time.Second) // the outbox's retry
	evs := r.waitEvents("the opened event from the outbox", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED) >= 1
	})
	if e := evs[0]; e.MentionId != "x:alone" || e.Case.GetId() != d.CaseId {
		t.Fatalf("published %v", e)
	}
	r.elapse(time.Minute)
	r.elapse(time.Minute)
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED); n != 1 {
		t.Fatalf("%d opened events, want 1", n)
	}
	if out, err := r.svc[0].store.Outbox(ctx, d.CaseId); err != nil || len(out) != 0 {
		t.Fatalf("outbox after the publish: %d events, %v; want none", len(out), err)
	}
}

// writeFile replaces a file in one step, as an editor's save or a
// Kubernetes ConfigMap update does, so a reloader polling it never reads it
// half-written (truncated, then filled).
func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func TestLateReachIsDecidedWithoutThenRaisesTheCase(t *testing.T) {
	r := newRig(t, 1)
	m := mention("x:slow", "slow", 332_000, time.Now())
	r.send(scored(m, 0.9), 1)
	d := r.decision("x:slow")
	if !slices.Equal(d.Missing, []string{"reach"}) || d.Team != "standard" {
		t.Fatalf("decision without reach: missing %v team %q", d.Missing, d.Team)
	}
	if !strings.Contains(fmt.Sprint(d.Reasons), "reach unknown") {
		t.Errorf("reasons %v do not say reach was missing", d.Reasons)
	}
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 2) // a duplicate of the late part
	// The raise is the late part's event; under load the standard chain's
	// own timer may fire first, so it is found by its id, not its place.
	var raised *fbv1.CaseEvent
	r.waitEvents("the case to be raised", func(evs []*fbv1.CaseEvent) bool {
		for _, e := range evs {
			if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED && strings.HasSuffix(e.Id, ":late") {
				raised = e
				return true
			}
		}
		return false
	})
	if raised.Case.Team != "senior" || raised.Case.Priority != fbv1.Priority_PRIORITY_CRITICAL || raised.Level != 1 {
		t.Fatalf("raised case: team %s priority %v level %d", raised.Case.Team, raised.Case.Priority, raised.Level)
	}
	revised := r.decision("x:slow")
	if len(revised.Missing) != 0 || revised.Priority != fbv1.Priority_PRIORITY_CRITICAL {
		t.Fatalf("revised decision: missing %v priority %v", revised.Missing, revised.Priority)
	}
	r.settled()
	var lateRaises int
	for _, e := range r.events() {
		if strings.HasSuffix(e.Id, ":late") {
			lateRaises++
		}
	}
	if lateRaises != 1 {
		t.Fatalf("%d raises from the late part, want 1", lateRaises)
	}
}

func TestPolicyReloadsWithoutRestartAndRefusesABadOne(t *testing.T) {
	r := newRig(t, 1)
	before := r.svc[0].policy.Load().Version()
	bad := strings.Replace(fastPolicy, "match: complaint && reach.tier == TIER_RIVAL", "match: complaint &&& nonsense", 1)
	if err := writeFile(r.policyPath, bad); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the bad policy refused", func() bool {
		st := &r.svc[0].liveState
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.refused != ""
	})
	if got := r.svc[0].policy.Load().Version(); got != before {
		t.Fatalf("a bad policy replaced the running one: %s -> %s", before, got)
	}
	quiet := strings.Replace(fastPolicy, "team: standard", "team: quiet-team\n    chain: standard", 1)
	if err := writeFile(r.policyPath, quiet); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the good policy picked up", func() bool { return r.svc[0].policy.Load().Version() != before })
	m := mention("x:reloaded", "small", 10, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
	if d := r.decision("x:reloaded"); d.Team != "quiet-team" {
		t.Fatalf("decided by the old policy: team %q", d.Team)
	}
}

func TestShadowPolicyIsRecordedButPagesNobody(t *testing.T) {
	shadowPath := t.TempDir() + "/shadow.yaml"
	// The candidate sends every complaint, even small ones, to senior.
	shadowDoc := strings.Replace(fastPolicy, "team: standard\n    priority: NORMAL", "team: senior\n    priority: CRITICAL", 1)
	if err := writeFile(shadowPath, shadowDoc); err != nil {
		t.Fatal(err)
	}
	r := newRigWith(t, 1, func(c *Config) { c.ShadowPolicyFile = shadowPath })
	m := mention("x:shadowed", "small", 10, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
	d := r.decision("x:shadowed")
	if d.Team != "standard" || d.Shadow == nil || d.Shadow.Team != "senior" || d.Shadow.Priority != fbv1.Priority_PRIORITY_CRITICAL {
		t.Fatalf("live team %q, shadow %v", d.Team, d.Shadow)
	}
	evs := r.waitEvents("the live case", func(evs []*fbv1.CaseEvent) bool { return len(evs) >= 1 })
	for _, e := range evs {
		if e.Case.Team != "standard" {
			t.Fatalf("the shadow policy changed a case: %v", types(evs))
		}
	}
	if got := compare(d, d.Shadow); got != "would_raise" {
		t.Fatalf("comparison %q, want would_raise", got)
	}
}

func TestWatchStreamsCaseEventsOfTheTeam(t *testing.T) {
	r := newRig(t, 1)
	conn, err := rpc.Dial(r.svc[0].GRPCAddr(), r.env.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := fbv1.NewEscalationServiceClient(conn).WatchCases(ctx, &fbv1.WatchCasesRequest{Team: "senior"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil { // the server is subscribed
		t.Fatal(err)
	}
	small := mention("x:watch-small", "small", 10, time.Now())
	big := mention("x:watch-big", "big", 500_000, time.Now())
	r.send(scored(small, 0.9), 1)
	r.send(reached(small, fbv1.Tier_TIER_LOW), 1)
	r.decision("x:watch-small")
	r.send(scored(big, 0.9), 1)
	r.send(reached(big, fbv1.Tier_TIER_RIVAL), 1)
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Event; e.Case.Team != "senior" || e.MentionId != "x:watch-big" {
		t.Fatalf("watched event for team %q mention %q; the standard team's case should be filtered out", e.Case.Team, e.MentionId)
	}
}

func TestAcknowledgementFromAReceiverStopsTheChain(t *testing.T) {
	r := newTimedRig(t)
	m := mention("x:paged", "paged", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	d := r.opened("x:paged")
	cmd := &fbv1.CaseCommand{Id: "pd-1", CaseId: d.CaseId, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE, Actor: "ana@pagerduty", Source: "pagerduty"}
	for i := range 2 { // a webhook delivered twice
		if _, err := r.bus.Publisher.Publish(context.Background(), bus.Event{Subject: r.bus.Names.CaseCommands(), MsgID: fmt.Sprintf("pd-1#%d", i), Message: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	evs := r.waitEvents("the acknowledgement", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED) >= 1
	})
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED && (e.Actor != "ana@pagerduty" || e.AuthMethod != "pagerduty") {
			t.Fatalf("acknowledged by %q through %q", e.Actor, e.AuthMethod)
		}
	}
	r.settledCommands()
	r.elapse(200 * time.Millisecond) // past level 1's ack timeout
	evs = r.events()
	if n := count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED); n != 1 {
		t.Fatalf("%d acknowledgements, want 1: %v", n, types(evs))
	}
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED && e.Reasons[0].Code == "not_acknowledged" {
			t.Fatalf("the chain went on after the acknowledgement: %v", types(evs))
		}
	}
}

func TestChainTimersSurviveARestart(t *testing.T) {
	r := newTimedRig(t)
	m := mention("x:restart", "restart", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	r.decision("x:restart")
	// The only replica goes away before level 2 is due...
	if err := r.svc[0].Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(200 * time.Millisecond) // past level 1's 150ms ack timeout, with nobody running
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED); n != 0 {
		t.Fatalf("%d escalations with no replica running", n)
	}
	// ...and a new one, sharing nothing but Redis and NATS, fires it once.
	again := newReplica(t, r)
	r.elapse(0, again)
	evs := r.waitEvents("level 2 after the restart", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) >= 1
	})
	r.elapse(time.Hour, again)
	if n := count(r.events(), fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED); n != 1 || evs[len(evs)-1].Level != 2 {
		t.Fatalf("after restart: %v", types(r.events()))
	}
}

func TestThirdUnansweredComplaintEscalatesAndABrandReplyIsCounted(t *testing.T) {
	r := newRig(t, 1)
	start := time.Now().Add(-3 * time.Hour)
	for i := 1; i <= 2; i++ {
		m := mention(fmt.Sprintf("x:story-%d", i), "sam", 40, start.Add(time.Duration(i)*time.Hour))
		r.send(scored(m, 0.9), 1)
		r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
		if d := r.decision(m.Id); d.Team != "standard" {
			t.Fatalf("complaint %d went to %q", i, d.Team)
		}
	}
	m := mention("x:story-3", "sam", 40, start.Add(3*time.Hour))
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_LOW), 1)
	d := r.decision("x:story-3")
	if d.Team != "senior" || d.History.ComplaintsInWindow != 3 || d.History.UnansweredStreak != 3 {
		t.Fatalf("third complaint: team %q history %v", d.Team, d.History)
	}
	if !strings.Contains(fmt.Sprint(d.Reasons), "third complaint in 24h") {
		t.Fatalf("reasons %v", d.Reasons)
	}
	// The brand finally answers: the streak ends, the window remembers.
	reply := &fbv1.Mention{Id: "x:reply", Platform: fbv1.Platform_PLATFORM_X, Brand: "acme", BrandReply: true, ReplyToAuthorId: "sam",
		Author: &fbv1.Author{Id: "acme"}, Text: "So sorry, Sam, DMing you now", CreatedAt: timestamppb.New(start.Add(3*time.Hour + time.Minute))}
	r.send(scored(reply, 0.1), 1)
	tag := r.svc[0].store.Author(ledger.AuthorKey("acme", fbv1.Platform_PLATFORM_X, "sam")).Tag
	testkit.Eventually(t, "the brand reply recorded", func() bool {
		at, err := r.svc[0].store.LastReply(context.Background(), tag)
		return err == nil && !at.IsZero()
	})
	m4 := mention("x:story-4", "sam", 40, start.Add(4*time.Hour))
	r.send(scored(m4, 0.9), 1)
	r.send(reached(m4, fbv1.Tier_TIER_LOW), 1)
	d4 := r.decision("x:story-4")
	if d4.History.ComplaintsInWindow != 4 || d4.History.UnansweredStreak != 1 || d4.History.LastBrandReplyAt == nil {
		t.Fatalf("after the brand's reply: history %v", d4.History)
	}
}

// newReplica starts another escalation replica on the rig's infrastructure.
func newReplica(t *testing.T, r *rig) *Service {
	t.Helper()
	return r.start("escalation-new", func(*Config) {})
}

func TestAReplyHandledAfterALaterComplaintDoesNotAnswerIt(t *testing.T) {
	r := newRig(t, 1)
	start := time.Now().Add(-time.Hour)
	first := mention("x:order-1", "ola", 40, start)
	r.send(scored(first, 0.9), 1)
	r.send(reached(first, fbv1.Tier_TIER_LOW), 1)
	r.decision("x:order-1")
	// A complaint made after the brand replied is handled before the reply.
	later := mention("x:order-2", "ola", 40, start.Add(30*time.Minute))
	r.send(scored(later, 0.9), 1)
	r.send(reached(later, fbv1.Tier_TIER_LOW), 1)
	r.decision("x:order-2")
	reply := &fbv1.Mention{Id: "x:order-reply", Platform: fbv1.Platform_PLATFORM_X, Brand: "acme", BrandReply: true, ReplyToAuthorId: "ola",
		Author: &fbv1.Author{Id: "acme"}, Text: "Sorry, Ola", CreatedAt: timestamppb.New(start.Add(10 * time.Minute))}
	r.send(scored(reply, 0.1), 1)
	tag := r.svc[0].store.Author(ledger.AuthorKey("acme", fbv1.Platform_PLATFORM_X, "ola")).Tag
	testkit.Eventually(t, "the brand reply recorded", func() bool {
		at, _ := r.svc[0].store.LastReply(context.Background(), tag)
		return !at.IsZero()
	})
	next := mention("x:order-3", "ola", 40, start.Add(40*time.Minute))
	r.send(scored(next, 0.9), 1)
	r.send(reached(next, fbv1.Tier_TIER_LOW), 1)
	if d := r.decision("x:order-3"); d.History.UnansweredStreak != 2 {
		t.Fatalf("streak %d, want 2: the complaint made after the reply is still unanswered", d.History.UnansweredStreak)
	}
}

// asAna is the context of a call that ana made with her API key, as the
// gRPC server's authentication leaves it for the handlers.
func asAna() context.Context {
	return auth.NewContext(context.Background(), auth.Identity{Subject: "key:ana", Name: "ana", Roles: []auth.Role{auth.Responder}, Method: auth.MethodAPIKey})
}
