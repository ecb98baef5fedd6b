// Package e2e runs all five services against an embedded NATS server and
// the machine's real Redis, and checks what comes out of the whole flow.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
	"github.com/firebreak/firebreak/tools/stack"
)

// world is a running Firebreak with a webhook that records what it is told.
type world struct {
	t     *testing.T
	stack *stack.Stack
	// replicas are every running copy of the services, stack first; calls
	// and posts go to the first unless a test picks another.
	replicas []*stack.Stack
	nc       *nats.Conn
	// srv is the NATS server; each service logs in as its own user.
	srv *server.Server
	// names are the services' subject and stream names.
	names      bus.Names
	escalation fbv1.EscalationServiceClient
	hook       *recorder
	// clock is the escalation replicas' clock when the test skips time
	// (setup.clock); nil: the system clock.
	clock *shiftClock
}

type recorder struct {
	mu    sync.Mutex
	pages []page
}

type page struct {
	Action   string `json:"action"`
	DedupKey string `json:"dedup_key"`
	Title    string `json:"title"`
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.pages = append(r.pages, p)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// about returns the pages whose title names the author.
func (r *recorder) about(handle string) []page {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []page
	for _, p := range r.pages {
		if strings.Contains(p.Title, "@"+handle+" ") {
			out = append(out, p)
		}
	}
	return out
}

func start(t *testing.T) *world {
	t.Helper()
	return startWith(t, nil)
}

// startWith starts Firebreak with extra flags per service.
func startWith(t *testing.T, extra map[string][]string) *world {
	t.Helper()
	return startReplicas(t, 1, extra)
}

// startReplicas starts n copies of every service on one NATS server and
// one Redis prefix, as n replicas of each would run, with one API key
// that works for all of them.
func startReplicas(t *testing.T, n int, extra map[string][]string) *world {
	t.Helper()
	return startSetup(t, setup{replicas: n, extra: extra})
}

// setup is how a test runs Firebreak.
type setup struct {
	replicas int
	// extra are flags per service.
	extra map[string][]string
	// tel makes each service's telemetry.
	tel telemetry.Options
	// cluster, when set, holds the state instead of the machine's Redis.
	cluster *storetest.Cluster
	// clock, when set, is every escalation replica's clock, for tests
	// that skip time (world.skip).
	clock *shiftClock
	// partitions splits the mentions over that many streams
	// (--mention-partitions); 0 and 1 are one stream.
	partitions int
}

// startSetup starts Firebreak as s says.
func startSetup(t *testing.T, s setup) *world {
	t.Helper()
	n, extra, tel := max(s.replicas, 1), s.extra, s.tel
	srv := bustest.ServerPartitioned(t, max(s.partitions, 1))
	hook := &recorder{}
	sink := httptest.NewServer(hook)
	t.Cleanup(sink.Close)
	token, keysFile, err := stack.LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var redisFlags []string
	if s.cluster != nil {
		redisFlags = []string{"--redis-addrs=" + strings.Join(s.cluster.Addrs, ",")}
	} else {
		prefix := storetest.Prefix(t)
		redisFlags = []string{"--redis-url=" + storetest.URL(), "--redis-key-prefix=" + prefix}
		client, _ := storetest.New(t) // cleans up the keys under our prefix too
		// Cleanups run last first: the keys go after every replica drained.
		t.Cleanup(func() { storetest.Clean(t, client, prefix) })
	}
	local := []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", fmt.Sprintf("--mention-partitions=%d", max(s.partitions, 1))}
	w := &world{t: t, nc: bustest.Conn(t, srv), srv: srv, hook: hook, clock: s.clock,
		names: bus.Names{Prefix: bustest.Prefix, Partitions: s.partitions}}
	var escalationClock clock.Clock
	if s.clock != nil {
		escalationClock = s.clock
	}
	for range n {
		st, err := stack.Start(context.Background(), stack.Options{
			AcceptRedisLoss: true, // the machine's Redis need not persist
			EscalationClock: escalationClock,
			Common:          append(append([]string{"--nats-url=" + srv.ClientURL()}, redisFlags...), local...),
			Flags: map[string][]string{
				"reach":      append([]string{"--brand-followers=acme=203000"}, extra["reach"]...),
				"notifier":   append([]string{"--webhook-url=" + sink.URL}, extra["notifier"]...),
				"escalation": extra["escalation"],
				// acme's own X account: ingest takes brand replies from it alone.
				"ingest":  append([]string{"--brand-accounts=acme=x:acme-id"}, extra["ingest"]...),
				"scorer":  extra["scorer"],
				"console": {"--token-file=" + filepath.Join(filepath.Dir(keysFile), "token")},
			},
			KeysFile:        keysFile,
			Telemetry:       func(name string) (*telemetry.Telemetry, error) { return telemetrytest.NewWith(t, name, tel), nil },
			NATSPasswordDir: bustest.PasswordDir(t, srv),
		})
		if err != nil {
			t.Fatalf("start Firebreak: %v", err)
		}
		st.Token = token
		w.replicas = append(w.replicas, st)
		// Registered after the stack's telemetry, so it drains first.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := st.Stop(ctx); err != nil {
				t.Errorf("drain: %v", err)
			}
		})
	}
	w.stack = w.replicas[0]
	w.escalation = w.escalationOf(0)
	return w
}

