package score

import "testing"

// FuzzScore checks that no input panics or leaves the result ranges
// (BenchmarkScoreLength shows the time is linear).
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
