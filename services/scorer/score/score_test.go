package score

import (
	"bytes"
	"math"
	"slices"
	"sync"
	"testing"
)

func newLexiconScorer(t testing.TB) *Scorer {
	t.Helper()
	s, err := New(Options{})
	if err != nil {
		t.Fatalf("new lexicon scorer: %v", err)
	}
	return s
}

func newHybridScorer(t testing.TB) *Scorer {
	t.Helper()
	m, err := DefaultModel()
	if err != nil {
		t.Fatalf("default model: %v", err)
	}
	s, err := New(Options{Model: m})
	if err != nil {
		t.Fatalf("new hybrid scorer: %v", err)
	}
	return s
}

// compare says how two texts' lexicon compounds must relate.
type compare struct {
	name        string
	text, other string
	want        string // "<", ">" or "="
}

func checkCompare(t *testing.T, s *Scorer, tests []compare) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := s.Score(tc.text).Compound, s.Score(tc.other).Compound
			ok := map[string]bool{"<": a < b, ">": a > b, "=": a == b}[tc.want]
			if !ok {
				t.Errorf("compound(%q)=%.3f, want %s compound(%q)=%.3f", tc.text, a, tc.want, tc.other, b)
			}
		})
	}
}

func TestNegationFlipsSentiment(t *testing.T) {
	s := newLexiconScorer(t)
	checkCompare(t, s, []compare{
		{"not", "the crew was not good", "the crew was good", "<"},
		{"contraction", "the crew isn't helpful", "the crew is helpful", "<"},
		{"curly apostrophe", "the crew isn’t helpful", "the crew is helpful", "<"},
		{"two words back", "not very good", "very good", "<"},
		{"three words back", "never was really good", "was really good", "<"},
		{"negated negative rises", "not bad at all", "bad at all", ">"},
		{"never so intensifies", "never so happy", "happy", ">"},
	})
	if got := s.Score("the service was not good").Label; got != Negative {
		t.Errorf("\"not good\" labelled %v, want negative", got)
	}
}

func TestIntensifiersCapsElongationPunctuation(t *testing.T) {
	s := newLexiconScorer(t)
	checkCompare(t, s, []compare{
		{"booster up", "the food is extremely good", "the food is good", ">"},
		{"booster down", "the food is slightly good", "the food is good", "<"},
		{"booster on negative", "the delay is really bad", "the delay is bad", "<"},
		{"caps emphasis", "the food is GOOD", "the food is good", ">"},
		{"all caps is not emphasis", "THE FOOD IS GOOD", "the food is good", "="},
		{"elongation", "this is sooooo bad", "this is so bad", "<"},
		{"elongated word found", "goooood flight", "good flight", ">"},
		{"exclamation", "great flight!!!", "great flight", ">"},
		{"question marks", "terrible flight??", "terrible flight", "<"},
		{"but shifts weight", "the food was good but the flight was horrible", "the food was good and the flight was horrible", "<"},
	})
}

func TestEmojiEmoticonsHashtagsHandlesURLs(t *testing.T) {
	s := newLexiconScorer(t)
	tests := []struct {
		text string
		want Label
	}{
		{"thanks 😀", Positive},
		{"flight again 😢", Negative},
		{"😀🏽", Positive},
		{"😀\ufe0f", Positive},
		{"landed :)", Positive},
		{"landed :(", Negative},
		{"landed :-D", Positive},
		{"@united @delta", Neutral}, // "united" is a positive word; the handle is not
		{"see http://great.example.com/love", Neutral},
		{"#fail", Negative},
		{"#loveit", Neutral},
		{"#love", Positive},
		{"&amp; &lt;3", Neutral},
	}
	for _, tc := range tests {
		if got := s.Score(tc.text); got.Label != tc.want {
			t.Errorf("Score(%q) = %v (%.3f), want %v", tc.text, got.Label, got.Compound, tc.want)
		}
	}
}

func TestEachTopicIsRecognised(t *testing.T) {
	s := newLexiconScorer(t)
	tests := []struct{ topic, text string }{
		{"customer_service", "been on hold for two hours with customer service"},
		{"late", "flight delayed again"},
		{"late", "Late Flightr as usual"},
		{"cancelled", "my flight got Cancelled Flightled"},
		{"lost_luggage", "you lost my luggage"},
		{"damaged_luggage", "my suitcase arrived broken"},
		{"booking", "can't rebook on the website"},
		{"staff", "the flight attendant was rude"},
		{"bad_flight", "no legroom and the wifi never worked"},
		{"long_lines", "the security line is endless"},
		{"billing", "I was double charged"},
		{"delivery", "my package never arrived"},
		{"outage", "the app keeps crashing"},
	}
	for _, tc := range tests {
		if got := s.Score(tc.text).Topics; !slices.Contains(got, tc.topic) {
			t.Errorf("Score(%q).Topics = %v, want %s", tc.text, got, tc.topic)
		}
	}
	if got := s.Score("lovely day").Topics; got != nil {
		t.Errorf("topics of a text with none = %v, want nil", got)
	}
}

