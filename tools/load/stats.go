package load

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency summarises a set of durations, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// Histogram bounds: 1 µs to 10 minutes at three significant digits, so
// every figure is within 0.1% of the exact one.
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
)

// Summarise computes the percentiles of ds with an HdrHistogram; a value
// past the histogram's range is recorded at its top.
func Summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	h := hdrhistogram.New(histMin, histMax, histDigits)
	var top time.Duration
	for _, d := range ds {
		top = max(top, d)
		us := min(max(d.Microseconds(), histMin), histMax)
		_ = h.RecordValue(us) // in range by construction
	}
	at := func(q float64) float64 { return usMs(h.ValueAtQuantile(q)) }
	return Latency{N: len(ds), P50: at(50), P90: at(90), P99: at(99), P999: at(99.9), Max: ms(top)}
}

func usMs(us int64) float64 { return math.Round(float64(us)) / 1e3 }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Point is one mention on the latency-over-time plot.
type Point struct {
	T  float64 `json:"t_s"`
	Ms float64 `json:"ms"`
}

// Phase is the outcome of one load phase.
type Phase struct {
	Name       string  `json:"name"`
	Rate       float64 `json:"rate_per_s"` // 0: as fast as it goes
	SyncAlways bool    `json:"sync_always"`
	Seconds    float64 `json:"seconds"`

	Sent         int `json:"sent"`
	Accepted     int `json:"accepted"`
	Refused      int `json:"refused"`
	BrandReplies int `json:"brand_replies"`
	Decided      int `json:"decided"`
	Undecided    int `json:"undecided"`
	Escalated    int `json:"escalated"`
	// AcceptedRate is mentions ingest accepted a second: below Rate when
	// the system could not keep up with the offered load.
	AcceptedRate float64 `json:"accepted_per_s"`
	Pages        int     `json:"pages"`

	// Throughput is decisions a second in the steady part of the phase.
	Throughput float64 `json:"throughput_per_s"`
	// Offered is the schedule's rate (0 in an as-fast-as-it-goes phase);
	// Achieved is decisions a second from the first scheduled send to the
	// last decision. Overloaded says the system fell behind the schedule:
	// it achieved under 95% of the offered rate or left mentions undecided,
	// so its latencies are those of a growing queue.
	Offered    float64 `json:"offered_per_s"`
	Achieved   float64 `json:"achieved_per_s"`
	Overloaded bool    `json:"overloaded"`
	// Decision runs from the mention's scheduled send (open loop) to its
	// decision;
	// DecisionAfter202 from ingest's 202 (negative values count as zero:
	// the decision can beat the answer back to the client).
	Decision         Latency `json:"ingest_to_decision"`
	DecisionAfter202 Latency `json:"accepted_to_decision"`
	Delivery         Latency `json:"ingest_to_delivery"`

	CPU            CPU            `json:"cpu"`
	Usage          Usage          `json:"usage"`
	Batches        Batches        `json:"batches,omitempty"` // the batch consumers', from the services' metrics
	Ceiling        *CeilingResult `json:"broker_ceiling,omitempty"`
	CeilingPercent float64        `json:"percent_of_ceiling,omitempty"`

	DecisionPoints []Point   `json:"-"`
	DeliveryPoints []Point   `json:"-"`
	PerSecond      []float64 `json:"decisions_per_second"`
}

