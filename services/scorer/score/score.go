package score

import (
	"fmt"
	"math"
	"math/bits"
)

// Label is a sentiment class.
type Label int

// The classes, in the order the model's outputs use.
const (
	Negative Label = iota
	Neutral
	Positive
)

var labelNames = [...]string{"negative", "neutral", "positive"}

func (l Label) String() string {
	if l < 0 || int(l) >= len(labelNames) {
		return fmt.Sprintf("Label(%d)", int(l))
	}
	return labelNames[l]
}

// ParseLabel reads "negative", "neutral" or "positive".
func ParseLabel(s string) (Label, error) {
	for i, n := range labelNames {
		if s == n {
			return Label(i), nil
		}
	}
	return 0, fmt.Errorf("unknown label %q (want negative, neutral or positive)", s)
}

// LexiconVersion is the ModelVersion of scores made without a model.
const LexiconVersion = "lexicon-1"

// Result is the score of one text. Topics and UrgencySignals may be shared
// between Results and must not be modified.
type Result struct {
	Compound       float64 // sentiment in [-1, 1]
	Label          Label
	Complaint      float64 // likelihood the text is a complaint, [0, 1]
	Topics         []string
	Toxicity       float64 // [0, 1]
	Urgency        float64 // [0, 1]
	UrgencySignals []string
	ModelVersion   string
}

// Options configures a Scorer. The zero value gives the lexicon-only scorer
// with the default topics.
type Options struct {
	Model  *Model    // nil: lexicon only
	Topics *TopicSet // nil: DefaultTopics
}

// Scorer scores texts. It is immutable and safe for concurrent use.
type Scorer struct {
	vocab   *vocabulary
	model   *Model
	version string
	topics  []string
	// Precomputed name lists, so that scoring a text does not allocate the
	// common answers: every urgency combination and up to two topics.
	urgencyNames [][]string
	topicNames   map[uint64][]string
	reply        *replyRules
}

// New builds a Scorer.
func New(opts Options) (*Scorer, error) {
	topics := opts.Topics
	if topics == nil {
		var err error
		if topics, err = DefaultTopics(); err != nil {
			return nil, fmt.Errorf("new scorer: %w", err)
		}
	}
	vocab, err := newVocabulary()
	if err != nil {
		return nil, fmt.Errorf("new scorer: %w", err)
	}
	topics.compile(vocab)
	compileSignals(vocab)
	s := &Scorer{vocab: vocab, model: opts.Model, version: LexiconVersion, topics: topics.Names(), reply: newReplyRules()}
	if opts.Model != nil {
		s.version = opts.Model.version
	}
	s.precomputeNames()
	return s, nil
}

// ModelVersion is the version reported in every Result.
func (s *Scorer) ModelVersion() string { return s.version }

func (s *Scorer) precomputeNames() {
	s.urgencyNames = make([][]string, 1<<len(urgencySignals))
	for m := range s.urgencyNames {
		for i, sig := range urgencySignals {
			if m&(1<<i) != 0 {
				s.urgencyNames[m] = append(s.urgencyNames[m], sig.name)
			}
		}
	}
	s.topicNames = make(map[uint64][]string)
	for i, a := range s.topics {
		s.topicNames[1<<i] = []string{a}
		for j := i + 1; j < len(s.topics); j++ {
			s.topicNames[1<<i|1<<j] = []string{a, s.topics[j]}
		}
	}
}

// Score scores one text.
func (s *Scorer) Score(text string) Result {
	a := analysis{vocab: s.vocab, model: s.model, hashed: s.model != nil}
	a.run(text)
	a.agentVoice = agentVoice(&a, text)
	return s.result(&a)
}

// agentVoice reports whether a text reads as a brand's support agent
// replying: an apology with an offer of help, two offers ("DM us so we can
// look into this"), or an agent's sign-off ("^MG", "-Becky") on a text that
// offers help or is not itself angry. Customers sign off too, but in anger
// ("this is terrible -JB"); agents' signed replies are mostly questions and
// instructions.
func agentVoice(a *analysis, text string) bool {
	switch {
	case a.apologies > 0 && a.offers > 0, a.offers >= 2:
		return true
	case !signedByAgent(text):
		return false
	}
	return a.apologies > 0 || a.offers > 0 || a.compound() > signedAngerBelow
}

// signedAngerBelow is the lexicon compound under which a signed text is a
// customer's angry complaint rather than an agent's reply.
const signedAngerBelow = -0.25

// ScoreBatch scores texts into dst (reused if large enough) and returns it.
func (s *Scorer) ScoreBatch(texts []string, dst []Result) []Result {
	if cap(dst) < len(texts) {
		dst = make([]Result, len(texts))
	}
	dst = dst[:len(texts)]
	for i, t := range texts {
		dst[i] = s.Score(t)
	}
	return dst
}

// Vectorize fills v with the model features of text, reusing its slices.
// Training uses it so that it sees exactly what scoring sees.
func (s *Scorer) Vectorize(text string, v *Vector) {
	v.Unigrams, v.Words, v.Chars = v.Unigrams[:0], v.Words[:0], v.Chars[:0]
	a := analysis{vocab: s.vocab, vec: v, hashed: true}
	a.run(text)
	a.dense(&v.Dense, a.compound())
}

