package score

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzScore checks that no input panics, leaves the result ranges or takes
// more than linear time.
func FuzzScore(f *testing.F) {
	for _, seed := range []string{"", "good", "@united not good!!! 😡 http://x #fail", ":-) <3 &amp;", "sooooo BAD?!?",
		"\xff\xfe", "👍🏽\u200d\U0001F525", "'''", "#", "@", "n't", "can't stand fed up"} {
		f.Add(seed)
	}
	lexicon, hybrid := newLexiconScorer(f), newHybridScorer(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, s := range []*Scorer{lexicon, hybrid} {
			r := s.Score(text)
			if !(r.Compound >= -1 && r.Compound <= 1 && r.Complaint >= 0 && r.Complaint <= 1 &&
				r.Toxicity >= 0 && r.Toxicity <= 1 && r.Urgency >= 0 && r.Urgency <= 1) {
				t.Fatalf("Score(%q) out of range: %+v", text, r)
			}
			for _, f := range s.CheckReply(text, ReplyContext{MentionText: text, PublicReply: true, PrivateThread: true}).Findings {
				if f.Start < 0 || f.End > len(text) || f.Start > f.End {
					t.Fatalf("CheckReply(%q) span %d..%d out of the draft", text, f.Start, f.End)
				}
			}
		}
	})
}

// TestScoreTimeIsLinear scores a long text and one 16 times longer; a
// quadratic step would show as a ratio far above 16.
func TestScoreTimeIsLinear(t *testing.T) {
	s := newHybridScorer(t)
	unit := "@united sooooo NOT good!!! 😡 lost my bag, http://t.co/x #fail can't stand it \xff "
	short, long := strings.Repeat(unit, 200), strings.Repeat(unit, 3200)
	if !utf8.ValidString(unit[:len(unit)-3]) {
		t.Fatal("bad test text")
	}
	measure := func(text string) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			s.Score(text)
			best = min(best, time.Since(start))
		}
		return best
	}
	ts, tl := measure(short), measure(long)
	if tl > 48*ts+time.Millisecond {
		t.Errorf("scoring 16x the text took %v vs %v (%.1fx), want roughly linear", tl, ts, float64(tl)/float64(ts))
	}
}
