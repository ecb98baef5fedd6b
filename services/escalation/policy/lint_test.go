package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// lintDoc is a policy of the given routes with a standard chain, and a last
// catch-all unless the routes bring their own.
func lintDoc(routes string) string {
	return "routes:\n" + routes + `
chains:
  standard:
    levels: [{receivers: [support-queue], ack_timeout: 30m}]
`
}

func routeYAML(name, match string, extra ...string) string {
	s := fmt.Sprintf("  - name: %s\n    match: %q\n    team: standard\n    priority: NORMAL\n    reason: r\n", name, match)
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

func ignoreRoute(name, match string) string {
	return fmt.Sprintf("  - name: %s\n    match: %q\n    ignore: true\n", name, match)
}

const catchAll = "complaint && !escalated"

func TestLintFindsDeadRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		routes string
		want   string // substring of the one warning about route "b"; "" for none
	}{
		{"constant false", routeYAML("b", "false"), "false is always false"},
		{"false in a conjunction", routeYAML("b", "complaint && false"), "always false"},
		{"one field, two values", routeYAML("b", "reach.tier == TIER_LOW && reach.tier == TIER_HIGH"), "contradicts"},
		{"empty range", routeYAML("b", "history.complaints_in_window >= 3 && history.complaints_in_window < 3"), "contradicts"},
		{"literal on the left", routeYAML("b", "3 <= history.complaints_in_window && history.complaints_in_window < 2"), "contradicts"},
		{"an atom and its negation", routeYAML("b", "complaint && !complaint"), "contradicts"},
		{"equal and not equal", routeYAML("b", `mention.brand == "acme" && mention.brand != "acme"`), "contradicts"},
		{"two brands", routeYAML("b", `mention.brand == "acme" && mention.brand == "globex"`), "contradicts"},
		{"every disjunct dead", routeYAML("b", "(complaint && !complaint) || false"), "can never match"},
		{"escalated with nothing continuing", routeYAML("b", "complaint && escalated"), "needs escalated"},
		{"earlier catch-all", routeYAML("a", "true") + routeYAML("b", "complaint"), `route "a" (line 2) matches whenever`},
		{"earlier identical", routeYAML("a", "complaint && reach.tier == TIER_HIGH") + routeYAML("b", "reach.tier == TIER_HIGH && complaint"), `route "a"`},
		{"earlier weaker", routeYAML("a", "history.complaints_in_window >= 3") + routeYAML("b", "complaint && history.complaints_in_window >= 5"), `route "a"`},
		{"earlier ignore", ignoreRoute("a", "mention.brand_reply") + routeYAML("b", "mention.brand_reply && reply.hostile"), "it is an ignore route"},
		{"earlier disjunction", routeYAML("a", "reach.tier == TIER_HIGH || reach.tier == TIER_RIVAL") + routeYAML("b", "complaint && reach.tier == TIER_RIVAL"), `route "a"`},
		{"not equal implied by equal", routeYAML("a", `mention.brand != "globex"`) + routeYAML("b", `mention.brand == "acme"`), `route "a"`},

		// Live routes Lint must not call dead.
		{"a satisfiable range", routeYAML("b", "history.complaints_in_window >= 3 && history.complaints_in_window <= 3"), ""},
		{"a different field", routeYAML("b", "reach.tier == TIER_LOW && score.sentiment == SENTIMENT_NEGATIVE"), ""},
		{"one live disjunct", routeYAML("b", "(complaint && !complaint) || reach.tier == TIER_HIGH"), ""},
		{"earlier route continues", routeYAML("a", "true", "continue: true") + routeYAML("b", "complaint"), ""},
		{"earlier route stronger", routeYAML("a", "complaint && history.complaints_in_window >= 5") + routeYAML("b", "history.complaints_in_window >= 3"), ""},
		{"earlier route reads escalated", routeYAML("x", "complaint", "continue: true") + routeYAML("a", "!escalated") + routeYAML("b", "complaint"), ""},
		{"escalated after a continuing route", routeYAML("a", "reach.tier == TIER_HIGH", "continue: true") + routeYAML("b", "complaint && escalated"), ""},
		{"an earlier disjunct is not enough", routeYAML("a", "complaint || reach.tier == TIER_HIGH") + routeYAML("b", "complaint || score.toxicity > 0.5"), ""},
		{"a vip list the policy lacks", routeYAML("b", "author.vip && complaint"), `reads the list "vip", but the policy names no such list`},
		{"a watch list the policy lacks", routeYAML("b", `"press" in author.lists`), `reads the list "press"`},
		{"functions are opaque", routeYAML("a", `mention.text.contains("refund")`) + routeYAML("b", `mention.text.contains("refunds")`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(lintDoc(tt.routes + routeYAML("catch-all", catchAll))))
			if err != nil {
				t.Fatal(err)
			}
			var got []Problem
			for _, pr := range Lint(p, LintOptions{}) {
				if pr.Where == `route "b"` {
					got = append(got, pr)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("live route called dead: %v", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0].Message, tt.want) || !got[0].Warning):
				t.Errorf("got %v, want one warning saying %q", got, tt.want)
			}
		})
	}
}

