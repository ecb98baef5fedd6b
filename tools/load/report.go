package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Run is every phase against one broker configuration.
type Run struct {
	SyncAlways bool `json:"sync_always"`
	// Partitions is how many streams the services split the mentions
	// over (--mention-partitions).
	Partitions int `json:"mention_partitions,omitempty"`
	// Ceiling is the best broker layout measured: the most the services
	// could get from this broker, so percent of ceiling stays honest.
	Ceiling *CeilingResult `json:"broker_ceiling,omitempty"`
	// CeilingSingle is today's layout, one stream per hop.
	CeilingSingle *CeilingResult `json:"broker_ceiling_single_stream,omitempty"`
	Phases        []Phase        `json:"phases"`
}

// Headline is what `make bench` prints.
type Headline struct {
	Throughput       float64 `json:"throughput_per_s"`
	Ceiling          float64 `json:"broker_ceiling_per_s"`
	PercentOfCeiling float64 `json:"percent_of_ceiling"`
	RateP50          float64 `json:"p50_ms_at_rate"`
	RateP99          float64 `json:"p99_ms_at_rate"`
	Rate             float64 `json:"rate_per_s"`
	// RateAccepted is the rate ingest actually took in the rate phase.
	RateAccepted float64 `json:"accepted_per_s_at_rate"`
	// The same with JetStream's default sync, when a second run priced it.
	RateP50Default float64 `json:"p50_ms_at_rate_sync_default,omitempty"`
	RateP99Default float64 `json:"p99_ms_at_rate_sync_default,omitempty"`
	// SyncAlways and SyncDefault are fast-phase throughputs with JetStream
	// fsyncing every write and with its default, and their ceilings.
	SyncAlways         float64 `json:"throughput_sync_always_per_s,omitempty"`
	SyncDefault        float64 `json:"throughput_sync_default_per_s,omitempty"`
	CeilingAlways      float64 `json:"ceiling_sync_always_per_s,omitempty"`
	CeilingDefault     float64 `json:"ceiling_sync_default_per_s,omitempty"`
	SyncCostPercent    float64 `json:"sync_always_cost_percent,omitempty"`
	CeilingCostPercent float64 `json:"ceiling_sync_always_cost_percent,omitempty"`
	// PercentOfCeilingOther is the end-to-end share of the ceiling in the
	// second run (the other sync setting), for a like-for-like ratio.
	PercentOfCeilingOther float64 `json:"percent_of_ceiling_other_sync,omitempty"`

	// Open-loop figures of the first run's rate phase.
	RateP999       float64 `json:"p999_ms_at_rate"`
	RateAchieved   float64 `json:"achieved_per_s_at_rate"`
	RateOverloaded bool    `json:"overloaded_at_rate"`
	RatePageP99    float64 `json:"page_p99_ms_at_rate"`
	// CeilingSingleStream is the first run's ceiling with one stream per
	// hop, beside Ceiling (the best layout).
	CeilingSingleStream float64 `json:"broker_ceiling_single_stream_per_s,omitempty"`
	// PeakRSSMiB is the highest resident set of the process over the runs.
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	// PeakServiceRSSMiB is the highest resident set of any one service
	// run as a process of its own (Summary.Apart), and PeakService names it.
	PeakServiceRSSMiB float64 `json:"peak_service_rss_mib,omitempty"`
	PeakService       string  `json:"peak_service,omitempty"`
	// Targets are the targets, each measured and judged.
	Targets []Goal `json:"targets"`
}

// Goal is one performance target and what the run measured against it.
type Goal struct {
	Name     string  `json:"name"`
	Sync     string  `json:"sync"`
	Measured float64 `json:"measured"`
	// AtMost says the figure must not exceed Bound; otherwise it must
	// reach it.
	AtMost bool    `json:"at_most"`
	Bound  float64 `json:"bound"`
	Unit   string  `json:"unit"`
	Met    bool    `json:"met"`
}

