package policy

import (
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestDefaultStandardRouteHoldsItsFirstPageTwoMinutes(t *testing.T) {
	t.Parallel()
	p := Default()
	d := p.Decide(Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(1, 1)}, time.Now())
	if d.Route != "standard" || d.GetHold().AsDuration() != 2*time.Minute {
		t.Fatalf("route %q hold %v, want the standard route holding 2m", d.Route, d.GetHold())
	}
	if !strings.Contains(texts(d.Reasons), "held: held 2m: waiting to see whether this is part of a surge") {
		t.Fatalf("reasons %s: want the hold explained", texts(d.Reasons))
	}
	// Repeat complainers and rival reach page at once, as ever.
	for _, in := range []Input{
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(3, 3)},
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(1, 1)},
	} {
		d := p.Decide(in, time.Now())
		if d.Hold != nil || strings.Contains(texts(d.Reasons), "held") {
			t.Errorf("route %q: hold %v, reasons %s; want it to page at once", d.Route, d.Hold, texts(d.Reasons))
		}
	}
}

func TestHoldWithoutSurgesSaysSoPlainly(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(strings.Replace(minimal, "reason: complaint", "reason: complaint\n    hold: 90s", 1)))
	if err != nil {
		t.Fatal(err)
	}
	out := p.Evaluate(Input{Mention: mention(), Score: complaintScore(), History: historyOf(1, 1), Reach: reachOf(1, 2, fbv1.Tier_TIER_LOW)})
	if out.Hold != 90*time.Second || !strings.Contains(texts(out.Reasons), "held 90s before paging") {
		t.Fatalf("hold %v reasons %s", out.Hold, texts(out.Reasons))
	}
}

func TestBadHoldRefusedWithRouteAndFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, hold, want string }{
		{"negative", "-2m", "must not be negative"},
		{"absurdly long", "3h", "at most 1h"},
		{"not a duration", "soon", `hold "soon": want a duration such as 2m`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(strings.Replace(minimal, "reason: complaint", "reason: complaint\n    hold: "+tc.hold, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `route "all-complaints"`) {
				t.Fatalf("hold %s: error %v, want it refused naming the route and %q", tc.hold, err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"on a quiet route", "quiet: true\n    hold: 2m", "a quiet route pages nobody"},
		{"on an ignore route", "hold: 2m", "ignore route opens nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := strings.Replace(minimal, "reason: complaint", "reason: complaint\n    "+tc.extra, 1)
			if tc.name == "on an ignore route" {
				doc = strings.Replace(minimal, "routes:", "routes:\n  - {name: skip, match: 'false', ignore: true, hold: 2m}", 1)
			}
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(strings.Replace(minimal, "reason: complaint", "reason: complaint\n    hold: 1h", 1))); err != nil {
		t.Fatalf("a hold of exactly the bound was refused: %v", err)
	}
}
