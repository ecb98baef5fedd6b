package escalation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/store"
)

// shadowDecision evaluates the shadow policy, when one runs, on the same
// input as the live one. Its decision is stored inside the live decision and
// counted, never acted on: it opens, raises and pages nothing.
func (s *Service) shadowDecision(ctx context.Context, j store.Joined, live *fbv1.Decision) {
	pol := s.shadow.Load()
	if pol == nil {
		return
	}
	out := pol.Evaluate(policy.Input{Mention: j.Mention, Score: j.Score, Reach: j.Reach, History: j.History})
	live.Shadow = &fbv1.Decision{
		MentionId: live.MentionId, Brand: live.Brand, AuthorKey: live.AuthorKey,
		Escalate: out.Escalate, Team: out.Team, Priority: out.Priority, Chain: out.Chain, Route: out.Route,
		Reasons: out.Reasons, Complaint: pol.Complaint(j.Score), PolicyVersion: pol.Version(),
	}
	s.shadowCount.Add(ctx, 1, metric.WithAttributes(attribute.String("comparison", compare(live, live.Shadow))))
}

// compare says how a shadow decision differs from the live one.
func compare(live, shadow *fbv1.Decision) string {
	switch {
	case live.Escalate && !shadow.Escalate:
		return "would_leave_alone"
	case !live.Escalate && shadow.Escalate:
		return "would_open"
	case !live.Escalate:
		return "same"
	case shadow.Priority > live.Priority:
		return "would_raise"
	case shadow.Priority < live.Priority:
		return "would_lower"
	case shadow.Team != live.Team:
		return "other_team"
	}
	return "same"
}
