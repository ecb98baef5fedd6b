package policy

import (
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestDuringAnIncidentStandardComplaintsJoinQuietlyAndTheRestStillPage(t *testing.T) {
	t.Parallel()
	p := Default()
	open := &SurgeFacts{Active: true, Authors: 41, Topic: "broadband", Incident: "bed66ba26ed70cf7-1",
		Reason: "41 people complained about broadband in 15 minutes; usually 3 ± 2"}
	low := reachOf(300, 203000, fbv1.Tier_TIER_LOW)
	tests := []struct {
		name  string
		in    Input
		route string
		quiet bool
	}{
		{"a standard complaint joins", Input{Mention: mention(), Score: complaintScore(), Reach: low, History: historyOf(1, 1), Surge: open}, "joins-incident", true},
		{"a third complaint pages", Input{Mention: mention(), Score: complaintScore(), Reach: low, History: historyOf(3, 3), Surge: open}, "repeat", false},
		{"a rival's reach pages", Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(1, 1), Surge: open}, "rival-reach", false},
		{"no incident, no joining", Input{Mention: mention(), Score: complaintScore(), Reach: low, History: historyOf(1, 1)}, "standard", false},
	}
	for _, tc := range tests {
		d := p.Decide(tc.in, time.Now())
		if d.Route != tc.route || d.Quiet != tc.quiet || !d.Escalate {
			t.Errorf("%s: route %q quiet %v escalate %v, want %q quiet %v", tc.name, d.Route, d.Quiet, d.Escalate, tc.route, tc.quiet)
		}
		if tc.quiet && (d.Chain != "" || !strings.Contains(texts(d.Reasons), "joined incident bed66ba26ed70cf7-1: 41 people complained about broadband") ||
			d.Surge.GetIncidentId() != open.Incident) {
			t.Errorf("%s: chain %q, reasons %s, surge %v: a quiet case has no chain and says which incident it joined", tc.name, d.Chain, texts(d.Reasons), d.Surge)
		}
	}
}

func TestSurgeFieldsInCEL(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(`
routes:
  - name: big-broadband
    match: surge.active && surge.authors >= 40 && surge.topic == "broadband"
    team: senior
    priority: HIGH
    reason: "{surge}"
chains:
  senior:
    levels:
      - receivers: [oncall]
        ack_timeout: 5m
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Surges(); ok {
		t.Fatal("a policy without a surges section detects surges")
	}
	in := Input{Mention: mention(), Score: complaintScore(), Surge: &SurgeFacts{Active: true, Authors: 41, Topic: "broadband", Reason: "41 people"}}
	if o := p.Evaluate(in); o.Route != "big-broadband" || !strings.HasPrefix(texts(o.Reasons), "big_broadband: 41 people") {
		t.Fatalf("outcome %+v", o)
	}
	in.Surge = nil
	if o := p.Evaluate(in); o.Escalate {
		t.Fatalf("no incident open, yet %+v", o)
	}
}

func TestBadSurgesSectionsAreRefusedNamingTheSetting(t *testing.T) {
	t.Parallel()
	base := string(DefaultYAML())
	for name, tc := range map[string]struct{ from, to, says string }{
		"no team":       {"surges:\n  team: senior\n", "surges:\n", "team is missing"},
		"unknown chain": {"surges:\n  team: senior\n", "surges:\n  team: nobody\n", `chain "nobody" is not defined`},
		"bad window":    {"  window: 15m\n  min_authors", "  window: soon\n  min_authors", `window "soon"`},
		"one author":    {"  min_authors: 10\n", "  min_authors: 1\n", "min_authors 1: want at least 2"},
		"long persist":  {"  persist: 2m\n", "  persist: 20m\n", "persist 20m0s: want at least 0 and shorter than the window"},
	} {
		doc := strings.Replace(base, tc.from, tc.to, 1)
		if doc == base {
			t.Fatalf("%s: the default policy no longer has %q", name, tc.from)
		}
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want it refused saying %q", name, err, tc.says)
		}
	}
}

func TestLintWarnsOfSurgeRoutesWithoutASurgesSection(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(string(DefaultYAML()), "\nsurges:\n", "\nunused_surges:\n", 1)
	doc = doc[:strings.Index(doc, "\nunused_surges:")] + doc[strings.Index(doc, "\n# chains page people"):]
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, pr := range Lint(p, LintOptions{}) {
		if strings.Contains(pr.Where, "joins-incident") && strings.Contains(pr.Message, "no surges section") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no warning that joins-incident reads surge without a surges section: %v", Lint(p, LintOptions{}))
	}
	if problems := Lint(Default(), LintOptions{}); len(problems) != 0 {
		t.Fatalf("the default policy: %v", problems)
	}
}

func TestASurgesSectionTakesTheSettingsItLeavesOutFromTheShippedPolicy(t *testing.T) {
	shipped, ok := Default().Surges()
	if !ok {
		t.Fatal("the default policy has no surges section")
	}
	doc := string(DefaultYAML())
	start := strings.Index(doc, "\nsurges:\n")
	end := strings.Index(doc[start+1:], "\n\n") + start + 1
	p, err := Parse([]byte(doc[:start] + "\nsurges:\n  team: senior\n  window: 20m\n" + doc[end:]))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.Surges()
	if !ok {
		t.Fatal("the policy's surges section was dropped")
	}
	want := shipped.Detect
	want.Window = 20 * time.Minute
	if got.Detect != want || got.Priority != shipped.Priority {
		t.Fatalf("surges %+v priority %v; want the shipped %+v with its own window, priority %v", got.Detect, got.Priority, want, shipped.Priority)
	}
}
