package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func storyInsights() *fbv1.GetInsightsResponse {
	return &fbv1.GetInsightsResponse{From: timestamppb.New(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)), BucketHours: 6,
		Brands: []*fbv1.BrandActivity{{Brand: `<b>acme</b>`, Mentions: []int64{3, 0, 1200, 4}, Complaints: []int64{1, 0, 900, 2}}},
		Tiers: []*fbv1.TierEscalations{
			{Tier: fbv1.Tier_TIER_RIVAL, Mentions: 1, Authors: 1, Routes: []*fbv1.RouteCount{{Route: "rival-reach", Mentions: 1, Authors: 1}}},
			{Tier: fbv1.Tier_TIER_LOW, Mentions: 3, Authors: 2, Routes: []*fbv1.RouteCount{{Route: "repeat", Mentions: 3, Authors: 2}}}},
		FirstAnswers: []*fbv1.FirstAnswers{{Priority: fbv1.Priority_PRIORITY_CRITICAL, Answered: 4, P50: durationpb.New(12 * time.Minute),
			P90: durationpb.New(95 * time.Minute), Target: durationpb.New(15 * time.Minute), Breached: 2}},
	}
}

func TestInsightsShowTheCountsTheQuietRepeatComplainersAndEscapeNames(t *testing.T) {
	fake := newCases()
	fake.insights = storyInsights()
	fake.stats = &fbv1.GetDeliveryStatsResponse{Receivers: []*fbv1.ReceiverStats{{Receiver: "senior-oncall", Type: "pagerduty", Delivered: 7, Failed: 1, Retried: 3}}}
	con := start(t, "viewer", fake)

	code, page, _ := con.get(t, "/insights?days=7")
	if code != http.StatusOK {
		t.Fatalf("insights: %d\n%s", code, page)
	}
	contains(t, page, "&lt;b&gt;acme&lt;/b&gt;</strong>: 1,207 mentions, 903 complaints (75%)",
		"<td data-label=\"Reach tier\">low</td><td data-label=\"Escalations\">3</td><td data-label=\"Authors\">2</td>", "repeat: 3, 2",
		"<td data-label=\"p50\">12m</td><td data-label=\"p90\">1h 35m</td>", "<td data-label=\"Target\">15m</td>", ">2</span>",
		"senior-oncall <small>(pagerduty)</small>", "<polyline class=\"line complaints\"", "<svg class=\"chart bars\"")
	if strings.Contains(page, "<b>acme</b>") {
		t.Error("a brand name reached the page unescaped")
	}
	if code, _, _ := con.get(t, "/insights?days=99"); code != http.StatusBadRequest {
		t.Errorf("99 days: %d, want 400", code)
	}
	// When the services refuse, the page says so instead of failing.
	fake.keys = map[string]string{}
	code, page, _ = con.get(t, "/insights")
	contains(t, page, "Escalation&#39;s counts cannot be read now", "The notifier&#39;s counts cannot be read now")
	if code != http.StatusOK {
		t.Errorf("insights without the services: %d", code)
	}
}

func TestPolicyPageShowsTheRunningAndShadowPoliciesAndARefusedReload(t *testing.T) {
	fake := newCases()
	fake.policy = &fbv1.GetPolicyStatusResponse{
		Live: &fbv1.PolicyStatus{Version: "v-live", File: "/etc/firebreak/policy.yaml", LoadedAt: timestamppb.Now(), CheckedAt: timestamppb.Now(),
			Refused: `route "x" line 4: <unknown field>`, RefusedAt: timestamppb.Now(), Source: "routes:\n  - name: <rival>\n"},
		Shadow:            &fbv1.PolicyStatus{Version: "v-shadow", File: "/etc/firebreak/candidate.yaml"},
		ShadowComparisons: []*fbv1.ShadowComparison{{Comparison: "same", Mentions: 40}, {Comparison: "would_raise", Mentions: 3}},
	}
	con := start(t, "viewer", fake)
	_, page, _ := con.get(t, "/policy")
	contains(t, page, "version v-live", "/etc/firebreak/policy.yaml", "refused", "line 4: &lt;unknown field&gt;", "The version above still runs",
		"Version v-shadow", "<td data-label=\"Compared\">would_raise</td><td data-label=\"Mentions\">3</td>", "name: &lt;rival&gt;",
		"ana is signed in as a viewer; this needs a admin", `<button type="submit" disabled`)
	code, page, _ := con.post(t, "/policy/try", url.Values{"csrf": {token(t, page)}, "text": {"down again"}, "brand": {"acme"},
		"platform": {"x"}, "tier": {"rival"}, "followers": {"1"}, "brand_followers": {"1"}, "complaints": {"1"}})
	if code != http.StatusForbidden || !strings.Contains(page, "Nothing was tried") || len(fake.tried) != 0 {
		t.Fatalf("a viewer's try: %d, %d evaluations", code, len(fake.tried))
	}
}

func TestAnAdminTriesAMentionAgainstThePolicy(t *testing.T) {
	fake := newCases()
	fake.policy = &fbv1.GetPolicyStatusResponse{Live: &fbv1.PolicyStatus{Version: "v1"}}
	con := start(t, "admin", fake)
	_, page, _ := con.get(t, "/policy")
	form := url.Values{"csrf": {token(t, page)}, "text": {"@acme <script>x()</script> down for 5 days"}, "brand": {"acme"}, "handle": {"@dan"},
		"platform": {"x"}, "tier": {"rival"}, "followers": {"332000"}, "brand_followers": {"203000"}, "complaints": {"3"}, "verified": {"1"}}
	code, page, _ := con.post(t, "/policy/try", form)
	if code != http.StatusOK {
		t.Fatalf("try: %d\n%s", code, page)
	}
	contains(t, page, "<strong>Escalates</strong> by route <code>rival-reach</code>: team senior", "author has dan&#39;s audience",
		"complaint 90%", "&lt;script&gt;x()&lt;/script&gt;")
	in := fake.tried[0]
	if in.Mention.Author.Handle != "dan" || in.Reach.Followers != 332_000 || in.Reach.RelativeToBrand < 1.6 || in.History.ComplaintsInWindow != 3 ||
		in.Score.GetComplaint() != 0.9 || !in.Mention.Author.Verified {
		t.Errorf("escalation was asked %v", in)
	}
	form.Set("followers", "many")
	form.Set("text", "")
	if code, page, _ := con.post(t, "/policy/try", form); code != http.StatusBadRequest || !strings.Contains(page, "followers must be a whole number") ||
		!strings.Contains(page, "the text must be 1 to 2000 characters") {
		t.Errorf("a bad form: %d", code)
	}
}