func TestLintNamesTheMatchLine(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(lintDoc(routeYAML("a", "true") + routeYAML("b", "complaint"))))
	if err != nil {
		t.Fatal(err)
	}
	got := Lint(p, LintOptions{})
	// route "b" starts on line 7 and its match is on line 8.
	if len(got) == 0 || got[0].Line != 8 || !strings.HasPrefix(got[0].Error(), `route "b" (line 8): is never reached`) {
		t.Errorf("Lint = %v, want route \"b\" on line 8 first", got)
	}
}

func TestLintSmallAccounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		routes string
		want   string
	}{
		{"only high reach", routeYAML("high", "complaint && reach.tier == TIER_HIGH"), "opens no case on any platform"},
		{"only one platform", routeYAML("x", "complaint && mention.platform == PLATFORM_X"), "opens no case on mastodon, bluesky, generic"},
		{"complaint too strict", `complaint: score.complaint > 0.99` + "\n" + "routes:\n" + routeYAML("all", "complaint")[0:], "does not count it as a complaint"},
		{"a catch-all", routeYAML("all", catchAll), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := lintDoc(tt.routes)
			if strings.HasPrefix(tt.routes, "complaint:") {
				doc = strings.Replace(lintDoc(""), "routes:\n", tt.routes, 1)
			}
			p, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, pr := range Lint(p, LintOptions{}) {
				if pr.Where == "routes" {
					got = append(got, pr.Message)
				}
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)) {
				t.Errorf("got %q, want a warning saying %q", got, tt.want)
			}
		})
	}
}