// Summary is the machine-readable outcome of a load run.
type Summary struct {
	Started     time.Time `json:"started"`
	CPUs        int       `json:"cpus"`
	LoadAverage string    `json:"load_average_at_start"`
	Runs        []Run     `json:"runs"`
	// Scale is the fast phase again with 1, 2, 4... replicas of every
	// service, each on a fresh stack with the default sync.
	Scale []Scale `json:"scale_out,omitempty"`
	// Apart is the fast phase again, default sync, with each service a
	// process of its own: each one's CPU and peak RSS (loadgen --apart).
	Apart *Phase `json:"services_apart,omitempty"`
	// Capacity is the capacity model built from the runs.
	Capacity *Capacity `json:"capacity,omitempty"`
	Headline Headline  `json:"headline"`
}

// Scale is one fast phase with Replicas copies of every service, and what
// the cases stream says about exactly-once decisions in it.
type Scale struct {
	Replicas int   `json:"replicas"`
	Phase    Phase `json:"phase"`
	Once     Once  `json:"once"`
}

// Compute fills the headline from the runs: the first run is the one the
// headline is about; a second run with the other sync setting prices it.
func (s *Summary) Compute() {
	if len(s.Runs) == 0 {
		return
	}
	h := &s.Headline
	main := s.Runs[0]
	if fast, ok := fastest(main); ok {
		h.Throughput = fast.Throughput
		if main.Ceiling != nil {
			h.Ceiling = main.Ceiling.PerSecond
			h.PercentOfCeiling = percent(fast.Throughput, main.Ceiling.PerSecond)
		}
	}
	for i, r := range s.Runs {
		for _, p := range r.Phases {
			switch {
			case p.Rate == 0:
			case i == 0:
				h.Rate, h.RateP50, h.RateP99, h.RateAccepted = p.Rate, p.Decision.P50, p.Decision.P99, p.AcceptedRate
				h.RateP999, h.RateAchieved, h.RateOverloaded, h.RatePageP99 = p.Decision.P999, p.Achieved, p.Overloaded, p.Delivery.P99
			case r.SyncAlways != main.SyncAlways:
				h.RateP50Default, h.RateP99Default = p.Decision.P50, p.Decision.P99
			}
		}
	}
	for _, r := range s.Runs {
		fast, ok := fastest(r)
		if !ok {
			continue
		}
		ceiling := 0.0
		if r.Ceiling != nil {
			ceiling = r.Ceiling.PerSecond
		}
		if r.SyncAlways {
			h.SyncAlways, h.CeilingAlways = fast.Throughput, ceiling
		} else {
			h.SyncDefault, h.CeilingDefault = fast.Throughput, ceiling
		}
	}
	if len(s.Runs) > 1 && s.Runs[1].Ceiling != nil {
		if fast, ok := fastest(s.Runs[1]); ok {
			h.PercentOfCeilingOther = percent(fast.Throughput, s.Runs[1].Ceiling.PerSecond)
		}
	}
	if h.SyncAlways > 0 && h.SyncDefault > 0 {
		h.SyncCostPercent = 100 - percent(h.SyncAlways, h.SyncDefault)
	}
	if main.CeilingSingle != nil {
		h.CeilingSingleStream = main.CeilingSingle.PerSecond
	}
	for _, r := range s.Runs {
		for _, p := range r.Phases {
			h.PeakRSSMiB = max(h.PeakRSSMiB, p.Usage.PeakRSSMiB)
		}
		h.Targets = append(h.Targets, targets(r, s.Apart == nil)...)
	}
	h.Targets = append(h.Targets, apartTargets(h, s.Apart)...)
	if h.CeilingAlways > 0 && h.CeilingDefault > 0 {
		h.CeilingCostPercent = 100 - percent(h.CeilingAlways, h.CeilingDefault)
	}
	h.Targets = append(h.Targets, scaleTargets(s.Scale)...)
	if c, ok := Model(s.Runs, s.CPUs); ok {
		s.Capacity = &c
	}
}

