package escalation

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// caseCounters count the case events the dashboard and alerts follow, by
// priority, team and brand: firebreak.cases.opened, .acknowledged and
// .resolved (firebreak_cases_opened_total and so on in Prometheus).
type caseCounters map[fbv1.CaseEventType]metric.Int64Counter

func newCaseCounters(meter metric.Meter) (caseCounters, error) {
	counters := caseCounters{}
	var errs []error
	for t, what := range map[fbv1.CaseEventType]string{
		fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED:       "opened",
		fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED: "acknowledged",
		fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED:     "resolved",
	} {
		c, err := meter.Int64Counter("firebreak.cases."+what, metric.WithUnit("{case}"),
			metric.WithDescription("cases "+what+", by priority, team and brand"))
		errs = append(errs, err)
		counters[t] = c
	}
	return counters, errors.Join(errs...)
}

// count adds the events the broker stored for the first time: an event
// published again after a crash is a duplicate and is not counted twice,
// and one the broker did not store (no stream in its result) is counted
// when it is published again.
func (c caseCounters) count(ctx context.Context, events []*fbv1.CaseEvent, results []bus.Result) {
	for i, e := range events {
		counter, ok := c[e.Type]
		if !ok || i >= len(results) || results[i].Duplicate || results[i].Stream == "" {
			continue
		}
		counter.Add(ctx, 1, metric.WithAttributes(
			attribute.String("priority", wording.Priority(e.Case.GetPriority())),
			attribute.String("team", e.Case.GetTeam()),
			attribute.String("brand", e.Case.GetBrand())))
	}
}
