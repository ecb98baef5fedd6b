package load

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of durations, in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Summarise computes the percentiles of ds (nearest rank).
func Summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(sorted)))) - 1
		return ms(sorted[max(i, 0)])
	}
	return Latency{N: len(sorted), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(sorted[len(sorted)-1])}
}

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
	// Decision runs from the request carrying the mention to its decision;
	// DecisionAfter202 from ingest's 202 (negative values count as zero:
	// the decision can beat the answer back to the client).
	Decision         Latency `json:"ingest_to_decision"`
	DecisionAfter202 Latency `json:"accepted_to_decision"`
	Delivery         Latency `json:"ingest_to_delivery"`

	CPU            CPU            `json:"cpu"`
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
	start, stop := sent[0].Sent, sent[0].Sent
	byID := make(map[string]*Sent, len(sent))
	var toDecision, after202 []time.Duration
	for i := range sent {
		s := &sent[i]
		start, stop = minTime(start, s.Sent), maxTime(stop, s.Sent)
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
		toDecision = append(toDecision, d.At.Sub(s.Sent))
		after202 = append(after202, max(d.At.Sub(s.Accepted), 0))
		p.DecisionPoints = append(p.DecisionPoints, Point{T: s.Sent.Sub(start).Seconds(), Ms: ms(d.At.Sub(s.Sent))})
	}
	p.Seconds = stop.Sub(start).Seconds()
	if p.Seconds > 0 {
		p.AcceptedRate = float64(p.Accepted) / p.Seconds
	}
	p.Decision, p.DecisionAfter202 = Summarise(toDecision), Summarise(after202)
	p.Delivery, p.DeliveryPoints, p.Pages = deliveries(pages, byID, start)
	p.Throughput, p.PerSecond = throughput(decided, byID, start, stop)
	return p
}

// deliveries measures, for each case opened by one of our mentions, the
// time from the mention's request to the first page about it (a retried or
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
		ds = append(ds, f.at.Sub(f.sent.Sent))
		points = append(points, Point{T: f.sent.Sent.Sub(start).Seconds(), Ms: ms(f.at.Sub(f.sent.Sent))})
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