// scaleTargets judges the scale-out runs: adding replicas must not lower
// throughput (the bound leaves 5% for run-to-run noise, which is about
// 15% between identical runs on a loaded 2-core box), and no mention may
// be decided twice however many replicas compete for it.
func scaleTargets(runs []Scale) []Goal {
	if len(runs) < 2 || runs[0].Phase.Throughput == 0 {
		return nil
	}
	base, worst, dup := runs[0], math.Inf(1), 0
	for _, r := range runs {
		dup += r.Once.Duplicated
		if r.Replicas > base.Replicas {
			worst = min(worst, percent(r.Phase.Throughput, base.Phase.Throughput))
		}
	}
	if math.IsInf(worst, 1) {
		worst = 100 // no run had more replicas than the first
	}
	sync := syncName(false)
	return []Goal{
		{Name: fmt.Sprintf("throughput with more replicas, as %% of %d", base.Replicas), Sync: sync, Measured: worst, Bound: 95, Unit: "%", Met: worst >= 95},
		{Name: "mentions decided twice across replicas", Sync: sync, Measured: float64(dup), AtMost: true, Bound: 0, Unit: "events", Met: dup == 0},
	}
}

// apartTargets judges each service's RSS, read with the services apart,
// against 150 MiB, and names the largest in the headline.
func apartTargets(h *Headline, apart *Phase) []Goal {
	if apart == nil || len(apart.Usage.RSSByService) == 0 {
		return nil
	}
	for name, rss := range apart.Usage.RSSByService {
		if rss > h.PeakServiceRSSMiB || (rss == h.PeakServiceRSSMiB && name < h.PeakService) {
			h.PeakServiceRSSMiB, h.PeakService = rss, name
		}
	}
	v := h.PeakServiceRSSMiB
	return []Goal{{Name: "peak RSS of any service (" + h.PeakService + "), run apart", Sync: syncName(false), Measured: v, AtMost: true, Bound: 150, Unit: "MiB", Met: v <= 150}}
}

// targets judges one run against the targets for its sync setting: with
// the default sync, 4,000/s end to end, 30% of the best layout's ceiling
// and p99 20 ms at 1,000/s offered; with sync always 1,500/s and p99
// 50 ms; with both, p99 to a delivered page 100 ms. RSS under 150 MiB per
// service is judged on the whole process's RSS (a bound for each service)
// when wholeRSS says no run had the services apart.
func targets(r Run, wholeRSS bool) []Goal {
	sync := syncName(r.SyncAlways)
	least := func(name string, v, bound float64, unit string) Goal {
		return Goal{Name: name, Sync: sync, Measured: v, Bound: bound, Unit: unit, Met: v >= bound}
	}
	most := func(name string, v, bound float64, unit string) Goal {
		return Goal{Name: name, Sync: sync, Measured: v, AtMost: true, Bound: bound, Unit: unit, Met: v <= bound}
	}
	throughput, p99, p99bound := 4000.0, 0.0, 20.0
	if r.SyncAlways {
		throughput, p99bound = 1500, 50
	}
	var out []Goal
	var rss float64
	for _, p := range r.Phases {
		rss = max(rss, p.Usage.PeakRSSMiB)
		if p.Rate == 0 {
			out = append(out, least("end-to-end throughput", p.Throughput, throughput, "mentions/s"))
			if !r.SyncAlways && r.Ceiling != nil {
				out = append(out, least("share of the broker's best ceiling", percent(p.Throughput, r.Ceiling.PerSecond), 30, "%"))
			}
			continue
		}
		p99 = p.Decision.P99
		if p.Overloaded {
			// A queue that kept growing has no meaningful p99: it is as
			// long as the run. Report it, and never as met.
			p99 = max(p99, p99bound+1)
		}
		out = append(out, most(fmt.Sprintf("p99 ingest->decision at %.0f/s offered", p.Rate), p99, p99bound, "ms"),
			most(fmt.Sprintf("p99 ingest->page delivered at %.0f/s offered", p.Rate), p.Delivery.P99, 100, "ms"))
	}
	if rss > 0 && wholeRSS {
		out = append(out, most("peak RSS of all services in one process", rss, 150, "MiB"))
	}
	return out
}

