// Package chart lays out the insights page's charts: it turns counts into
// coordinates and the page's template draws them as SVG, so every label
// goes through html/template's escaping like the rest of the page.
package chart

import (
	"fmt"
	"strconv"
	"strings"
)

// Size of every chart's drawing area, in SVG user units; the SVG scales to
// the page's width, so it reads on a phone.
const (
	Width  = 600
	Height = 160
	left   = 44 // room for the y axis' labels
	bottom = 20 // room for the x axis' labels
)

// Line is one series drawn as a polyline.
type Line struct {
	Name   string
	Class  string
	Points string // "x,y x,y ..." for the polyline
	Total  int64
}

// Tick is a labelled position on an axis.
type Tick struct {
	X, Y  float64
	Label string
}

// Lines is a line chart of series over the same buckets.
type Lines struct {
	Width, Height int
	Left, Bottom  float64
	Lines         []Line
	YTicks        []Tick
	XTicks        []Tick
}

// Series is one named series for NewLines.
type Series struct {
	Name, Class string
	Values      []int64
}

// NewLines lays out series whose points share the bucket labels (every
// labelEvery-th bucket is labelled on the x axis).
func NewLines(labels []string, labelEvery int, series ...Series) Lines {
	var top int64 = 1
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	top = niceCeiling(top)
	plotW, plotH := float64(Width-left), float64(Height-bottom)
	n := max(len(labels), 1)
	step := plotW / float64(max(n-1, 1))
	x := func(i int) float64 { return left + float64(i)*step }
	y := func(v int64) float64 { return plotH - float64(v)/float64(top)*(plotH-8) }
	out := Lines{Width: Width, Height: Height, Left: left, Bottom: plotH}
	for _, s := range series {
		var pts []string
		var total int64
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			total += v
		}
		out.Lines = append(out.Lines, Line{Name: s.Name, Class: s.Class, Points: strings.Join(pts, " "), Total: total})
	}
	for _, v := range []int64{0, top / 2, top} {
		out.YTicks = append(out.YTicks, Tick{X: left - 6, Y: y(v), Label: strconv.FormatInt(v, 10)})
	}
	for i, l := range labels {
		if labelEvery > 0 && i%labelEvery == 0 {
			out.XTicks = append(out.XTicks, Tick{X: x(i), Y: float64(Height - 4), Label: l})
		}
	}
	return out
}

// niceCeiling rounds a maximum up to 1, 2 or 5 times a power of ten, so
// the axis reads in round numbers.
func niceCeiling(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// Segment is one part of a horizontal bar.
type Segment struct {
	X, Y, Width float64
	Class       string
	Name        string
	Value       int64
}

// Bar is one labelled horizontal bar of segments.
type Bar struct {
	Label    string
	Y        float64
	Segments []Segment
	Total    int64
	// End is where the bar ends, and Note what is written after it (the
	// total unless the caller says otherwise).
	End  float64
	Note string
	// Mark, when above zero, is where a target line crosses the bar, from
	// Y-2 to MarkEnd.
	Mark, MarkEnd float64
}

// Bars is a chart of horizontal bars on one scale.
type Bars struct {
	Width, Height int
	Left          float64
	BarHeight     float64
	Bars          []Bar
}

// Row is one bar's data for NewBars: parts of one total, in order.
type Row struct {
	Label  string
	Parts  []Part
	Target float64 // in the parts' unit; 0 for none
}

// Part is one segment's data.
type Part struct {
	Name, Class string
	Value       int64
}

// barLeft is the room for the bars' labels.
const barLeft = 140

// NewBars lays out rows of stacked bars on a common scale, which also
// holds every row's target.
func NewBars(rows ...Row) Bars {
	const rowH, barH = 26.0, 18.0
	var top float64 = 1
	for _, r := range rows {
		var sum int64
		for _, p := range r.Parts {
			sum += p.Value
		}
		top = max(top, float64(sum), r.Target)
	}
	plotW := float64(Width - barLeft - 50)
	out := Bars{Width: Width, Height: int(rowH*float64(len(rows))) + 4, Left: barLeft, BarHeight: barH}
	for i, r := range rows {
		b := Bar{Label: r.Label, Y: 2 + rowH*float64(i)}
		x := float64(barLeft)
		for _, p := range r.Parts {
			w := float64(p.Value) / top * plotW
			b.Segments = append(b.Segments, Segment{X: x, Y: b.Y, Width: w, Class: p.Class, Name: p.Name, Value: p.Value})
			x += w
			b.Total += p.Value
		}
		b.End, b.Note = x, strconv.FormatInt(b.Total, 10)
		if r.Target > 0 {
			b.Mark, b.MarkEnd = barLeft+r.Target/top*plotW, b.Y+barH+2
		}
		out.Bars = append(out.Bars, b)
	}
	return out
}