// Analyse turns a phase's raw records into its figures.
func Analyse(name string, rate float64, sent []Sent, decided map[string]Decided, pages []Page) Phase {
	p := Phase{Name: name, Rate: rate, Sent: len(sent)}
	if len(sent) == 0 {
		return p
	}
	start, stop := sent[0].due(), sent[0].Sent
	var lastDecision time.Time
	byID := make(map[string]*Sent, len(sent))
	var toDecision, after202 []time.Duration
	for i := range sent {
		s := &sent[i]
		start, stop = minTime(start, s.due()), maxTime(stop, s.Sent)
		byID[s.ID()] = s
		switch {
		case s.Accepted.IsZero():
			p.Refused++
			continue
		case s.BrandReply:
			p.Accepted++
			p.BrandReplies++
			continue
		}
		p.Accepted++
		d, ok := decided[s.ID()]
		if !ok {
			p.Undecided++
			continue
		}
		p.Decided++
		if d.Escalate {
			p.Escalated++
		}
		lastDecision = maxTime(lastDecision, d.At)
		toDecision = append(toDecision, d.At.Sub(s.due()))
		after202 = append(after202, max(d.At.Sub(s.Accepted), 0))
		p.DecisionPoints = append(p.DecisionPoints, Point{T: s.due().Sub(start).Seconds(), Ms: ms(d.At.Sub(s.due()))})
	}
	p.Seconds = stop.Sub(start).Seconds()
	if p.Seconds > 0 {
		p.AcceptedRate = float64(p.Accepted) / p.Seconds
	}
	p.Offered = rate
	if span := lastDecision.Sub(start).Seconds(); span > 0 {
		p.Achieved = float64(p.Decided) / span
	}
	// Brand replies are offered but are no decision the run waits for: a
	// system keeping up decides the rest of the offered rate, and is
	// judged against that share of it.
	decidable := float64(len(sent)-p.BrandReplies) / float64(len(sent))
	p.Overloaded = rate > 0 && (p.Undecided > 0 || p.Achieved < 0.95*rate*decidable)
	p.Decision, p.DecisionAfter202 = Summarise(toDecision), Summarise(after202)
	p.Delivery, p.DeliveryPoints, p.Pages = deliveries(pages, byID, start)
	p.Throughput, p.PerSecond = throughput(decided, byID, start, stop)
	return p
}

// due is when the mention should have been sent; records made before
// schedules were kept fall back to when it was.
func (s *Sent) due() time.Time {
	if s.Due.IsZero() {
		return s.Sent
	}
	return s.Due
}

// deliveries measures, for each case opened by one of our mentions, the
// time from the mention's scheduled send to the first page about it (a retried or
// repeated page counts once, at its first arrival).
func deliveries(pages []Page, byID map[string]*Sent, start time.Time) (Latency, []Point, int) {
	type firstPage struct {
		at   time.Time
		sent *Sent
	}
	first := map[string]firstPage{}
	count := 0
	for _, pg := range pages {
		for _, ev := range pg.Events {
			s, ok := byID[ev.MentionID]
			if !ok || ev.Type != "CASE_EVENT_TYPE_OPENED" {
				continue
			}
			count++
			if f, seen := first[ev.ID]; !seen || pg.At.Before(f.at) {
				first[ev.ID] = firstPage{pg.At, s}
			}
		}
	}
	ds := make([]time.Duration, 0, len(first))
	points := make([]Point, 0, len(first))
	for _, f := range first {
		ds = append(ds, f.at.Sub(f.sent.due()))
		points = append(points, Point{T: f.sent.due().Sub(start).Seconds(), Ms: ms(f.at.Sub(f.sent.due()))})
	}
	return Summarise(ds), points, count
}

// throughput counts decisions a second over the steady part of the phase:
// after a tenth of it for warm-up, until sending stopped.
func throughput(decided map[string]Decided, byID map[string]*Sent, start, stop time.Time) (float64, []float64) {
	from := start.Add(stop.Sub(start) / 10)
	var steady int
	var perSecond []float64
	for id, d := range decided {
		if _, ours := byID[id]; !ours {
			continue
		}
		if !d.At.Before(from) && !d.At.After(stop) {
			steady++
		}
		sec := int(d.At.Sub(start).Seconds())
		if sec < 0 {
			continue
		}
		for len(perSecond) <= sec {
			perSecond = append(perSecond, 0)
		}
		perSecond[sec]++
	}
	window := stop.Sub(from).Seconds()
	if window <= 0 {
		return 0, perSecond
	}
	return float64(steady) / window, perSecond
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
