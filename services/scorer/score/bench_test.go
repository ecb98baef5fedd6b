package score

import (
	"fmt"
	"strings"
	"testing"
)

// benchTexts are typical mentions: about 100 bytes, handles, a URL, emoji.
var benchTexts = []string{
	"@united flight 1234 delayed 3 hours, stranded at ORD and nobody at the desk. worst airline ever!!! 😡",
	"@SouthwestAir thank you so much, the crew on my flight to Denver was amazing today 😀 #happy",
	"@AmericanAir what time does the gate open for AA100? http://t.co/abc123",
	"@AppleSupport updated to iOS 11.1 and now my battery lasts half a day, not good at all",
	"@115718 I apologize for the inconvenience. I will be glad to assist you. Can you DM me your acct #? -JB",
}

func BenchmarkScore(b *testing.B) {
	s := newHybridScorer(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.Score(benchTexts[n%len(benchTexts)])
		n++
	}
}

func BenchmarkScoreLexiconOnly(b *testing.B) {
	s := newLexiconScorer(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.Score(benchTexts[n%len(benchTexts)])
		n++
	}
}

func BenchmarkScoreBatch(b *testing.B) {
	s := newHybridScorer(b)
	batch := make([]string, 256)
	for i := range batch {
		batch[i] = benchTexts[i%len(benchTexts)]
	}
	out := make([]Result, len(batch))
	b.ReportAllocs()
	for b.Loop() {
		out = s.ScoreBatch(batch, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/text")
}

// BenchmarkScoreLength scores texts of growing length with the default
// model; ns/byte stays flat because scoring is one linear pass (this
// replaces a timed test, which failed on a loaded machine).
func BenchmarkScoreLength(b *testing.B) {
	s := newHybridScorer(b)
	unit := "@united sooooo NOT good!!! 😡 lost my bag, http://t.co/x #fail can't stand it \xff "
	for _, n := range []int{1, 16, 256} {
		text := strings.Repeat(unit, n)
		b.Run(fmt.Sprint(len(text), "B"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Score(text)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(text)), "ns/byte")
		})
	}
}

// BenchmarkScoreAirlineModel is BenchmarkScore with the airline model, for
// comparison.
func BenchmarkScoreAirlineModel(b *testing.B) {
	m, err := BuiltinModel(ModelAirline)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Model: m})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.Score(benchTexts[n%len(benchTexts)])
		n++
	}
}
