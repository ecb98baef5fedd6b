package policy

import (
	"errors"
	"strings"
	"sync"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Inputs for the story of the operator's customer: 332,000 followers against
// the brand's 203,000.
func complaintScore() *fbv1.Score {
	return &fbv1.Score{Complaint: 0.9, Compound: -0.7, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE}
}

func praiseScore() *fbv1.Score {
	return &fbv1.Score{Complaint: 0.05, Compound: 0.8, Sentiment: fbv1.Sentiment_SENTIMENT_POSITIVE}
}

func reachOf(followers, brand int64, tier fbv1.Tier) *fbv1.Reach {
	return &fbv1.Reach{Followers: followers, BrandFollowers: brand, RelativeToBrand: float64(followers) / float64(brand), Tier: tier}
}

func historyOf(inWindow, streak int32) *fbv1.History {
	return &fbv1.History{ComplaintsInWindow: inWindow, UnansweredStreak: streak, WindowSeconds: 86400}
}

func mention() *fbv1.Mention {
	return &fbv1.Mention{Id: "m1", Brand: "acme", Author: &fbv1.Author{Id: "a1", Handle: "traveller", Followers: 332000}}
}

func texts(rs []*fbv1.Reason) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.GetCode()+": "+r.GetText())
	}
	return strings.Join(out, "; ")
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	p := Default()
	tests := []struct {
		name     string
		in       Input
		escalate bool
		team     string
		priority fbv1.Priority
		route    string
		reasons  string
	}{
		{
			name:     "rival reach goes critical",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(1, 1)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_CRITICAL, route: "rival-reach",
			reasons: "high_reach: author has 332,000 followers, 1.6x the brand's 203,000",
		},
		{
			name:     "high reach goes to senior",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(120000, 203000, fbv1.Tier_TIER_HIGH), History: historyOf(1, 1)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_HIGH, route: "high-reach",
			reasons: "high_reach: author has 120,000 followers, 0.6x the brand's 203,000",
		},
		{
			name:     "third complaint escalates to senior",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(3, 3)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_HIGH, route: "repeat",
			reasons: "repeat: third complaint in 24h, none answered",
		},
		{
			name:     "rival third complaint keeps critical and adds the repeat reason",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(3, 2)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_CRITICAL, route: "rival-reach",
			reasons: "high_reach: author has 332,000 followers, 1.6x the brand's 203,000; repeat: third complaint in 24h, 1 answered",
		},
		{
			name:     "unanswered streak escalates whatever the reach",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(12, 203000, fbv1.Tier_TIER_LOW), History: historyOf(1, 4)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_HIGH, route: "unanswered",
			reasons: "unanswered: 4 complaints in a row with no reply from the brand",
		},
		{
			name:     "second complaint goes to the standard queue",
			in:       Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(2, 2)},
			escalate: true, team: "standard", priority: fbv1.Priority_PRIORITY_NORMAL, route: "standard",
			reasons: "complaint: complaint (likelihood 0.90, negative); held: held 2m: waiting to see whether this is part of a surge",
		},
		{
			name: "praise opens nothing",
			in:   Input{Mention: mention(), Score: praiseScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(0, 0)},
		},
		{
			name: "brand reply opens nothing even when it reads as a complaint",
			in: Input{Mention: &fbv1.Mention{BrandReply: true}, Score: complaintScore(),
				Reach: reachOf(203000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(5, 5)},
		},
		{
			name:     "missing reach decides from the history and says so",
			in:       Input{Mention: mention(), Score: complaintScore(), History: historyOf(3, 3)},
			escalate: true, team: "senior", priority: fbv1.Priority_PRIORITY_HIGH, route: "repeat",
			reasons: "repeat: third complaint in 24h, none answered; missing: reach unknown: decided without it",
		},
		{
			name:    "missing score opens nothing and says so",
			in:      Input{Mention: mention(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(3, 3), Missing: []string{"history"}},
			reasons: "missing: history unknown: decided without it; missing: score unknown: decided without it",
		},
		{
			name:     "all inputs missing does not crash",
			in:       Input{},
			reasons:  "missing: score unknown: decided without it; missing: reach unknown: decided without it",
			escalate: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := p.Evaluate(tt.in)
			if got.Escalate != tt.escalate || got.Team != tt.team || got.Priority != tt.priority || got.Route != tt.route {
				t.Errorf("Evaluate = escalate %v team %q priority %v route %q, want %v %q %v %q",
					got.Escalate, got.Team, got.Priority, got.Route, tt.escalate, tt.team, tt.priority, tt.route)
			}
			if tt.escalate && got.Chain != tt.team {
				t.Errorf("chain = %q, want the team's chain %q", got.Chain, tt.team)
			}
			if r := texts(got.Reasons); r != tt.reasons {
				t.Errorf("reasons\n got %s\nwant %s", r, tt.reasons)
			}
		})
	}
}