// on is w reporting to t: each subtest gets its own, so independent
// subtests run in parallel on one running Firebreak.
func (w *world) on(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// escalationOf is a client of replica i's escalation.
func (w *world) escalationOf(i int) fbv1.EscalationServiceClient {
	w.t.Helper()
	conn, err := rpc.Dial(w.replicas[i].Escalation.GRPCAddr(), w.replicas[i].Token)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { conn.Close() })
	return fbv1.NewEscalationServiceClient(conn)
}

type post struct {
	id, author, text string
	followers        int64
}

func (w *world) post(p post) {
	w.t.Helper()
	w.accept(p.id, fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":%q,"handle":%q,"followers":%d},"text":%q}`,
		p.id, p.author, p.author, p.followers, p.text))
}

// accept posts one mention's JSON to ingest and fails the test unless it is
// accepted.
func (w *world) accept(id, body string) {
	w.t.Helper()
	resp, err := w.postMentions(body)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		w.t.Fatalf("POST mention %s: %d %s", id, resp.StatusCode, b)
	}
}

// postMentions posts a JSON or NDJSON body to ingest with the stack's token.
func (w *world) postMentions(body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+w.stack.Ingest.HTTPAddr()+"/v1/mentions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.stack.Token)
	return http.DefaultClient.Do(req)
}

// decision waits for the mention's decision.
func (w *world) decision(mentionID string) *fbv1.Decision {
	w.t.Helper()
	var d *fbv1.Decision
	testkit.Eventually(w.t, "decision on "+mentionID, func() bool {
		resp, err := w.escalation.ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: mentionID})
		if err != nil {
			return false
		}
		d = resp.Decision
		return true
	})
	return d
}

func (w *world) caseOf(id string) (*fbv1.Case, []*fbv1.CaseEvent) {
	w.t.Helper()
	resp, err := w.escalation.GetCase(context.Background(), &fbv1.GetCaseRequest{Id: id})
	if err != nil {
		w.t.Fatalf("get case %s: %v", id, err)
	}
	return resp.Case, resp.Timeline
}

func (w *world) pagesAbout(handle string, n int) []page {
	w.t.Helper()
	testkit.Eventually(w.t, fmt.Sprintf("%d pages about @%s", n, handle), func() bool { return len(w.hook.about(handle)) >= n })
	return w.hook.about(handle)
}

const complaint = "@acme third time asking: my flight was cancelled, I'm stranded and nobody answers. Terrible service!"

func TestFlow(t *testing.T) { flow(t, start(t)) }

