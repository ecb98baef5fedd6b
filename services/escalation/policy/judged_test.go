package policy

import (
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// A judgement answers only for the policy that made it and the score it
// judged: another policy (a reload, the shadow) or another score is
// judged afresh.
func TestJudgedHoldsForItsPolicyAndScoreOnly(t *testing.T) {
	lenient, err := Parse([]byte("complaint: score.complaint >= 0.5\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	strict, err := Parse([]byte("complaint: score.complaint >= 0.8\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	mild := &fbv1.Score{Complaint: 0.6}
	judged := lenient.Judge(mild)
	if !judged.Complaint() || !lenient.ComplaintOf(mild, judged) {
		t.Fatal("the lenient policy counts a 0.6 complaint score as a complaint")
	}
	if strict.ComplaintOf(mild, judged) {
		t.Error("the strict policy took the lenient policy's judgement")
	}
	if lenient.ComplaintOf(praiseScore(), judged) {
		t.Error("a judgement of one score answered for another")
	}
	in := Input{Mention: mention(), Score: mild, Reach: reachOf(10, 1000, fbv1.Tier_TIER_LOW), History: historyOf(0, 0), Judged: judged}
	if d := strict.Decide(in, time.Now()); d.Complaint {
		t.Error("the strict policy's decision took the lenient policy's judgement")
	}
	if d := lenient.Decide(in, time.Now()); !d.Complaint {
		t.Error("the lenient policy's decision lost its own judgement")
	}
}