func TestThirdComplaintEscalatesToSenior(t *testing.T) {
	t.Parallel()
	p := Default()
	low := reachOf(300, 203000, fbv1.Tier_TIER_LOW)
	var got []string
	for n := int32(1); n <= 3; n++ {
		o := p.Evaluate(Input{Mention: mention(), Score: complaintScore(), Reach: low, History: historyOf(n, n)})
		got = append(got, o.Team+"/"+o.Priority.String())
	}
	want := "standard/PRIORITY_NORMAL standard/PRIORITY_NORMAL senior/PRIORITY_HIGH"
	if strings.Join(got, " ") != want {
		t.Errorf("three complaints went %v, want %s", got, want)
	}
}

func TestRivalReachGoesCritical(t *testing.T) {
	t.Parallel()
	o := Default().Evaluate(Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(1, 1)})
	if o.Priority != fbv1.Priority_PRIORITY_CRITICAL || o.Team != "senior" {
		t.Errorf("rival complaint = %v to %q, want CRITICAL to senior", o.Priority, o.Team)
	}
}

func TestComplaintDefinition(t *testing.T) {
	t.Parallel()
	p := Default()
	tests := []struct {
		name  string
		score *fbv1.Score
		want  bool
	}{
		{"likely complaint", &fbv1.Score{Complaint: 0.5}, true},
		{"negative sentiment", &fbv1.Score{Complaint: 0.1, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE}, true},
		{"neutral question", &fbv1.Score{Complaint: 0.49, Sentiment: fbv1.Sentiment_SENTIMENT_NEUTRAL}, false},
		{"no score", nil, false},
	}
	for _, tt := range tests {
		if got := p.Complaint(tt.score); got != tt.want {
			t.Errorf("%s: Complaint = %v, want %v", tt.name, got, tt.want)
		}
	}
	if p.Window().Hours() != 24 {
		t.Errorf("Window = %v, want 24h", p.Window())
	}
}

func TestDefaultChains(t *testing.T) {
	t.Parallel()
	p := Default()
	for _, name := range []string{"senior", "standard"} {
		c, ok := p.Chain(name)
		if !ok || len(c.Levels) == 0 || c.AckExpiry <= 0 {
			t.Errorf("Chain(%q) = %+v, %v; want levels and an ack expiry", name, c, ok)
		}
	}
	if _, ok := p.Chain("nobody"); ok {
		t.Error("Chain(nobody) found a chain")
	}
}

func TestVersionIsAContentHash(t *testing.T) {
	t.Parallel()
	a, b := Default(), Default()
	if a.Version() != b.Version() || !strings.HasPrefix(a.Version(), "sha256:") || len(a.Version()) != len("sha256:")+12 {
		t.Errorf("versions %q and %q, want the same short sha256", a.Version(), b.Version())
	}
	changed, err := Parse(append(DefaultYAML(), "\n# a comment\n"...))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Version() == a.Version() {
		t.Error("a changed document kept the same version")
	}
}

// minimal is a valid policy that tests change one thing in.
const minimal = `
routes:
  - name: all-complaints
    match: complaint
    team: standard
    priority: NORMAL
    reason: complaint
chains:
  standard:
    levels:
      - receivers: [queue]
        ack_timeout: 30m
`

