package policy

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// FuzzParse feeds Parse arbitrary documents (seeded from testdata/fuzz and
// the default policy). A document Parse accepts must evaluate any input,
// including empty ones, without panicking, and keep its version.
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte(minimal))
	inputs := []Input{
		{},
		{Mention: &fbv1.Mention{BrandReply: true}},
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(3, 3)},
		{Score: praiseScore(), Reach: &fbv1.Reach{}, History: &fbv1.History{}, Missing: []string{"history"}},
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy and an error: %v", err)
			}
			return
		}
		for _, in := range inputs {
			o := p.Evaluate(in)
			if o.Escalate && (o.Team == "" || o.Priority == fbv1.Priority_PRIORITY_UNSPECIFIED || o.Route == "") {
				t.Fatalf("escalation without team, priority or route: %+v", o)
			}
			if o.Escalate {
				if _, ok := p.Chain(o.Chain); !ok {
					t.Fatalf("escalation to undefined chain %q", o.Chain)
				}
			}
		}
		p.Complaint(praiseScore())
		again, err := Parse(doc)
		if err != nil || again.Version() != p.Version() {
			t.Fatalf("reparse: version %q, err %v; want %q", again.Version(), err, p.Version())
		}
	})
}
