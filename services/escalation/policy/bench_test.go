package policy

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// BenchmarkEvaluateDefault measures one decision with the default policy over
// a mix of inputs: a rival complaint that walks every route, a repeat
// complaint, a standard complaint and praise.
func BenchmarkEvaluateDefault(b *testing.B) {
	p := Default()
	inputs := []Input{
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(3, 3)},
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(3, 3)},
		{Mention: mention(), Score: complaintScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(1, 1)},
		{Mention: mention(), Score: praiseScore(), Reach: reachOf(300, 203000, fbv1.Tier_TIER_LOW), History: historyOf(0, 0)},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Evaluate(inputs[i%len(inputs)])
		i++
	}
}

// BenchmarkEvaluateDefaultWorstCase is the rival repeat complaint alone: the
// most routes matched and the most reasons rendered.
func BenchmarkEvaluateDefaultWorstCase(b *testing.B) {
	p := Default()
	in := Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, fbv1.Tier_TIER_RIVAL), History: historyOf(3, 3)}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(in)
	}
}