// LexiconCompound is the lexicon path's compound score alone, for
// comparisons.
func (s *Scorer) LexiconCompound(text string) float64 {
	a := analysis{vocab: s.vocab}
	a.run(text)
	return a.compound()
}

func (s *Scorer) result(a *analysis) Result {
	lexicon := a.compound()
	r := Result{
		Toxicity:       toxicityScore(a.toxic, a.capsWords),
		Topics:         s.topicList(a.topics),
		UrgencySignals: s.urgencyNames[a.urgency],
		ModelVersion:   s.version,
	}
	if s.model == nil {
		r.Compound = lexicon
		r.Label = lexiconLabel(lexicon)
		r.Complaint = lexiconComplaint(lexicon, a, r.Toxicity)
	} else {
		s.modelResult(a, lexicon, r.Toxicity, &r)
	}
	if a.agentVoice && r.Toxicity == 0 && (r.Label == Negative || r.Complaint >= 0.5) {
		// An agent apologising or asking for details is answering a
		// complaint, not making one.
		if r.Label == Negative {
			r.Label = Neutral
		}
		r.Complaint *= 0.25
		r.Compound = max(r.Compound, 0)
	}
	r.Urgency = urgencyScore(a.urgency) * (0.5 + 0.5*r.Complaint)
	return r
}

// modelResult fills the label, complaint and compound from the model,
// mixed with the lexicon as the model's Blend says.
func (s *Scorer) modelResult(a *analysis, lexicon, toxicity float64, r *Result) {
	p := s.probabilities(a, lexicon)
	b := s.model.blend
	if b == (Blend{}) {
		r.Compound = p[Positive] - p[Negative]
		r.Label = argmax(p)
		r.Complaint = p[Negative]
		return
	}
	// The model is trusted as far as it knows the text's words; the rest
	// of the weight goes to the lexicon, whose rules hold everywhere.
	trust := a.coverage()
	wc := 1 - (1-float64(b.Compound))*trust
	r.Compound = wc*lexicon + (1-wc)*(p[Positive]-p[Negative])
	// The lexicon's class as a soft distribution, mixed in.
	w := 1 - (1-float64(b.Label))*trust
	lex := lexiconLabel(lexicon)
	var mixed [NumClasses]float64
	for c := range p {
		q := (1 - lexiconSureness) / 2
		if Label(c) == lex {
			q = lexiconSureness
		}
		mixed[c] = (1-w)*p[c] + w*q
	}
	r.Label = argmax(mixed)
	// Two independent witnesses of a complaint (noisy-or): the lexicon
	// knows the brand's topics and urgent words, the model the tone.
	r.Complaint = 1 - (1-trust*p[Negative])*(1-lexiconComplaint(lexicon, a, toxicity))
	if r.Complaint >= 0.5 {
		r.Label = Negative
	}
}

// lexiconSureness is the probability the blend gives the lexicon's class.
const lexiconSureness = 0.8

// probabilities finishes the model's logits and applies the softmax.
func (s *Scorer) probabilities(a *analysis, lexicon float64) [NumClasses]float64 {
	m := s.model
	var d [NumDense]float32
	a.dense(&d, lexicon)
	var logits [NumClasses]float64
	for c := range logits {
		z := float64(m.bias[c])
		for i := range d {
			z += float64(d[i] * m.dense[i][c])
		}
		for g := range a.acc {
			if a.count[g] > 0 {
				z += float64(a.acc[g][c]) / math.Sqrt(float64(a.count[g]))
			}
		}
		logits[c] = z
	}
	return Softmax(logits)
}

// Softmax turns logits into probabilities. Training uses it too, so the
// model is trained on exactly the probabilities it will serve.
func Softmax(z [NumClasses]float64) [NumClasses]float64 {
	top := max(z[0], z[1], z[2])
	var p [NumClasses]float64
	sum := 0.0
	for i := range z {
		p[i] = math.Exp(z[i] - top)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func argmax(p [NumClasses]float64) Label {
	best := Negative
	for c := range p {
		if p[c] > p[best] {
			best = Label(c)
		}
	}
	return best
}

// lexiconLabel uses VADER's recommended thresholds.
func lexiconLabel(compound float64) Label {
	switch {
	case compound >= 0.05:
		return Positive
	case compound <= -0.05:
		return Negative
	}
	return Neutral
}

// lexiconComplaint estimates complaint likelihood without a model: negative
// tone, named problems, urgency and abuse all point to a complaint.
func lexiconComplaint(compound float64, a *analysis, toxicity float64) float64 {
	z := -0.8 - 3.5*compound + 2*toxicity
	if a.topics != 0 {
		z += 0.8
	}
	if a.urgency != 0 {
		z += 0.8
	}
	if a.nQuest > 0 && compound <= 0 {
		z += 0.3
	}
	return 1 / (1 + math.Exp(-z))
}

func (s *Scorer) topicList(mask uint64) []string {
	if mask == 0 {
		return nil
	}
	if names, ok := s.topicNames[mask]; ok {
		return names
	}
	out := make([]string, 0, bits.OnesCount64(mask))
	for i, n := range s.topics {
		if mask&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}