func fastest(r Run) (Phase, bool) {
	for _, p := range r.Phases {
		if p.Rate == 0 {
			return p, true
		}
	}
	return Phase{}, false
}

func percent(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(1000*a/b) / 10
}

// WriteJSON writes the summary.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write JSON summary: %w", err)
	}
	return nil
}

// WriteText prints one line per phase, the broker's ceilings, each
// phase's CPU by service, and the targets.
func (s *Summary) WriteText(w io.Writer) {
	h := s.Headline
	fmt.Fprintf(w, "machine: %d CPUs, load average at start %s\n", s.CPUs, s.LoadAverage)
	if len(s.Runs) > 0 && s.Runs[0].Partitions > 0 {
		fmt.Fprintf(w, "services: mentions in %d partition stream(s) (--partitions)\n", s.Runs[0].Partitions)
	}
	fmt.Fprintf(w, "%-7s %-12s %7s %7s %7s %7s %8s %8s %8s %8s %8s %8s %6s %6s %5s\n", "sync", "phase", "sent", "decided", "offer/s", "got/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "page p99", "cpu s", "redis", "rss")
	for _, r := range s.Runs {
		for _, p := range r.Phases {
			mark := ""
			if p.Overloaded {
				mark = "  OVERLOADED: fell behind the schedule"
			}
			offered, got := "-", p.Throughput
			if p.Rate > 0 {
				offered, got = fmt.Sprintf("%.0f", p.Rate), p.Achieved
			}
			fmt.Fprintf(w, "%-7s %-12s %7d %7d %7s %7.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %6.1f %6.1f %5.0f%s\n", syncName(r.SyncAlways), p.Name, p.Sent, p.Decided,
				offered, got, p.Decision.P50, p.Decision.P90, p.Decision.P99, p.Decision.P999, p.Decision.Max, p.Delivery.P99, p.CPU.Process, p.CPU.Redis, p.Usage.PeakRSSMiB, mark)
		}
		for i, c := range []*CeilingResult{r.CeilingSingle, r.Ceiling} {
			if c != nil && (i == 0 || c != r.CeilingSingle) { // the best may be the single stream
				fmt.Fprintf(w, "%-7s %-12s %7d %7s %7s %7.0f   (JetStream alone: %d hops, %d stream(s) side by side, %d-byte messages)\n",
					syncName(r.SyncAlways), "ceiling", c.Messages, "", "", c.PerSecond, c.Hops, c.Partitions, c.Size)
			}
		}
	}
	fmt.Fprintf(w, "\nCPU seconds by service (in process, by profiler label; loadgen = load generator and page sink, other = broker and Go runtime)\n")
	for _, r := range s.Runs {
		for _, p := range r.Phases {
			fmt.Fprintf(w, "  %-7s %-12s %s\n", syncName(r.SyncAlways), p.Name, byService(p.Usage.CPUByService))
		}
	}
	s.writeBatches(w)
	if len(s.Scale) > 0 {
		fmt.Fprintf(w, "\nSCALE-OUT (fast phase, sync default, every service replicated)\n")
		fmt.Fprintf(w, "  %-8s %7s %7s %7s %8s %7s %11s %10s\n", "replicas", "sent", "decided", "got/s", "p99 ms", "cpu s", "duplicated", "per batch")
		for _, r := range s.Scale {
			p := r.Phase
			fmt.Fprintf(w, "  %-8d %7d %7d %7.0f %8.2f %7.1f %11d %10.1f\n", r.Replicas, p.Sent, p.Decided, p.Throughput, p.Decision.P99, p.CPU.Process, r.Once.Duplicated, p.Batches.All().PerBatch())
		}
	}
	if p := s.Apart; p != nil {
		fmt.Fprintf(w, "\nSERVICES APART (fast phase, sync default, a process per service): %d sent, %d decided, %.0f/s, p99 %.2f ms\n", p.Sent, p.Decided, p.Throughput, p.Decision.P99)
		fmt.Fprintf(w, "  CPU s: %s\n  peak RSS MiB: %s\n", byService(p.Usage.CPUByService), byService(p.Usage.RSSByService))
	}
	if s.Capacity != nil {
		s.Capacity.WriteText(w)
	}
	fmt.Fprintf(w, "\nTARGETS\n")
	for _, t := range h.Targets {
		verdict, op := "met", ">="
		if t.AtMost {
			op = "<="
		}
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  %-7s %-45s %10.1f %-10s target %s %g   %s\n", t.Sync, t.Name, t.Measured, t.Unit, op, t.Bound, verdict)
	}
	if h.SyncAlways > 0 && h.SyncDefault > 0 {
		fmt.Fprintf(w, "  sync_interval: always costs %.1f%% end to end (%.0f/s vs %.0f/s); the broker alone %.1f%% (%.0f vs %.0f msg/s)\n",
			h.SyncCostPercent, h.SyncAlways, h.SyncDefault, h.CeilingCostPercent, h.CeilingAlways, h.CeilingDefault)
	}
}

// writeBatches lists each phase's messages per batch, when the services'
// metrics were read (not against a Firebreak already running).
func (s *Summary) writeBatches(w io.Writer) {
	header := "\nMessages per batch (batch consumers; a batch shares its Redis round trips and handling)\n"
	for _, r := range s.Runs {
		for _, p := range r.Phases {
			if len(p.Batches) == 0 {
				continue
			}
			fmt.Fprintf(w, "%s  %-7s %-12s %s\n", header, syncName(r.SyncAlways), p.Name, p.Batches)
			header = ""
		}
	}
}

// byService lists CPU seconds per service, largest first.
func byService(cpu map[string]float64) string {
	names := make([]string, 0, len(cpu))
	for n := range cpu {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(cpu[b], cpu[a]) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.2f", n, cpu[n])
	}
	return strings.Join(parts, ", ")
}

func syncName(always bool) string {
	if always {
		return "always"
	}
	return "default"
}

// WriteHTML writes a self-contained report with latency-over-time plots.
func (s *Summary) WriteHTML(w io.Writer) error {
	type plot struct {
		Run   string
		Phase Phase
		SVG   template.HTML
		Rate  template.HTML
		CPU   string
	}
	var plots []plot
	for _, r := range s.Runs {
		for _, p := range r.Phases {
			plots = append(plots, plot{Run: syncName(r.SyncAlways), Phase: p, SVG: template.HTML(latencySVG(p)), Rate: template.HTML(rateSVG(p)), CPU: byService(p.Usage.CPUByService)})
		}
	}
	json, _ := json.MarshalIndent(s.Headline, "", "  ")
	return reportPage.Execute(w, map[string]any{"S": s, "Plots": plots, "Headline": string(json)})
}

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Firebreak load report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}svg{background:#fafafa;border:1px solid #ddd}</style>
</head><body>
<h1>Firebreak load report</h1>
<p>Started {{.S.Started.Format "2006-01-02 15:04:05 MST"}} on {{.S.CPUs}} CPUs, load average {{.S.LoadAverage}}.</p>
<h2>Headline</h2><pre>{{.Headline}}</pre>
{{range .Plots}}
<h2>{{.Phase.Name}} (sync {{.Run}})</h2>
{{if .Phase.Overloaded}}<p><strong>Overloaded:</strong> the system fell behind the schedule ({{printf "%.0f" .Phase.Achieved}}/s of {{printf "%.0f" .Phase.Offered}}/s offered); its latencies are those of a growing queue.</p>{{end}}
<table><tr><th>sent</th><th>accepted</th><th>decided</th><th>undecided</th><th>escalated</th><th>pages</th><th>offered/s</th><th>achieved/s</th><th>decisions/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>page p50</th><th>page p99</th><th>peak RSS MiB</th></tr>
<tr><td>{{.Phase.Sent}}</td><td>{{.Phase.Accepted}}</td><td>{{.Phase.Decided}}</td><td>{{.Phase.Undecided}}</td><td>{{.Phase.Escalated}}</td><td>{{.Phase.Pages}}</td><td>{{printf "%.0f" .Phase.Offered}}</td><td>{{printf "%.0f" .Phase.Achieved}}</td><td>{{printf "%.0f" .Phase.Throughput}}</td>
<td>{{.Phase.Decision.P50}}</td><td>{{.Phase.Decision.P90}}</td><td>{{.Phase.Decision.P99}}</td><td>{{.Phase.Decision.P999}}</td><td>{{.Phase.Decision.Max}}</td><td>{{.Phase.Delivery.P50}}</td><td>{{.Phase.Delivery.P99}}</td><td>{{printf "%.0f" .Phase.Usage.PeakRSSMiB}}</td></tr></table>
<p>CPU seconds by service: {{.CPU}}</p>
{{with .Phase.Batches}}<p>Messages per batch: {{.}}</p>{{end}}
<p>Latency (ms, log scale) by the time the mention was due (open loop): <span style="color:#1f77b4">ingest→decision</span>, <span style="color:#ff7f0e">ingest→page delivered</span>; the line is each second's p99 to decision.</p>
{{.SVG}}
<p>Decisions per second.</p>
{{.Rate}}
{{end}}
</body></html>
`))

const (
	plotW, plotH = 900, 300
	margin       = 45
)

// latencySVG scatters each mention's latencies over time on a log scale,
// thinned to a few thousand points so the page stays light.
func latencySVG(p Phase) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, plotW, plotH)
	span := math.Max(p.Seconds, 1)
	lo, hi := 0.1, 10000.0
	x := func(t float64) float64 { return margin + (plotW-margin-10)*t/span }
	y := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return plotH - 25 - (plotH-35)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	for _, tick := range []float64{0.1, 1, 10, 100, 1000, 10000} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="2" y="%.1f" font-size="10">%g ms</text>`, margin, plotW-10, y(tick), y(tick), y(tick)+3, tick)
	}
	for s := 0.0; s <= span; s += math.Max(1, math.Round(span/10)) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10">%gs</text>`, x(s), plotH-8, s)
	}
	for _, set := range []struct {
		points []Point
		colour string
	}{{p.DecisionPoints, "#1f77b4"}, {p.DeliveryPoints, "#ff7f0e"}} {
		step := max(1, len(set.points)/3000)
		for i := 0; i < len(set.points); i += step {
			pt := set.points[i]
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.3" fill="%s" fill-opacity="0.5"/>`, x(pt.T), y(pt.Ms), set.colour)
		}
	}
	b.WriteString(`<polyline fill="none" stroke="#d62728" stroke-width="1.5" points="`)
	for sec, v := range p99PerSecond(p.DecisionPoints) {
		if v > 0 {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(float64(sec)+0.5), y(v))
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}

