package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// cases stands in for escalation behind the console's Escalation port: it
// keeps cases in memory, and like escalation it refuses calls without a
// known key and records the key's name as the actor of a change, ignoring
// any name in the request. The browser test in tools/e2e runs the console
// against the real escalation.
type cases struct {
	mu        sync.Mutex
	keys      map[string]string // token: name
	byID      map[string]*fbv1.Case
	timelines map[string][]*fbv1.CaseEvent
	decisions map[string]*fbv1.Decision
	watchers  []chan *fbv1.CaseEvent
	actions   []string
	insights  *fbv1.GetInsightsResponse
	policy    *fbv1.GetPolicyStatusResponse
	stats     *fbv1.GetDeliveryStatsResponse
	tried     []*fbv1.EvaluatePolicyRequest
}

func newCases() *cases {
	return &cases{keys: map[string]string{testToken: "ana"}, byID: map[string]*fbv1.Case{}, timelines: map[string][]*fbv1.CaseEvent{}, decisions: map[string]*fbv1.Decision{}}
}

// testToken is the console's key in these tests; its name is ana.
const testToken = "key-of-ana"

// caller is who a call's credentials name, as escalation's interceptor
// would find them.
func (f *cases) caller(opts []grpc.CallOption) (string, error) {
	for _, o := range opts {
		creds, ok := o.(grpc.PerRPCCredsCallOption)
		if !ok {
			continue
		}
		md, err := creds.Creds.GetRequestMetadata(context.Background())
		if err != nil {
			return "", err
		}
		if name, ok := f.keys[strings.TrimPrefix(md["authorization"], "Bearer ")]; ok {
			return name, nil
		}
	}
	return "", status.Error(codes.Unauthenticated, "no credentials")
}

// put stores a case and tells the watchers, as a decision would.
func (f *cases) put(c *fbv1.Case, t fbv1.CaseEventType) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[c.Id] = c
	e := &fbv1.CaseEvent{Type: t, Case: proto.Clone(c).(*fbv1.Case), At: c.UpdatedAt, Level: c.Level}
	f.timelines[c.Id] = append(f.timelines[c.Id], e)
	for _, w := range f.watchers {
		w <- e
	}
}

func (f *cases) ListCases(_ context.Context, in *fbv1.ListCasesRequest, opts ...grpc.CallOption) (*fbv1.ListCasesResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &fbv1.ListCasesResponse{}
	for _, c := range f.byID {
		if in.State == 0 || c.State == in.State {
			out.Cases = append(out.Cases, proto.Clone(c).(*fbv1.Case))
		}
	}
	return out, nil
}

func (f *cases) GetCase(_ context.Context, in *fbv1.GetCaseRequest, opts ...grpc.CallOption) (*fbv1.GetCaseResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.byID[in.Id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "case not found: %s", in.Id)
	}
	return &fbv1.GetCaseResponse{Case: proto.Clone(c).(*fbv1.Case), Timeline: f.timelines[in.Id]}, nil
}

func (f *cases) WatchCases(ctx context.Context, _ *fbv1.WatchCasesRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[fbv1.WatchCasesResponse], error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	ch := make(chan *fbv1.CaseEvent, 64)
	f.mu.Lock()
	f.watchers = append(f.watchers, ch)
	f.mu.Unlock()
	return &watchStream{ctx: ctx, events: ch}, nil
}

func (f *cases) change(opts []grpc.CallOption, id, note string, t fbv1.CaseEventType, st fbv1.CaseState) error {
	actor, err := f.caller(opts)
	if err != nil {
		return err
	}
	f.mu.Lock()
	c, ok := f.byID[id]
	if !ok {
		f.mu.Unlock()
		return status.Errorf(codes.NotFound, "case not found: %s", id)
	}
	if c.State == st {
		f.mu.Unlock()
		return status.Errorf(codes.FailedPrecondition, "case %s is already %v", id, st)
	}
	c = proto.Clone(c).(*fbv1.Case)
	c.State, c.UpdatedAt = st, timestamppb.Now()
	if st == fbv1.CaseState_CASE_STATE_ACKNOWLEDGED {
		c.AcknowledgedBy, c.AcknowledgedAt = actor, c.UpdatedAt
	} else {
		c.ResolvedBy, c.ResolvedAt = actor, c.UpdatedAt
	}
	f.actions = append(f.actions, fmt.Sprintf("%v %s by %s: %s", t, id, actor, note))
	f.mu.Unlock()
	f.put(c, t)
	f.mu.Lock()
	tl := f.timelines[id]
	tl[len(tl)-1].Actor, tl[len(tl)-1].Note = actor, note
	f.mu.Unlock()
	return nil
}

func (f *cases) AcknowledgeCase(_ context.Context, in *fbv1.AcknowledgeCaseRequest, opts ...grpc.CallOption) (*fbv1.AcknowledgeCaseResponse, error) {
	return &fbv1.AcknowledgeCaseResponse{}, f.change(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, fbv1.CaseState_CASE_STATE_ACKNOWLEDGED)
}

