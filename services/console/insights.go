package console

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/console/chart"
	"github.com/firebreak/firebreak/services/console/ui"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// insightsView is the insights page's data.
type insightsView struct {
	Days      int
	DayChoice []option
	Brands    []brandView
	Tiers     chart.Bars
	TierRows  []*fbv1.TierEscalations
	Answers   chart.Bars
	Answered  []*fbv1.FirstAnswers
	Pages     chart.Bars
	Receivers []*fbv1.ReceiverStats
	// Errors say which part could not be read; the rest still shows.
	Errors []string
}

type brandView struct {
	Brand                string
	Chart                chart.Lines
	Mentions, Complaints int64
}

// insightsPage draws the counts escalation and the notifier keep: mentions
// and complaints per brand, escalations by reach tier, first answers
// against the policy's targets, and pages per receiver.
func (s *Service) insightsPage(w http.ResponseWriter, r *http.Request) {
	days := 7
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 14 {
			s.fail(w, r, http.StatusBadRequest, "days must be a number from 1 to 14")
			return
		}
		days = n
	}
	data := s.page(r, "Insights", "insights")
	iv := &insightsView{Days: days}
	for _, n := range []int{1, 7, 14} {
		iv.DayChoice = append(iv.DayChoice, option{Value: strconv.Itoa(n), Label: dayWords(n), Selected: n == days})
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	var (
		wg       sync.WaitGroup
		ins      *fbv1.GetInsightsResponse
		stats    *fbv1.GetDeliveryStatsResponse
		insErr   error
		statsErr error
	)
	wg.Go(func() {
		ins, insErr = s.escalation.GetInsights(ctx, &fbv1.GetInsightsRequest{Days: int32(days)}, s.calls)
	})
	wg.Go(func() {
		stats, statsErr = s.notifier.GetDeliveryStats(ctx, &fbv1.GetDeliveryStatsRequest{Days: int32(days)}, s.calls)
	})
	wg.Wait()
	if insErr != nil {
		iv.Errors = append(iv.Errors, "Escalation's counts cannot be read now: "+callError(insErr))
	} else {
		fillInsights(iv, ins)
	}
	if statsErr != nil {
		iv.Errors = append(iv.Errors, "The notifier's counts cannot be read now: "+callError(statsErr))
	} else {
		iv.Receivers = stats.GetReceivers()
		iv.Pages = pageBars(iv.Receivers)
	}
	data.Insights = iv
	s.render(w, r, http.StatusOK, "insights", "", data)
}

func dayWords(n int) string {
	if n == 1 {
		return "today"
	}
	return "last " + strconv.Itoa(n) + " days"
}

// fillInsights lays out escalation's counts.
func fillInsights(iv *insightsView, in *fbv1.GetInsightsResponse) {
	step := time.Duration(max(in.BucketHours, 1)) * time.Hour
	from := in.From.AsTime()
	var labels []string
	if len(in.Brands) > 0 {
		for i := range in.Brands[0].Mentions {
			t := from.Add(time.Duration(i) * step)
			if step >= 24*time.Hour || t.Hour() == 0 {
				labels = append(labels, t.Format("Jan 2"))
			} else {
				labels = append(labels, t.Format("15:04"))
			}
		}
	}
	every := max(len(labels)/6, 1)
	for _, b := range in.Brands {
		bv := brandView{Brand: b.Brand, Chart: chart.NewLines(labels, every,
			chart.Series{Name: "mentions", Class: "mentions", Values: b.Mentions},
			chart.Series{Name: "complaints", Class: "complaints", Values: b.Complaints})}
		bv.Mentions, bv.Complaints = bv.Chart.Lines[0].Total, bv.Chart.Lines[1].Total
		iv.Brands = append(iv.Brands, bv)
	}
	var rows []chart.Row
	for _, t := range in.Tiers {
		row := chart.Row{Label: wording.Tier(t.Tier)}
		for _, rc := range t.Routes {
			row.Parts = append(row.Parts, chart.Part{Name: rc.Route, Class: routeClass(rc.Route), Value: rc.Mentions})
		}
		rows = append(rows, row)
	}
	iv.TierRows, iv.Tiers = in.Tiers, chart.NewBars(rows...)
	rows = nil
	for _, fa := range in.FirstAnswers {
		p50, p90 := fa.P50.AsDuration().Seconds(), fa.P90.AsDuration().Seconds()
		rows = append(rows, chart.Row{Label: wording.Priority(fa.Priority), Target: fa.Target.AsDuration().Seconds(),
			Parts: []chart.Part{{Name: "p50", Class: "p50", Value: int64(p50)}, {Name: "p50 to p90", Class: "p90", Value: int64(p90 - p50)}}})
	}
	iv.Answered, iv.Answers = in.FirstAnswers, chart.NewBars(rows...)
	for i, fa := range in.FirstAnswers {
		iv.Answers.Bars[i].Note = ""
		if fa.Answered > 0 {
			iv.Answers.Bars[i].Note = "p90 " + ui.Duration(fa.P90)
		}
	}
}

// routeClass colours the routes the default policy names; others share one.
func routeClass(route string) string {
	switch route {
	case "rival-reach", "repeat", "standard", "hostile-reply":
		return "route-" + route
	}
	return "route-other"
}

func pageBars(rs []*fbv1.ReceiverStats) chart.Bars {
	var rows []chart.Row
	for _, r := range rs {
		rows = append(rows, chart.Row{Label: r.Receiver, Parts: []chart.Part{
			{Name: "delivered", Class: "delivered", Value: r.Delivered}, {Name: "failed", Class: "failed", Value: r.Failed},
			{Name: "retried", Class: "retried", Value: r.Retried}, {Name: "suppressed", Class: "suppressed", Value: r.Suppressed}}})
	}
	return chart.NewBars(rows...)
}