func TestTopicSetIsPerBrand(t *testing.T) {
	ts, err := ParseTopics([]byte(`[{"name": "coverage", "keywords": ["no signal", "dead zone"]}, {"name": "roaming", "keywords": ["roaming"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Topics: ts})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Score("No SIGNAL again and roaming charges").Topics
	if !slices.Equal(got, []string{"coverage", "roaming"}) {
		t.Errorf("topics = %v, want [coverage roaming]", got)
	}
	if got := s.Score("my flight was delayed").Topics; got != nil {
		t.Errorf("brand topics matched airline text: %v", got)
	}
	for _, bad := range []string{`[{"name": "", "keywords": ["x"]}]`, `[{"name": "a", "keywords": []}]`,
		`[{"name": "a", "keywords": ["one two three four"]}]`, `{"topics": 3}`} {
		if _, err := ParseTopics([]byte(bad)); err == nil {
			t.Errorf("ParseTopics(%s) accepted an invalid topic set", bad)
		}
	}
}

func TestUrgencyAndToxicity(t *testing.T) {
	s := newLexiconScorer(t)
	tests := []struct {
		text    string
		signals []string
	}{
		{"stranded in Denver overnight with no hotel", []string{"stranded"}},
		{"I missed my connection because of you", []string{"missed_connection"}},
		{"my son needs his insulin from the lost bag", []string{"medical", "vulnerable"}},
		{"smoke in the cabin, this is unsafe", []string{"safety"}},
		{"still waiting for a reply", []string{"still_waiting"}},
	}
	for _, tc := range tests {
		r := s.Score(tc.text)
		for _, sig := range tc.signals {
			if !slices.Contains(r.UrgencySignals, sig) {
				t.Errorf("Score(%q).UrgencySignals = %v, want %s", tc.text, r.UrgencySignals, sig)
			}
		}
		if r.Urgency <= 0.2 {
			t.Errorf("Score(%q).Urgency = %.2f, want > 0.2", tc.text, r.Urgency)
		}
	}
	if r := s.Score("thanks for a lovely flight"); r.Urgency != 0 || r.Toxicity != 0 {
		t.Errorf("calm text: urgency %.2f toxicity %.2f, want 0", r.Urgency, r.Toxicity)
	}
	mild, strong := s.Score("this airline sucks"), s.Score("fuck you, you useless idiots")
	if !(strong.Toxicity > mild.Toxicity && mild.Toxicity > 0 && strong.Toxicity <= 1) {
		t.Errorf("toxicity: mild %.2f, strong %.2f; want 0 < mild < strong <= 1", mild.Toxicity, strong.Toxicity)
	}
}

func TestHybridLabelsObviousTexts(t *testing.T) {
	s := newHybridScorer(t)
	tests := []struct {
		text string
		want Label
	}{
		{"@united you lost my bag and nobody answers the phone", Negative},
		{"@AppleSupport I updated my phone and now it is even slower and barely works", Negative},
		{"@AmazonHelp my package never arrived and I was charged twice", Negative},
		{"@SouthwestAir thank you so much, the crew was amazing!", Positive},
		{"@Tesco thanks, sorted now 😀", Positive},
		{"@JetBlue what time does the gate open for flight 123?", Neutral},
	}
	for _, tc := range tests {
		r := s.Score(tc.text)
		if r.Label != tc.want {
			t.Errorf("Score(%q) = %v (compound %.2f complaint %.2f), want %v", tc.text, r.Label, r.Compound, r.Complaint, tc.want)
		}
		if r.ModelVersion == LexiconVersion || r.ModelVersion == "" {
			t.Errorf("model version %q, want the trained model's", r.ModelVersion)
		}
	}
	if c := s.Score("@united you lost my bag").Complaint; c < 0.8 {
		t.Errorf("complaint likelihood of a lost bag = %.2f, want >= 0.8", c)
	}
}

func TestResultsStayInRange(t *testing.T) {
	for _, s := range []*Scorer{newLexiconScorer(t), newHybridScorer(t)} {
		for _, text := range []string{"", "!!!!!!!!!!", "GOOD GOOD GOOD GOOD GOOD GOOD GOOD", "hate hate hate hate hate hate fuck fuck shit!!!!"} {
			r := s.Score(text)
			for name, v := range map[string]float64{"compound": r.Compound, "complaint": r.Complaint, "toxicity": r.Toxicity, "urgency": r.Urgency} {
				lo := 0.0
				if name == "compound" {
					lo = -1
				}
				if v < lo || v > 1 || v != v {
					t.Errorf("%s: Score(%q).%s = %v out of range", s.ModelVersion(), text, name, v)
				}
			}
		}
	}
}

func TestScorerIsSafeForConcurrentUse(t *testing.T) {
	s := newHybridScorer(t)
	want := s.Score("my flight was delayed and the crew was rude")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if got := s.Score("my flight was delayed and the crew was rude"); got.Compound != want.Compound {
					t.Errorf("concurrent score %v, want %v", got.Compound, want.Compound)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestModelRoundTripsByteForByte(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), defaultModel) {
		t.Fatalf("re-encoded model differs from the embedded file (%d vs %d bytes)", buf.Len(), len(defaultModel))
	}
	if _, err := LoadModel(bytes.NewReader([]byte("not a model"))); err == nil {
		t.Error("LoadModel accepted garbage")
	}
}

func TestScoreDoesNotAllocate(t *testing.T) {
	s := newHybridScorer(t)
	text := "@united flight 1234 delayed 3 hours, stranded at ORD and nobody at the desk. worst airline ever!!! 😡 http://t.co/x #fail"
	if n := testing.AllocsPerRun(100, func() { s.Score(text) }); n > 0 {
		t.Errorf("Score allocates %.0f times per call, want 0", n)
	}
}

func TestAgentApologyIsNotAComplaint(t *testing.T) {
	for _, s := range []*Scorer{newLexiconScorer(t), newHybridScorer(t)} {
		replies := []string{
			"@115717 Hello, My apologies for any frustrations or inconvenience. I’d be happy to look into this for you? ^MG",
			"@115718 I apologize for the inconvenience. I will be glad to assist you. Can you DM me your Name and acct # or phone #? -JB",
			"@115719 Help has arrived! We are sorry to see that you are having trouble. How can we help?\n^HSB",
			"@117143 We're sorry about this! What is the store's address and we will forward your feedback. Thanks!",
		}
		for _, text := range replies {
			if r := s.Score(text); r.Label == Negative || r.Complaint > 0.5 {
				t.Errorf("%s: agent reply %q scored %v, complaint %.2f; want not a complaint", s.ModelVersion(), text, r.Label, r.Complaint)
			}
		}
		// A customer's apology-free complaint with a sign-off-like ending stays negative.
		if r := s.Score("@AppleSupport my battery dies in two hours since the update, this is terrible -JB"); r.Label != Negative {
			t.Errorf("%s: customer complaint scored %v, want negative", s.ModelVersion(), r.Label)
		}
	}
}

func TestSignedByAgent(t *testing.T) {
	tests := map[string]bool{
		"thanks ^MG": true, "look into it -AA": true, "assist you.-DD": true, "sorry *TLT\n": true, "see you -Becky ": true,
		"backstage /NQ": true, "delivered? - Daniel": true, "space ^CB https://t.co/x": true,
		"ok ^": false, "well-Known": false, "a e-AA": false, "DM us": false, "": false, "^A": false,
		"and/Or": false, "http://x.com/AB": false, "so - OK": false,
	}
	for text, want := range tests {
		if got := signedByAgent(text); got != want {
			t.Errorf("signedByAgent(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestUnfamiliarWordsDeferToTheLexicon: the default model trusts itself only
// as far as it knows a text's words, so on words it never saw it scores as
// the lexicon does.
func TestUnfamiliarWordsDeferToTheLexicon(t *testing.T) {
	lex, hyb := newLexiconScorer(t), newHybridScorer(t)
	for _, text := range []string{"@acme zorblaxing quuxified frimbles!!", "wibblethorp snargle vexiplon :)"} {
		want, got := lex.Score(text), hyb.Score(text)
		if got.Label != want.Label || math.Abs(got.Compound-want.Compound) > 1e-9 || math.Abs(got.Complaint-want.Complaint) > 1e-9 {
			t.Errorf("Score(%q) = %v %.3f %.3f, want the lexicon's %v %.3f %.3f", text, got.Label, got.Compound, got.Complaint, want.Label, want.Compound, want.Complaint)
		}
	}
	familiar := "the delivery was late again and nobody told me why"
	if got, want := hyb.Score(familiar), lex.Score(familiar); got.Compound == want.Compound && got.Complaint == want.Complaint {
		t.Errorf("Score(%q) is the lexicon's (%.3f, %.3f): the model had no say on familiar words", familiar, got.Compound, got.Complaint)
	}
}