func p99PerSecond(points []Point) []float64 {
	var bins [][]float64
	for _, pt := range points {
		sec := int(pt.T)
		for len(bins) <= sec {
			bins = append(bins, nil)
		}
		bins[sec] = append(bins[sec], pt.Ms)
	}
	out := make([]float64, len(bins))
	for i, bin := range bins {
		if len(bin) == 0 {
			continue
		}
		slices.Sort(bin)
		out[i] = bin[max(0, int(math.Ceil(0.99*float64(len(bin))))-1)]
	}
	return out
}

// rateSVG draws decisions per second as bars.
func rateSVG(p Phase) string {
	var b strings.Builder
	const h = 150
	fmt.Fprintf(&b, `<svg width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, plotW, h)
	top := 1.0
	for _, v := range p.PerSecond {
		top = math.Max(top, v)
	}
	width := float64(plotW-margin-10) / math.Max(float64(len(p.PerSecond)), 1)
	for i, v := range p.PerSecond {
		bh := (h - 30) * v / top
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2ca02c"><title>%ds: %.0f</title></rect>`, margin+float64(i)*width, h-20-bh, math.Max(width-1, 1), bh, i, v)
	}
	fmt.Fprintf(&b, `<text x="2" y="12" font-size="10">%.0f/s</text></svg>`, top)
	return b.String()
}
