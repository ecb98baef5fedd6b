package notifier

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// pages counts paging events (a case opened, a chain level fired) once
// each, by whether any receiver was told. Alerts compare it with
// firebreak.cases.opened to find escalations that nobody was paged about.
type pages struct{ counter metric.Int64Counter }

func newPages(meter metric.Meter) (pages, error) {
	c, err := meter.Int64Counter("firebreak.pages", metric.WithUnit("{page}"),
		metric.WithDescription("paging case events (opened, escalated) by team, priority, level and outcome (delivered: some receiver was told; failed: none was)"))
	return pages{c}, err
}

// count records ev's page. Results that are all suppressed duplicates are
// a redelivery of a page already counted.
func (p pages) count(ctx context.Context, ev *fbv1.CaseEvent, results []notify.Result) {
	if ev.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED && ev.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED {
		return
	}
	outcome := ""
	for _, r := range results {
		switch r.Outcome {
		case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED:
			outcome = "delivered"
		case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED:
		default:
			if outcome == "" {
				outcome = "failed"
			}
		}
	}
	if outcome == "" {
		return
	}
	p.counter.Add(ctx, 1, metric.WithAttributes(
		attribute.String("team", ev.Case.GetTeam()),
		attribute.String("priority", wording.Priority(ev.Case.GetPriority())),
		attribute.Int("level", int(ev.Level)),
		attribute.String("outcome", outcome)))
}
