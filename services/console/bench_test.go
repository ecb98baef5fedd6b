package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// BenchmarkQueuePage10000OpenCases draws the first page of the queue, by
// priority and age, with 10,000 open cases on the board: the server-side
// work of one queue request (target: under 100 ms).
func BenchmarkQueuePage10000OpenCases(b *testing.B) {
	fake := newCases()
	start := time.Now().Add(-48 * time.Hour)
	for i := range 10_000 {
		c := storyCase(fmt.Sprintf("c%05d-1", i))
		c.Author = &fbv1.Author{Handle: fmt.Sprintf("author%05d", i), Followers: int64(i * 37)}
		c.Priority = fbv1.Priority(1 + i%4)
		c.Brand = []string{"acme", "globex", "initech"}[i%3]
		c.OpenedAt = timestamppb.New(start.Add(time.Duration(i) * time.Second))
		fake.byID[c.Id] = c
	}
	svc := benchService(b, fake)
	testkit.Eventually(b, "10,000 cases on the board", func() bool { return svc.board.Len() == 10_000 })
	h := svc.routes()
	for _, tc := range []struct{ name, url string }{{"first page", "/"}, {"filtered", "/?brand=globex&priority=high&page=3"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.url, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("queue: %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkCasePage200Mentions draws a case holding 200 mentions, each
// with its decision read through the Escalation port (target: under 50 ms).
func BenchmarkCasePage200Mentions(b *testing.B) {
	fake := newCases()
	c := storyCase("big-1")
	c.MentionIds, c.MentionUrls = nil, map[string]string{}
	at := time.Now().Add(-24 * time.Hour)
	for i := range 200 {
		id := fmt.Sprintf("x:%d", i)
		c.MentionIds = append(c.MentionIds, id)
		c.MentionUrls[id] = "https://x.com/dan/status/" + id[2:]
		fake.decisions[id] = &fbv1.Decision{MentionId: id, Route: "rival-reach",
			Mention: &fbv1.Mention{Id: id, Text: fmt.Sprintf("@acme complaint number %d: still no broadband, still no answer", i), CreatedAt: timestamppb.New(at.Add(time.Duration(i) * time.Minute))},
			Score:   &fbv1.Score{Complaint: 0.9, Topics: []string{"outage", "customer_service"}, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE}}
	}
	fake.put(c, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	svc := benchService(b, fake)
	h := svc.routes()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cases/big-1", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("case: %d", rec.Code)
		}
	}
}

func benchService(b *testing.B, fake *cases) *Service {
	b.Helper()
	con := start(b, "admin", fake)
	return con.svc
}

// BenchmarkInsightsPage draws the insights page from a week of counts for
// ten brands (escalation's and the notifier's answers in memory).
func BenchmarkInsightsPage(b *testing.B) {
	fake := newCases()
	ins := storyInsights()
	ins.Brands = nil
	for i := range 10 {
		a := &fbv1.BrandActivity{Brand: fmt.Sprintf("brand-%d", i)}
		for j := range 28 {
			a.Mentions, a.Complaints = append(a.Mentions, int64(100+j*i)), append(a.Complaints, int64(30+j))
		}
		ins.Brands = append(ins.Brands, a)
	}
	fake.insights = ins
	fake.stats = &fbv1.GetDeliveryStatsResponse{Receivers: []*fbv1.ReceiverStats{{Receiver: "senior-oncall", Type: "pagerduty", Delivered: 70, Failed: 2},
		{Receiver: "head-of-social", Type: "slack", Delivered: 12}}}
	h := benchService(b, fake).routes()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/insights", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("insights: %d", rec.Code)
		}
	}
}

// BenchmarkPolicyPage draws the policy page with the default policy's
// YAML and a shadow policy's comparisons.
func BenchmarkPolicyPage(b *testing.B) {
	fake := newCases()
	fake.policy = &fbv1.GetPolicyStatusResponse{Live: &fbv1.PolicyStatus{Version: "v1", Source: strings.Repeat("routes:\n  - name: rival-reach\n    match: complaint && reach.tier == TIER_RIVAL\n", 60)},
		Shadow: &fbv1.PolicyStatus{Version: "v2"}, ShadowComparisons: []*fbv1.ShadowComparison{{Comparison: "same", Mentions: 4000}, {Comparison: "would_raise", Mentions: 12}}}
	h := benchService(b, fake).routes()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/policy", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("policy: %d", rec.Code)
		}
	}
}