func TestLintReceiversAndChains(t *testing.T) {
	t.Parallel()
	doc := lintDoc(routeYAML("all", catchAll)) + `  spare:
    levels:
      - receivers: [support-queue]
        ack_timeout: 5m
      - receivers: [head-of-socail]
        ack_timeout: 5m
`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pr := range Lint(p, LintOptions{Receivers: []string{"support-queue", "head-of-social"}}) {
		got = append(got, fmt.Sprintf("%v %s", pr.Warning, pr.Error()))
	}
	want := []string{
		`true chain "spare" (line 11): no route uses this chain`,
		`false chain "spare" (line 15): level 2: receiver "head-of-socail" is not in the receivers file (it has head-of-social, support-queue)`,
	}
	if len(got) != len(want) {
		t.Fatalf("Lint = %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
	for _, pr := range Lint(p, LintOptions{}) {
		if strings.Contains(pr.Message, "receivers file") {
			t.Errorf("receivers checked without a receivers list: %v", pr)
		}
	}
}

func TestDefaultPolicyLintsClean(t *testing.T) {
	t.Parallel()
	if got := Lint(Default(), LintOptions{Receivers: []string{"senior-oncall", "head-of-social", "support-queue", "support-lead"}}); len(got) > 0 {
		t.Errorf("the default policy has problems: %v", got)
	}
}

func TestParseProblemsNameTheirLines(t *testing.T) {
	t.Parallel()
	doc := `window: soon
routes:
  - name: one
    match: complaint
    team: standard
    priority: NORMAL
    reason: r
  - name: two
    match: score.complain > 0.5
    team: standard
    priority: HUGE
    teem: x
    reason: r
chains:
  standard:
    levels:
      - receivers: []
        ack_timeout: 30m
`
	_, err := Parse([]byte(doc))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse = %v, want a *ParseError", err)
	}
	want := []string{
		`line 1: window "soon"`,
		`route "two" (line 9): match`,
		`route "two" (line 11): priority "HUGE"`,
		`route "two" (line 12): unknown field "teem"`,
		`chain "standard" (line 17): level 1: no receivers`,
	}
	if len(pe.Problems) != len(want) {
		t.Fatalf("problems:\n%v\nwant %d", err, len(want))
	}
	for i, w := range want {
		if got := pe.Problems[i].Error(); !strings.HasPrefix(got, w) {
			t.Errorf("problem %d = %q, want it to start %q", i, got, w)
		}
	}
}

// TestLintDeadRoutesNeverMatch checks Lint's soundness where it matters: a
// route it calls dead does not match any of many random inputs.
func TestLintDeadRoutesNeverMatch(t *testing.T) {
	t.Parallel()
	docs := []string{
		routeYAML("b", "reach.tier == TIER_LOW && reach.tier == TIER_HIGH"),
		routeYAML("b", "history.complaints_in_window >= 3 && history.complaints_in_window < 3"),
		routeYAML("b", "3 <= history.complaints_in_window && history.complaints_in_window < 2"),
		routeYAML("b", `mention.brand == "acme" && mention.brand != "acme"`),
		routeYAML("a", "history.complaints_in_window >= 3") + routeYAML("b", "complaint && history.complaints_in_window >= 5"),
		routeYAML("a", "reach.tier == TIER_HIGH || reach.tier == TIER_RIVAL") + routeYAML("b", "complaint && reach.tier == TIER_RIVAL"),
		ignoreRoute("a", "mention.brand_reply") + routeYAML("b", "mention.brand_reply && reply.hostile"),
		routeYAML("a", `mention.brand != "globex"`) + routeYAML("b", `mention.brand == "acme" && score.toxicity > 0.5`),
		routeYAML("a", "score.complaint > 0.25 && reach.tier >= TIER_MEDIUM") + routeYAML("b", "reach.tier == TIER_HIGH && score.complaint >= 0.5"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, routes := range docs {
		doc := lintDoc(routes + routeYAML("catch-all", catchAll))
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		flagged := false
		for _, pr := range Lint(p, LintOptions{}) {
			flagged = flagged || pr.Where == `route "b"`
		}
		if !flagged {
			t.Errorf("doc %d: Lint did not flag route b", i)
			continue
		}
		for range 3000 {
			in := randomInput(rng)
			for _, r := range p.Evaluate(in).Reasons {
				if r.Code == "b" {
					t.Fatalf("doc %d: route b, called dead, matched %v", i, in)
				}
			}
		}
	}
}

func randomInput(rng *rand.Rand) Input {
	brands := []string{"acme", "globex", "initech"}
	return Input{
		Mention: &fbv1.Mention{Brand: brands[rng.IntN(len(brands))], BrandReply: rng.IntN(2) == 0,
			Platform: fbv1.Platform(rng.IntN(5)), Author: &fbv1.Author{Id: "a", Followers: rng.Int64N(1_000_000)}},
		Score: &fbv1.Score{Complaint: rng.Float64(), Toxicity: rng.Float64(), Sentiment: fbv1.Sentiment(rng.IntN(4)),
			Reply: &fbv1.ReplyCheck{Hostile: rng.IntN(2) == 0, Public: rng.IntN(2) == 0}},
		Reach:   &fbv1.Reach{Tier: fbv1.Tier(rng.IntN(5))},
		History: &fbv1.History{ComplaintsInWindow: rng.Int32N(8), UnansweredStreak: rng.Int32N(8)},
	}
}
