package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// Prediction is what a classifier says about one text: its class, an
// intensity in [-1, 1] and the likelihood that it is a complaint.
type Prediction struct {
	Label     score.Label
	Compound  float64
	Complaint float64
}

// Classifier judges a text.
type Classifier interface {
	Predict(text string) Prediction
}

// Fitter trains a Classifier on examples; CrossValidate calls it per fold.
type Fitter func(examples []Example) (Classifier, error)

// Confusion sums the weights of outcomes: Confusion[actual][predicted].
type Confusion [score.NumClasses][score.NumClasses]float64

// Add counts one outcome with weight 1.
func (c *Confusion) Add(actual, predicted score.Label) { c[actual][predicted]++ }

// Merge adds another matrix's counts.
func (c *Confusion) Merge(o Confusion) {
	for i := range c {
		for j := range c[i] {
			c[i][j] += o[i][j]
		}
	}
}

// Total is the summed weight of the outcomes counted.
func (c *Confusion) Total() float64 {
	n := 0.0
	for i := range c {
		for j := range c[i] {
			n += c[i][j]
		}
	}
	return n
}

// Accuracy is the share of outcomes predicted right.
func (c *Confusion) Accuracy() float64 {
	right := 0.0
	for i := range c {
		right += c[i][i]
	}
	return ratio(right, c.Total())
}

// Precision of one class.
func (c *Confusion) Precision(l score.Label) float64 {
	predicted := 0.0
	for i := range c {
		predicted += c[i][l]
	}
	return ratio(c[l][l], predicted)
}

// Recall of one class.
func (c *Confusion) Recall(l score.Label) float64 {
	return ratio(c[l][l], c.support(l))
}

func (c *Confusion) support(l score.Label) float64 {
	actual := 0.0
	for j := range c[l] {
		actual += c[l][j]
	}
	return actual
}

// F1 of one class.
func (c *Confusion) F1(l score.Label) float64 {
	p, r := c.Precision(l), c.Recall(l)
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// AveragedRecall is the mean recall over the classes that occur, SemEval's
// measure for sentiment: it does not reward predicting the commonest class.
func (c *Confusion) AveragedRecall() float64 {
	sum, n := 0.0, 0
	for l := score.Negative; l <= score.Positive; l++ {
		if c.support(l) > 0 {
			sum += c.Recall(l)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// String is the report `firebreak eval` prints.
func (c *Confusion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy %.4f (%.0f texts, weighted)\n\n", c.Accuracy(), c.Total())
	fmt.Fprintf(&b, "%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support")
	for l := score.Negative; l <= score.Positive; l++ {
		fmt.Fprintf(&b, "%-10s %9.4f %9.4f %9.4f %8.0f\n", l, c.Precision(l), c.Recall(l), c.F1(l), c.support(l))
	}
	fmt.Fprintf(&b, "\nconfusion (rows actual, columns predicted)\n%-10s", "")
	for l := score.Negative; l <= score.Positive; l++ {
		fmt.Fprintf(&b, " %9s", l)
	}
	for a := score.Negative; a <= score.Positive; a++ {
		fmt.Fprintf(&b, "\n%-10s", a)
		for p := score.Negative; p <= score.Positive; p++ {
			fmt.Fprintf(&b, " %9.0f", c[a][p])
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Evaluate judges every example, each counting by its weight.
func Evaluate(c Classifier, examples []Example) Report {
	var r Report
	for _, ex := range examples {
		r.Add(ex, c.Predict(ex.Text))
	}
	return r
}

// CrossValidate trains on all folds but one and tests on that one, for each
// fold, and adds up the held-out outcomes. Folds are a seeded shuffle, so
// the figure is reproducible.
func CrossValidate(examples []Example, folds int, seed uint64, fit Fitter) (Report, error) {
	if folds < 2 || folds > len(examples) {
		return Report{}, fmt.Errorf("cross-validate: %d folds for %d examples", folds, len(examples))
	}
	fold := make([]int, len(examples))
	for i := range fold {
		fold[i] = i % folds
	}
	rng := rand.New(rand.NewPCG(seed, ^seed))
	rng.Shuffle(len(fold), func(i, j int) { fold[i], fold[j] = fold[j], fold[i] })
	var total Report
	for k := 0; k < folds; k++ {
		var trainSet, testSet []Example
		for i, ex := range examples {
			if fold[i] == k {
				testSet = append(testSet, ex)
			} else {
				trainSet = append(trainSet, ex)
			}
		}
		c, err := fit(trainSet)
		if err != nil {
			return Report{}, fmt.Errorf("cross-validate fold %d: %w", k+1, err)
		}
		total.Merge(Evaluate(c, testSet))
	}
	return total, nil
}

// ScorerClassifier judges texts with a Scorer.
type ScorerClassifier struct{ Scorer *score.Scorer }

// Predict implements Classifier.
func (s ScorerClassifier) Predict(text string) Prediction {
	r := s.Scorer.Score(text)
	return Prediction{Label: r.Label, Compound: r.Compound, Complaint: r.Complaint}
}

// FitModel is the Fitter for the hybrid scorer.
func FitModel(cfg Config) Fitter {
	return func(examples []Example) (Classifier, error) {
		m, err := Train(examples, cfg)
		if err != nil {
			return nil, err
		}
		s, err := score.New(score.Options{Model: m})
		if err != nil {
			return nil, err
		}
		return ScorerClassifier{s}, nil
	}
}

// FitLexicon is the Fitter for the lexicon-only scorer, which learns nothing.
func FitLexicon(examples []Example) (Classifier, error) {
	s, err := score.New(score.Options{})
	if err != nil {
		return nil, err
	}
	return ScorerClassifier{s}, nil
}