// TestFlowOnRedisCluster is the flow with its state in a real Redis
// Cluster of three primaries and three replicas.
func TestFlowOnRedisCluster(t *testing.T) {
	cluster := storetest.StartCluster(t)
	flow(t, startSetup(t, setup{cluster: cluster}))
	// The state is spread over the shards, not piled on one.
	spread := map[string]int64{}
	for addr, primary := range cluster.Primaries(t) {
		n, err := primary.DBSize(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		spread[addr] = n
	}
	t.Logf("keys per primary: %v", spread)
	if len(spread) != 3 {
		t.Fatalf("%d primaries answered, want 3", len(spread))
	}
	for addr, n := range spread {
		if n == 0 {
			t.Errorf("primary %s holds no key: the state is not spread over the cluster (%v)", addr, spread)
		}
	}
}

// flow is the README's story through a running Firebreak; its parts, about
// different authors, run in parallel and are all done when it returns.
func flow(t *testing.T, w *world) {
	t.Run("Story", func(t *testing.T) { story(t, w) })
}

func story(t *testing.T, w *world) {

	t.Run("HighReachComplainerGoesToSeniorOnFirstComplaint", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "rival-1", author: "dan", followers: 332_000, text: complaint})
		d := w.decision("x:rival-1")
		if !d.Escalate || d.Team != "senior" {
			t.Fatalf("decision = escalate %v team %q, want senior: %v", d.Escalate, d.Team, d.Reasons)
		}
		c, _ := w.caseOf(d.CaseId)
		if c.Team != "senior" || c.State != fbv1.CaseState_CASE_STATE_OPEN {
			t.Fatalf("case team %q state %v", c.Team, c.State)
		}
		if !hasReason(c.Reasons, "332,000 followers, 1.6x the brand's 203,000") {
			t.Errorf("case reasons %v do not explain the reach", c.Reasons)
		}
		pages := w.pagesAbout("dan", 1)
		if pages[0].Action != "trigger" {
			t.Errorf("page action %q, want trigger", pages[0].Action)
		}
	})

	t.Run("LowReachAuthorGoesToSeniorOnThirdComplaintInWindow", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		var last *fbv1.Decision
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("quiet-%d", i)
			w.post(post{id: id, author: "quiet", followers: 40, text: complaint})
			last = w.decision("x:" + id)
			if i < 3 && last.Team == "senior" {
				t.Fatalf("complaint %d went to senior already: %v", i, last.Reasons)
			}
		}
		if !last.Escalate || last.Team != "senior" {
			t.Fatalf("third complaint: escalate %v team %q, want senior: %v", last.Escalate, last.Team, last.Reasons)
		}
		if last.History.GetComplaintsInWindow() != 3 {
			t.Errorf("complaints in window = %d, want 3", last.History.GetComplaintsInWindow())
		}
		c, _ := w.caseOf(last.CaseId)
		if c.Team != "senior" || len(c.MentionIds) != 3 {
			t.Fatalf("case team %q with %d mentions, want senior with 3", c.Team, len(c.MentionIds))
		}
	})

	t.Run("PositiveMentionOpensNothing", func(t *testing.T) {
		w := w.on(t)
		t.Parallel()
		w.post(post{id: "happy-1", author: "happy", followers: 500_000, text: "@acme thank you, the crew was wonderful and the flight was great!"})
		d := w.decision("x:happy-1")
		if d.Escalate || d.CaseId != "" {
			t.Fatalf("positive mention escalated: %v", d.Reasons)
		}
		list, err := w.escalation.ListCases(context.Background(), &fbv1.ListCasesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list.Cases {
			if c.Author.GetHandle() == "happy" {
				t.Fatalf("case %s opened for a positive mention", c.Id)
			}
		}
	})

	// Not parallel: it resends the stream's last mention, which must be its
	// own; it runs before the parallel parts start.
	t.Run("RedeliveredMessageChangesNothing", func(t *testing.T) {
		w := w.on(t)
		w.post(post{id: "again-1", author: "again", followers: 400_000, text: complaint})
		d := w.decision("x:again-1")
		w.pagesAbout("again", 1)
		_, before := w.caseOf(d.CaseId)

		// The same mention posted again is refused as a duplicate...
		w.post(post{id: "again-1", author: "again", followers: 400_000, text: complaint})
		// ...and the same scored and reached events, re-sent past the
		// broker's dedup, are decided once.
		w.resend(d.Score, d.Reach, "x:again-1", "again")
		w.decision("x:again-1")
		w.settle()

		_, after := w.caseOf(d.CaseId)
		if len(after) != len(before) {
			t.Fatalf("timeline grew from %d to %d events after redelivery", len(before), len(after))
		}
		if pages := w.hook.about("again"); len(pages) != 1 {
			t.Fatalf("author paged %d times, want once", len(pages))
		}
	})
}

// resend publishes a mention's scored and reached events again under fresh
// message ids, as a redelivery after the dedup window would arrive, to the
// partition of the author (acme's on x).
func (w *world) resend(score *fbv1.Score, reach *fbv1.Reach, mentionID, author string) {
	w.t.Helper()
	js, err := jetstream.New(w.nc)
	if err != nil {
		w.t.Fatal(err)
	}
	names := w.names
	part := names.MentionPartition("acme/x/" + author)
	m := &fbv1.Mention{}
	// The original mention is inside the decision's inputs only in part, so
	// read it back from the stream.
	stream, err := js.Stream(context.Background(), names.MentionStream(part))
	if err != nil {
		w.t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(context.Background(), names.InPartition(names.Ingested("x"), part))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := proto.Unmarshal(msg.Data, m); err != nil || m.Id != mentionID {
		w.t.Fatalf("last ingested mention is %q (%v), want %s", m.Id, err, mentionID)
	}
	for subject, payload := range map[string]proto.Message{
		names.InPartition(names.Scored(), part):  &fbv1.ScoredMention{Mention: m, Score: score},
		names.InPartition(names.Reached(), part): &fbv1.ReachedMention{Mention: m, Reach: reach},
	} {
		data, _ := proto.Marshal(payload)
		out := nats.NewMsg(subject)
		out.Data = data
		out.Header.Set(nats.MsgIdHdr, mentionID+":resent:"+subject)
		if _, err := js.PublishMsg(context.Background(), out); err != nil {
			w.t.Fatal(err)
		}
	}
}

// settle waits until every consumer has acknowledged everything.
func (w *world) settle() {
	w.t.Helper()
	js, _ := jetstream.New(w.nc)
	names := w.names
	durables := map[string][]string{names.Stream(bus.NounCases): {"notifier-cases"}}
	for _, stream := range names.MentionStreams() {
		durables[stream] = []string{"scorer-mentions", "reach-mentions", "escalation-join"}
	}
	testkit.Eventually(w.t, "consumers to catch up", func() bool {
		for stream, durables := range durables {
			for _, durable := range durables {
				if done, err := bustest.CaughtUp(context.Background(), js, stream, durable); err != nil || !done {
					return false
				}
			}
		}
		return true
	})
}

func hasReason(reasons []*fbv1.Reason, text string) bool {
	for _, r := range reasons {
		if strings.Contains(r.Text, text) {
			return true
		}
	}
	return false
}
