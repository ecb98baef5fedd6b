package policy

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestDefaultAnswerRule(t *testing.T) {
	p := Default()
	public := &fbv1.Mention{BrandReply: true, Visibility: fbv1.Visibility_VISIBILITY_PUBLIC}
	private := &fbv1.Mention{BrandReply: true, Visibility: fbv1.Visibility_VISIBILITY_PRIVATE}
	tests := []struct {
		name   string
		m      *fbv1.Mention
		check  *fbv1.ReplyCheck
		answer bool
	}{
		{"apology with a next step answers", public, &fbv1.ReplyCheck{Public: true}, true},
		{"hostile tone is no answer", public, &fbv1.ReplyCheck{Public: true, Hostile: true}, false},
		{"powerless sorry is no answer", public, &fbv1.ReplyCheck{Public: true, NoNextStep: true}, false},
		{"a reply with no way forward is no answer, whatever its tone", public, &fbv1.ReplyCheck{Public: true, NoWayForward: true}, false},
		{"private details in public are no answer", public, &fbv1.ReplyCheck{Public: true, ExposesPrivate: true}, false},
		{"the same details in private answer", private, &fbv1.ReplyCheck{ExposesPrivate: true}, true},
		{"a move to private messages is a hand-off, not an answer", public, &fbv1.ReplyCheck{Public: true, MovesPrivate: true}, false},
		{"an unchecked reply answers, as before the check", public, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := p.Answers(tt.m, tt.check)
			if got != tt.answer || why == "" {
				t.Errorf("Answers = %v (%q), want %v", got, why, tt.answer)
			}
		})
	}
}

// A reply the tone cues let through but that offers nothing is refused
// in words the console can show.
func TestNoWayForwardIsSaidInPlainWords(t *testing.T) {
	_, why := Default().Answers(&fbv1.Mention{BrandReply: true}, &fbv1.ReplyCheck{Public: true, NoWayForward: true})
	if !strings.Contains(why, "no way forward") {
		t.Errorf("Answers said %q, want it to say the reply gives no way forward", why)
	}
}

func TestFindingWordsNamesEachFindingOnceWithItsWords(t *testing.T) {
	text := "That's a bit harsh. Calm down and wait like everyone else."
	check := &fbv1.ReplyCheck{Findings: []*fbv1.Finding{
		{Code: "dismissive_tone", Severity: fbv1.Severity_SEVERITY_WARNING, Message: "it minimises the complaint", Start: 0, End: 18},
		{Code: "hostile_tone", Severity: fbv1.Severity_SEVERITY_CRITICAL, Message: "it orders the customer how to behave", Start: 20, End: 29},
		{Code: "dismissive_tone", Severity: fbv1.Severity_SEVERITY_WARNING, Message: "it minimises the complaint", Start: 34, End: 57},
		{Code: "moves_private", Severity: fbv1.Severity_SEVERITY_INFO, Message: "moves to DMs"},
	}}
	got := FindingWords(check, text)
	want := `it orders the customer how to behave ("Calm down"); it minimises the complaint ("That's a bit harsh", "wait like everyone else")`
	if got != want {
		t.Errorf("FindingWords =\n%s\nwant\n%s", got, want)
	}
	if got := FindingWords(check, "short"); strings.Contains(got, `"`) {
		t.Errorf("spans beyond the text were quoted: %s", got)
	}
}

func TestHarmfulPublicReplyRoutesByTheCustomersReach(t *testing.T) {
	p := Default()
	reply := &fbv1.Mention{Id: "x:r", BrandReply: true, Visibility: fbv1.Visibility_VISIBILITY_PUBLIC, Text: "Calm down.", CreatedAt: timestamppb.Now()}
	hostile := &fbv1.Score{Reply: &fbv1.ReplyCheck{Public: true, Hostile: true, Findings: []*fbv1.Finding{{Code: "hostile_tone", Severity: fbv1.Severity_SEVERITY_CRITICAL, Message: "it orders the customer how to behave"}}}}
	dan := &fbv1.Author{Id: "u42", Handle: "dan", Followers: 332_000}
	tests := []struct {
		name  string
		reach *fbv1.Reach
		score *fbv1.Score
		want  fbv1.Priority
	}{
		{"rival reach: critical", &fbv1.Reach{Followers: 332_000, BrandFollowers: 203_000, RelativeToBrand: 1.6, Tier: fbv1.Tier_TIER_RIVAL}, hostile, fbv1.Priority_PRIORITY_CRITICAL},
		{"small account: high", &fbv1.Reach{Followers: 40, Tier: fbv1.Tier_TIER_LOW}, hostile, fbv1.Priority_PRIORITY_HIGH},
		{"a clean reply opens nothing", &fbv1.Reach{Tier: fbv1.Tier_TIER_RIVAL}, &fbv1.Score{Reply: &fbv1.ReplyCheck{Public: true}}, fbv1.Priority_PRIORITY_UNSPECIFIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(Input{Mention: reply, Score: tt.score, Reach: tt.reach, History: &fbv1.History{}, To: dan}, time.Now())
			if d.Priority != tt.want || d.Complaint {
				t.Fatalf("priority %s (complaint %v), want %s: %v", d.Priority, d.Complaint, tt.want, d.Reasons)
			}
			if tt.want != 0 && (d.Team != "senior" || !strings.Contains(d.Reasons[0].Text, "public reply to @dan") || !strings.Contains(d.Reasons[0].Text, `"Calm down."`)) {
				t.Errorf("team %q reason %q", d.Team, d.Reasons[0].Text)
			}
		})
	}
}

func TestRespondByCountsBusinessHours(t *testing.T) {
	p, err := Parse([]byte(`
respond_within: {HIGH: 30m}
warn_at: 50%
business_hours: {timezone: Europe/London, start: "09:00", end: "17:00"}
routes:
  - {name: all, match: complaint, team: t, priority: HIGH, reason: x}
chains:
  t: {levels: [{receivers: [r], ack_timeout: 5m}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	friday := time.Date(2026, 11, 27, 16, 45, 0, 0, london)
	due, warn := p.RespondBy(fbv1.Priority_PRIORITY_HIGH, friday)
	if want := time.Date(2026, 11, 30, 9, 15, 0, 0, london); !due.Equal(want) {
		t.Errorf("due %s, want Monday 09:15", due.In(london))
	}
	if want := time.Date(2026, 11, 27, 17, 0, 0, 0, london); !warn.Equal(want) {
		t.Errorf("warn %s, want Friday 17:00 (15 minutes of open time)", warn.In(london))
	}
	if due, _ := p.RespondBy(fbv1.Priority_PRIORITY_NORMAL, friday); !due.IsZero() {
		t.Errorf("a priority with no target got a deadline: %s", due)
	}
}

func TestBadReplySettingsAreRefusedAllAtOnce(t *testing.T) {
	_, err := Parse([]byte(`
answer: reply.loud
private_reply_within: soon
respond_within: {URGENT: 5m, HIGH: never}
warn_at: 120%
business_hours: {timezone: Nowhere/Land, start: "9", end: "17:00"}
routes:
  - {name: all, match: complaint, team: t, priority: HIGH, reason: x}
chains:
  t: {levels: [{receivers: [r], ack_timeout: 5m}]}
`))
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"answer", "private_reply_within", "URGENT", "HIGH", "warn_at", "Nowhere/Land", "start: \"9\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
}