func (f *cases) ResolveCase(_ context.Context, in *fbv1.ResolveCaseRequest, opts ...grpc.CallOption) (*fbv1.ResolveCaseResponse, error) {
	return &fbv1.ResolveCaseResponse{}, f.change(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED, fbv1.CaseState_CASE_STATE_RESOLVED)
}

// edit applies a change other than acknowledge or resolve, like escalation:
// refused (nothing changed) with the code escalation would use, or done
// and recorded with the caller as its actor.
func (f *cases) edit(opts []grpc.CallOption, id, note string, t fbv1.CaseEventType, do func(c *fbv1.Case, actor string) error) error {
	actor, err := f.caller(opts)
	if err != nil {
		return err
	}
	f.mu.Lock()
	c, ok := f.byID[id]
	if !ok {
		f.mu.Unlock()
		return status.Errorf(codes.NotFound, "case not found: %s", id)
	}
	c = proto.Clone(c).(*fbv1.Case)
	if err := do(c, actor); err != nil {
		f.mu.Unlock()
		return err
	}
	c.UpdatedAt = timestamppb.Now()
	f.actions = append(f.actions, fmt.Sprintf("%v %s by %s: %s", t, id, actor, note))
	f.mu.Unlock()
	f.put(c, t)
	f.mu.Lock()
	tl := f.timelines[id]
	tl[len(tl)-1].Actor, tl[len(tl)-1].Note = actor, note
	f.mu.Unlock()
	return nil
}

func (f *cases) AssignCase(_ context.Context, in *fbv1.AssignCaseRequest, opts ...grpc.CallOption) (*fbv1.AssignCaseResponse, error) {
	return &fbv1.AssignCaseResponse{}, f.edit(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_ASSIGNED, func(c *fbv1.Case, actor string) error {
		to := in.Assignee
		if to == "" {
			to = actor
		}
		if c.Assignee == to {
			return status.Errorf(codes.FailedPrecondition, "case %s is already assigned to %s", c.Id, to)
		}
		c.Assignee, c.AssignedBy = to, actor
		return nil
	})
}

func (f *cases) ReopenCase(_ context.Context, in *fbv1.ReopenCaseRequest, opts ...grpc.CallOption) (*fbv1.ReopenCaseResponse, error) {
	return &fbv1.ReopenCaseResponse{}, f.edit(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED, func(c *fbv1.Case, _ string) error {
		if c.State != fbv1.CaseState_CASE_STATE_RESOLVED {
			return status.Errorf(codes.FailedPrecondition, "case %s is open; only resolved cases can be reopened", c.Id)
		}
		c.State, c.ResolvedBy, c.ResolvedAt = fbv1.CaseState_CASE_STATE_OPEN, "", nil
		return nil
	})
}

func (f *cases) SnoozeCase(_ context.Context, in *fbv1.SnoozeCaseRequest, opts ...grpc.CallOption) (*fbv1.SnoozeCaseResponse, error) {
	return &fbv1.SnoozeCaseResponse{}, f.edit(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED, func(c *fbv1.Case, actor string) error {
		if in.Seconds < 60 || in.Seconds > 7*24*3600 {
			return status.Errorf(codes.InvalidArgument, "invalid input: a snooze of %ds is out of bounds; snooze for 1 minute to 168 hours", in.Seconds)
		}
		c.SnoozedUntil, c.SnoozedBy = timestamppb.New(time.Now().Add(time.Duration(in.Seconds)*time.Second)), actor
		return nil
	})
}

func (f *cases) UnsnoozeCase(_ context.Context, in *fbv1.UnsnoozeCaseRequest, opts ...grpc.CallOption) (*fbv1.UnsnoozeCaseResponse, error) {
	return &fbv1.UnsnoozeCaseResponse{}, f.edit(opts, in.Id, in.Note, fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED, func(c *fbv1.Case, _ string) error {
		if c.SnoozedUntil == nil {
			return status.Errorf(codes.FailedPrecondition, "case %s is not snoozed", c.Id)
		}
		c.SnoozedUntil, c.SnoozedBy = nil, ""
		return nil
	})
}

func (f *cases) ExplainDecision(_ context.Context, in *fbv1.ExplainDecisionRequest, opts ...grpc.CallOption) (*fbv1.ExplainDecisionResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.decisions[in.MentionId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no decision recorded for mention %s", in.MentionId)
	}
	return &fbv1.ExplainDecisionResponse{Decision: d}, nil
}

func (f *cases) ListDeliveries(_ context.Context, _ *fbv1.ListDeliveriesRequest, opts ...grpc.CallOption) (*fbv1.ListDeliveriesResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	return &fbv1.ListDeliveriesResponse{}, nil
}