func TestBadRouteRefusedWithName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"misspelt field", strings.Replace(minimal, "match: complaint", "match: score.complain > 0.5", 1),
			[]string{`route "all-complaints"`, "complain"}},
		{"non-boolean match", strings.Replace(minimal, "match: complaint", "match: score.complaint", 1),
			[]string{`route "all-complaints"`, "true/false"}},
		{"syntax error", strings.Replace(minimal, "match: complaint", "match: complaint &&", 1),
			[]string{`route "all-complaints"`, "Syntax error"}},
		{"unknown priority", strings.Replace(minimal, "NORMAL", "URGENT", 1),
			[]string{`route "all-complaints"`, `priority "URGENT"`}},
		{"undefined chain", strings.Replace(minimal, "team: standard", "team: senior", 1),
			[]string{`route "all-complaints"`, `chain "senior" is not defined`}},
		{"unknown placeholder", strings.Replace(minimal, "reason: complaint", "reason: has {folowers}", 1),
			[]string{`route "all-complaints"`, "unknown placeholder {folowers}"}},
		{"unknown key", strings.Replace(minimal, "team: standard", "team: standard\n    teem: x", 1),
			[]string{"teem"}},
		{"bad window", "window: soon\n" + minimal, []string{`window "soon"`}},
		{"bad complaint", "complaint: score.sentiment\n" + minimal, []string{"complaint", "true/false"}},
		{"no routes", "window: 24h\n", []string{"no routes"}},
		{"empty document", "", []string{"empty"}},
		{"two documents", minimal + "---\n" + minimal, []string{"more than one YAML document"}},
		{"bad chain", strings.Replace(minimal, "30m", "0s", 1), []string{`chain "standard"`, "ack_timeout"}},
		{"ignore with a team", strings.Replace(minimal, "match: complaint", "match: complaint\n    ignore: true", 1),
			[]string{`route "all-complaints"`, "ignore route opens nothing"}},
		{"duplicate name", strings.Replace(minimal, "routes:", "routes:\n  - {name: all-complaints, match: 'false', ignore: true}", 1),
			[]string{`route "all-complaints"`, "earlier route"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted a bad policy (routes %v)", p.Routes())
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	doc := `
window: soon
routes:
  - name: one
    match: nope
    team: t
    priority: HIGH
    reason: x
  - name: two
    match: "true"
    team: t
    priority: HUGE
    reason: x
chains:
  t:
    levels: [{receivers: [r], ack_timeout: 1m}]
`
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("Parse accepted a bad policy")
	}
	for _, want := range []string{"window", `route "one"`, "nope", `route "two"`, "HUGE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("want three joined problems, got %v", err)
	}
}

func TestEnumsAndFieldsByName(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(minimal, "match: complaint",
		`match: reach.tier >= TIER_HIGH && score.sentiment == SENTIMENT_NEGATIVE && mention.author.verified && "billing" in score.topics`, 1)
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	in := Input{
		Mention: &fbv1.Mention{Author: &fbv1.Author{Verified: true}},
		Score:   &fbv1.Score{Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE, Topics: []string{"billing"}},
		Reach:   &fbv1.Reach{Tier: fbv1.Tier_TIER_RIVAL},
	}
	if !p.Evaluate(in).Escalate {
		t.Error("route did not match a verified rival billing complaint")
	}
	in.Reach.Tier = fbv1.Tier_TIER_MEDIUM
	if p.Evaluate(in).Escalate {
		t.Error("route matched a medium-reach author")
	}
}

func TestRouteErrorDoesNotMatchAndIsExplained(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(minimal, "match: complaint", "match: 10 / history.complaints_in_window > 1", 1)
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	o := p.Evaluate(Input{Score: complaintScore(), Reach: &fbv1.Reach{}})
	if o.Escalate || len(o.Reasons) != 1 || o.Reasons[0].GetCode() != CodeRouteError ||
		!strings.Contains(o.Reasons[0].GetText(), "all-complaints") {
		t.Errorf("Evaluate = %+v, want no escalation and a route_error reason naming the route", o)
	}
}

