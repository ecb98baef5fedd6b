package view

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func at(minutes int) *timestamppb.Timestamp {
	return timestamppb.New(now.Add(time.Duration(minutes) * time.Minute))
}

func TestReachSaysTheAudienceAgainstTheBrands(t *testing.T) {
	cases := []struct {
		followers int64
		reach     *fbv1.Reach
		want      string
	}{
		{332_000, &fbv1.Reach{Followers: 332_000, BrandFollowers: 203_000}, "332,000 followers, 1.6 times the brand's 203,000"},
		{200_000, &fbv1.Reach{BrandFollowers: 203_000}, "200,000 followers, about as many as the brand's 203,000"},
		{20_300, &fbv1.Reach{BrandFollowers: 203_000}, "20,300 followers, 10% of the brand's 203,000"},
		{50, &fbv1.Reach{BrandFollowers: 203_000}, "50 followers, under 1% of the brand's 203,000"},
		{1, nil, "1 follower (the brand's own audience is not known)"},
	}
	for _, tc := range cases {
		if got := Reach(tc.followers, tc.reach); got != tc.want {
			t.Errorf("Reach(%d) = %q, want %q", tc.followers, got, tc.want)
		}
	}
}

func TestFirstResponseClock(t *testing.T) {
	cases := []struct {
		name string
		c    *fbv1.Case
		want Clock
	}{
		{"due", &fbv1.Case{RespondBy: at(25)}, Clock{"answer due in 25m", "due"}},
		{"past the warning", &fbv1.Case{RespondBy: at(5), RespondWarnAt: at(-1)}, Clock{"answer due in 5m", "soon"}},
		{"breached", &fbv1.Case{RespondBy: at(-90), Breached: true}, Clock{"overdue by 1h 30m", "late"}},
		{"past the deadline before the breach is recorded", &fbv1.Case{RespondBy: at(-2)}, Clock{"overdue by 2m", "late"}},
		{"answered", &fbv1.Case{UnansweredSince: at(-50), FirstResponseAt: at(-10)}, Clock{"answered after 40m", "done"}},
		{"no target", &fbv1.Case{}, Clock{"no response target", "none"}},
	}
	for _, tc := range cases {
		if got := FirstResponse(tc.c, now); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestLinksOnlyToWebAddresses(t *testing.T) {
	for raw, want := range map[string]string{
		"https://x.com/dan/status/1": "https://x.com/dan/status/1",
		"javascript:alert(1)":        "",
		"data:text/html,<script>":    "",
		"//evil.example/x":           "",
		"  http://a.example/p  ":     "http://a.example/p",
	} {
		if got := WebURL(raw); got != want {
			t.Errorf("WebURL(%q) = %q, want %q", raw, got, want)
		}
	}
	for _, tc := range []struct {
		p      fbv1.Platform
		handle string
		want   string
	}{
		{fbv1.Platform_PLATFORM_X, "@dan", "https://x.com/dan"},
		{fbv1.Platform_PLATFORM_X, "a/../b?c", "https://x.com/a%2F..%2Fb%3Fc"},
		{fbv1.Platform_PLATFORM_MASTODON, "dan@social.example", "https://social.example/@dan"},
		{fbv1.Platform_PLATFORM_MASTODON, "dan@evil.example/x", ""},
		{fbv1.Platform_PLATFORM_BLUESKY, "dan.bsky.social", "https://bsky.app/profile/dan.bsky.social"},
		{fbv1.Platform_PLATFORM_GENERIC, "dan", ""},
	} {
		if got := ProfileURL(tc.p, tc.handle); got != tc.want {
			t.Errorf("ProfileURL(%v, %q) = %q, want %q", tc.p, tc.handle, got, tc.want)
		}
	}
}

func TestMentionsInPostingOrderWithTextsFromDecisionsOrTheCase(t *testing.T) {
	c := &fbv1.Case{
		Platform:     fbv1.Platform_PLATFORM_X,
		MentionIds:   []string{"x:2", "x:1", "x:dm", "x:3"},
		Texts:        []string{"second kept", "third kept"}, // the case keeps the last public texts
		PrivateTexts: map[string]string{"x:dm": "my account is 123"},
		MentionUrls:  map[string]string{"x:1": "https://x.com/d/status/1", "x:3": "javascript:alert(1)"},
	}
	decisions := map[string]*fbv1.Decision{
		"x:2": {Mention: &fbv1.Mention{Text: "second in full", CreatedAt: at(-20)}, Score: &fbv1.Score{Complaint: 0.9, Topics: []string{"outage"}}},
		"x:1": {Mention: &fbv1.Mention{Text: "first in full", CreatedAt: at(-30)}},
	}
	f := Build(c, nil, decisions, nil, now)
	var got []string
	for _, m := range f.Mentions {
		got = append(got, m.ID+"="+m.Text)
	}
	// x:dm and x:3 have no decision (expired): they sort after every
	// mention the case took in before them.
	want := []string{"x:1=first in full", "x:2=second in full", "x:dm=my account is 123", "x:3=third kept"}
	if !slices.Equal(got, want) {
		t.Fatalf("mentions %v, want %v", got, want)
	}
	if f.Mentions[0].URL != "https://x.com/d/status/1" || f.Mentions[3].URL != "" {
		t.Errorf("post links %q and %q", f.Mentions[0].URL, f.Mentions[3].URL)
	}
	if !f.Mentions[2].Private || !slices.Equal(f.Mentions[1].Topics, []string{"outage"}) {
		t.Errorf("private %v, topics %v", f.Mentions[2].Private, f.Mentions[1].Topics)
	}
}

func TestChainShowsEachLevelWithTheLatestDeliveryPerReceiver(t *testing.T) {
	timeline := []*fbv1.CaseEvent{
		{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Level: 1, At: at(-10), Receivers: []string{"oncall"}},
		{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, Actor: "ana", Note: "on it", At: at(-2), AuthMethod: "oidc"},
		{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED, Level: 2, At: at(-5), Receivers: []string{"head"}},
	}
	deliveries := []*fbv1.Delivery{
		{Level: 1, Receiver: "oncall", ReceiverType: "pagerduty", Outcome: fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING, Attempt: 1, At: at(-10)},
		{Level: 1, Receiver: "oncall", ReceiverType: "pagerduty", Outcome: fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED, Attempt: 2, At: at(-9)},
		{Level: 2, Receiver: "head", ReceiverType: "slack", Outcome: fbv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED, Attempt: 5, Error: "HTTP 500", At: at(-4)},
	}
	f := Build(&fbv1.Case{}, timeline, nil, deliveries, now)
	if len(f.Chain) != 2 || f.Chain[0].Level != 1 || f.Chain[1].Level != 2 {
		t.Fatalf("chain %+v", f.Chain)
	}
	if p := f.Chain[0].Pages; len(p) != 1 || !p[0].OK || p[0].Attempts != 2 {
		t.Errorf("level 1 pages %+v, want the delivery after the retry", p)
	}
	if p := f.Chain[1].Pages; len(p) != 1 || p[0].OK || p[0].Outcome != "failed" || p[0].Error != "HTTP 500" {
		t.Errorf("level 2 pages %+v", p)
	}
	var whats []string
	for _, e := range f.Timeline {
		whats = append(whats, e.What+"/"+e.Actor)
	}
	if !slices.Equal(whats, []string{"opened/Firebreak", "escalated/Firebreak", "acknowledged/ana"}) {
		t.Errorf("timeline %v", whats)
	}
}