func (f *cases) acted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.actions...)
}

// watchStream is a WatchCases stream that is live at once.
type watchStream struct {
	grpc.ClientStream
	ctx    context.Context
	events chan *fbv1.CaseEvent
}

func (s *watchStream) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (s *watchStream) Recv() (*fbv1.WatchCasesResponse, error) {
	select {
	case e := <-s.events:
		return &fbv1.WatchCasesResponse{Event: e}, nil
	case <-s.ctx.Done():
		return nil, io.EOF
	}
}

// storyCase is the README's case: @dan, 332,000 followers, three complaints.
func storyCase(id string) *fbv1.Case {
	now := time.Now()
	return &fbv1.Case{Id: id, Brand: "acme", Platform: fbv1.Platform_PLATFORM_X, State: fbv1.CaseState_CASE_STATE_OPEN,
		Priority: fbv1.Priority_PRIORITY_CRITICAL, Team: "senior", Chain: "senior", Level: 1,
		Author:     &fbv1.Author{Id: "u42", Handle: "dan", Followers: 332_000},
		Reach:      &fbv1.Reach{Followers: 332_000, BrandFollowers: 203_000, Tier: fbv1.Tier_TIER_RIVAL},
		Reasons:    []*fbv1.Reason{{Code: "high_reach", Text: "author has 332,000 followers, 1.6x the brand's 203,000"}},
		MentionIds: []string{"x:1001"}, MentionUrls: map[string]string{"x:1001": "https://x.com/dan/status/1001"},
		Texts:    []string{"@acme my broadband has been down for 5 days."},
		OpenedAt: timestamppb.New(now.Add(-time.Minute)), UpdatedAt: timestamppb.New(now.Add(-time.Minute)),
	}
}

// console is a console under test with its browser-like client.
type console struct {
	svc    *Service
	fake   *cases
	base   string
	client *http.Client
}

func start(t testing.TB, role string, fake *cases, configure ...func(*Config)) *console {
	t.Helper()
	cfg := Config{Common: config.Common{Service: "console", HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"},
		EscalationAddr: "fake", NotifierAddr: "fake", Token: testToken, LocalUser: "ana", LocalRole: role, Resync: time.Minute, CallTimeout: 5 * time.Second}
	for _, c := range configure {
		c(&cfg)
	}
	svc, err := build(cfg, &deps.Deps{Tel: telemetrytest.New(t, "console")}, fake, fake)
	if err != nil {
		t.Fatal(err)
	}
	svc.scorer = fake
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	jar, _ := cookiejar.New(nil)
	c := &console{svc: svc, fake: fake, base: "http://" + svc.HTTPAddr(), client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	testkit.Eventually(t, "the queue to load", func() bool { return svc.watch.status() == "" })
	return c
}

func (c *console) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.client.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (c *console) post(t *testing.T, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.client.PostForm(c.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var tokenPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the form token from a page.
func token(t *testing.T, page string) string {
	t.Helper()
	m := tokenPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form token on the page:\n%s", page)
	}
	return m[1]
}

func contains(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// The insights, the policy's status and a tried mention, as escalation,
// the notifier and the scorer would answer them.
func (f *cases) GetInsights(_ context.Context, in *fbv1.GetInsightsRequest, opts ...grpc.CallOption) (*fbv1.GetInsightsResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	return f.insights, nil
}

func (f *cases) GetPolicyStatus(_ context.Context, _ *fbv1.GetPolicyStatusRequest, opts ...grpc.CallOption) (*fbv1.GetPolicyStatusResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	return f.policy, nil
}

func (f *cases) GetDeliveryStats(_ context.Context, _ *fbv1.GetDeliveryStatsRequest, opts ...grpc.CallOption) (*fbv1.GetDeliveryStatsResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	return f.stats, nil
}

func (f *cases) EvaluatePolicy(_ context.Context, in *fbv1.EvaluatePolicyRequest, opts ...grpc.CallOption) (*fbv1.EvaluatePolicyResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.tried = append(f.tried, in)
	f.mu.Unlock()
	d := &fbv1.Decision{Escalate: in.Reach.GetTier() == fbv1.Tier_TIER_RIVAL, Route: "rival-reach", Team: "senior", Priority: fbv1.Priority_PRIORITY_CRITICAL,
		Reasons: []*fbv1.Reason{{Text: "author has " + in.Mention.GetAuthor().GetHandle() + "'s audience"}}}
	return &fbv1.EvaluatePolicyResponse{Decision: d}, nil
}

func (f *cases) Score(_ context.Context, in *fbv1.ScoreRequest, opts ...grpc.CallOption) (*fbv1.ScoreResponse, error) {
	if _, err := f.caller(opts); err != nil {
		return nil, err
	}
	return &fbv1.ScoreResponse{Score: &fbv1.Score{Complaint: 0.9, Topics: []string{"outage"}}}, nil
}
