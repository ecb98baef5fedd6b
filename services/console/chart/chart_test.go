package chart

import (
	"strings"
	"testing"
)

func TestLinesScaleToARoundMaximumAndLabelEveryNthBucket(t *testing.T) {
	l := NewLines([]string{"00:00", "06:00", "12:00", "18:00"}, 2, Series{Name: "m", Values: []int64{0, 30, 7, 1}})
	if got := l.YTicks[2].Label; got != "50" {
		t.Errorf("top of the axis %s, want 50 (30 rounded up to 1, 2 or 5 times ten)", got)
	}
	if len(l.XTicks) != 2 || l.XTicks[1].Label != "12:00" {
		t.Errorf("x labels %v, want 00:00 and 12:00", l.XTicks)
	}
	pts := strings.Fields(l.Lines[0].Points)
	if len(pts) != 4 || pts[0] != "44.0,140.0" || l.Lines[0].Total != 38 {
		t.Errorf("points %v, total %d", pts, l.Lines[0].Total)
	}
}

func TestBarsShareOneScaleWithTheirTargets(t *testing.T) {
	b := NewBars(Row{Label: "a", Parts: []Part{{Value: 10}, {Value: 10}}}, Row{Label: "b", Parts: []Part{{Value: 5}}, Target: 40})
	full := float64(Width - barLeft - 50)
	if w := b.Bars[0].Segments[0].Width; w != full/4 {
		t.Errorf("10 of a scale of 40 drawn %v wide, want %v", w, full/4)
	}
	if b.Bars[1].Mark != barLeft+full || b.Bars[0].Mark != 0 || b.Bars[0].Note != "20" {
		t.Errorf("bars %+v", b.Bars)
	}
}
