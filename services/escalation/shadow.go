package escalation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
)

// shadowDecision evaluates the shadow policy, when one runs, on the same
// input as the live one. Its decision is stored inside the live decision and
// counted, never acted on: it opens, raises and pages nothing.
func (s *Service) shadowDecision(ctx context.Context, in policy.Input, live *fbv1.Decision) {
	pol := s.shadow.Load()
	if pol == nil {
		return
	}
	live.Shadow = pol.Decide(in, live.DecidedAt.AsTime())
	live.Shadow.AuthorKey = live.AuthorKey
	// The inputs are the live decision's; they are stored once, there.
	live.Shadow.Score, live.Shadow.Reach, live.Shadow.History, live.Shadow.Mention = nil, nil, nil, nil
	s.shadowCount.Add(ctx, 1, metric.WithAttributes(attribute.String("comparison", compare(live, live.Shadow))))
}

// shadowLabels name, for the metric, how the shadow differs from the live
// decision.
var shadowLabels = map[policy.Change]string{
	policy.Same: "same", policy.OnlyFirst: "would_leave_alone", policy.OnlySecond: "would_open",
	policy.Raised: "would_raise", policy.Lowered: "would_lower", policy.OtherTeam: "other_team",
}

// compare says how a shadow decision differs from the live one.
func compare(live, shadow *fbv1.Decision) string {
	return shadowLabels[policy.Compare(verdict(live), verdict(shadow))]
}

func verdict(d *fbv1.Decision) policy.Verdict {
	return policy.Verdict{Escalate: d.Escalate, Team: d.Team, Priority: d.Priority}
}