func TestHigherPriorityLaterRouteTakesTheCase(t *testing.T) {
	t.Parallel()
	doc := `
routes:
  - {name: first, match: "true", team: standard, priority: NORMAL, continue: true, reason: first}
  - {name: skipped, match: "false", team: senior, priority: CRITICAL, reason: never}
  - {name: raise, match: escalated, team: senior, priority: HIGH, continue: true, reason: raised}
  - {name: lower, match: "true", team: standard, priority: LOW, reason: lower}
  - {name: after-stop, match: "true", team: senior, priority: CRITICAL, reason: unreachable}
chains:
  standard: {levels: [{receivers: [q], ack_timeout: 1m}]}
  senior: {levels: [{receivers: [s], ack_timeout: 1m}]}
`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	o := p.Evaluate(Input{Score: &fbv1.Score{}, Reach: &fbv1.Reach{}})
	if o.Team != "senior" || o.Priority != fbv1.Priority_PRIORITY_HIGH || o.Route != "raise" || texts(o.Reasons) != "first: first; raise: raised; lower: lower" {
		t.Errorf("Evaluate = %+v (%s)", o, texts(o.Reasons))
	}
}

func TestEvaluateIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	p := Default()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				n := int32(i%4 + 1)
				o := p.Evaluate(Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(n, n)})
				if want := n >= 3; o.Team == "senior" != want {
					t.Errorf("goroutine %d: %d complaints went to %q", g, n, o.Team)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestComplaintGuardSkipsOnlyConjunctions(t *testing.T) {
	t.Parallel()
	doc := `
routes:
  - {name: either, match: "complaint || mention.brand_reply", team: t, priority: LOW, continue: true, reason: either}
  - {name: both, match: "mention.brand_reply && (complaint && true)", team: t, priority: HIGH, reason: both}
chains:
  t: {levels: [{receivers: [r], ack_timeout: 1m}]}
`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.routes[0].match.needsComplaint || !p.routes[1].match.needsComplaint {
		t.Errorf("needsComplaint = %v, %v; want false, true", p.routes[0].match.needsComplaint, p.routes[1].match.needsComplaint)
	}
	o := p.Evaluate(Input{Mention: &fbv1.Mention{BrandReply: true}, Score: praiseScore(), Reach: &fbv1.Reach{}})
	if o.Route != "either" || o.Priority != fbv1.Priority_PRIORITY_LOW {
		t.Errorf("brand reply praise = %+v, want route either at LOW", o)
	}
}

// TestSettingsLeftOutAreTheShippedPolicys: default.yaml is the one source
// of the settings a policy may leave out.
func TestSettingsLeftOutAreTheShippedPolicys(t *testing.T) {
	p, err := Parse([]byte(`
routes:
  - {name: all, match: complaint, team: standard, priority: NORMAL, reason: "complaint"}
chains:
  standard:
    levels:
      - {receivers: [queue], ack_timeout: 1h}
`))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if p.Window() != def.Window() || p.PrivateReplyWithin() != def.PrivateReplyWithin() || p.replies.warnAt != def.replies.warnAt {
		t.Fatalf("window %s, private reply within %s, warn at %v; want default.yaml's %s, %s, %v",
			p.Window(), p.PrivateReplyWithin(), p.replies.warnAt, def.Window(), def.PrivateReplyWithin(), def.replies.warnAt)
	}
	for _, sc := range []*fbv1.Score{
		{Complaint: 0.9},
		{Complaint: 0.1, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE},
		{Complaint: 0.1, Sentiment: fbv1.Sentiment_SENTIMENT_POSITIVE},
	} {
		if p.Complaint(sc) != def.Complaint(sc) {
			t.Errorf("complaint(%v) = %v, default.yaml's rule says %v", sc, p.Complaint(sc), def.Complaint(sc))
		}
	}
	shipped := shipped()
	if shipped.Complaint == "" || shipped.Answer == "" || shipped.Window == "" || shipped.PrivateReplyWithin == "" || shipped.WarnAt == "" {
		t.Fatalf("default.yaml leaves out a setting other policies take from it: %+v", shipped)
	}
}
