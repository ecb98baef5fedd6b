package policy

import (
	"testing"
	"time"
)

func TestWording(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{Ratio(332000.0 / 203000), "1.6x"},
		{Ratio(0.25), "0.2x"},
		{Ratio(12.34), "12x"},
		{Ordinal(3), "third"},
		{Ordinal(11), "11th"},
		{Ordinal(22), "22nd"},
		{Ordinal(103), "103rd"},
		{Ordinal(112), "112th"},
		{Span(24 * time.Hour), "24h"},
		{Span(7 * 24 * time.Hour), "7d"},
		{Span(90 * time.Minute), "90m"},
		{Span(45 * time.Second), "45s"},
		{Span(1500 * time.Millisecond), "1.5s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestReasonTemplates(t *testing.T) {
	t.Parallel()
	p := Default()
	in := Input{Mention: mention(), Score: complaintScore(), Reach: reachOf(332000, 203000, 4), History: historyOf(4, 2)}
	in.Score.Topics = []string{"billing", "delay"}
	f := facts{in: &in, score: in.Score, reach: in.Reach, hist: in.History, policy: p}
	tests := []struct{ src, want string }{
		{"plain words", "plain words"},
		{"{{literal}} {followers}", "{literal} 332,000"},
		{"{nth} in {window}, {answered}; streak {streak} of {complaints}", "fourth in 24h, 2 answered; streak 2 of 4"},
		{"{tier} tier, {relative} of {brand_followers}", "rival tier, 1.6x of 203,000"},
		{"{complaint} {sentiment} about {topics} by {handle} to {brand}", "0.90 negative about billing, delay by traveller to acme"},
	}
	for _, tt := range tests {
		tmpl, err := compileTemplate(tt.src)
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		if got := tmpl.render(&f); got != tt.want {
			t.Errorf("%q rendered %q, want %q", tt.src, got, tt.want)
		}
	}
	for _, bad := range []string{"{unclosed", "stray }", "{nope}"} {
		if _, err := compileTemplate(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
