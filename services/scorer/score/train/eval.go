package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// Classifier labels a text.
type Classifier interface {
	Classify(text string) score.Label
}

// Fitter trains a Classifier on examples; CrossValidate calls it per fold.
type Fitter func(examples []Example) (Classifier, error)

// Confusion counts outcomes: Confusion[actual][predicted].
type Confusion [score.NumClasses][score.NumClasses]int

// Add counts one outcome.
func (c *Confusion) Add(actual, predicted score.Label) { c[actual][predicted]++ }

// Merge adds another matrix's counts.
func (c *Confusion) Merge(o Confusion) {
	for i := range c {
		for j := range c[i] {
			c[i][j] += o[i][j]
		}
	}
}

// Total is the number of outcomes counted.
func (c *Confusion) Total() int {
	n := 0
	for i := range c {
		for j := range c[i] {
			n += c[i][j]
		}
	}
	return n
}

// Accuracy is the share of outcomes predicted right.
func (c *Confusion) Accuracy() float64 {
	right := 0
	for i := range c {
		right += c[i][i]
	}
	return ratio(right, c.Total())
}

// Precision of one class.
func (c *Confusion) Precision(l score.Label) float64 {
	predicted := 0
	for i := range c {
		predicted += c[i][l]
	}
	return ratio(c[l][l], predicted)
}

// Recall of one class.
func (c *Confusion) Recall(l score.Label) float64 {
	actual := 0
	for j := range c[l] {
		actual += c[l][j]
	}
	return ratio(c[l][l], actual)
}

// F1 of one class.
func (c *Confusion) F1(l score.Label) float64 {
	p, r := c.Precision(l), c.Recall(l)
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// String is the report `firebreak eval` prints.
func (c *Confusion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy %.4f (%d texts)\n\n", c.Accuracy(), c.Total())
	fmt.Fprintf(&b, "%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support")
	for l := score.Negative; l <= score.Positive; l++ {
		support := 0
		for _, n := range c[l] {
			support += n
		}
		fmt.Fprintf(&b, "%-10s %9.4f %9.4f %9.4f %8d\n", l, c.Precision(l), c.Recall(l), c.F1(l), support)
	}
	fmt.Fprintf(&b, "\nconfusion (rows actual, columns predicted)\n%-10s", "")
	for l := score.Negative; l <= score.Positive; l++ {
		fmt.Fprintf(&b, " %9s", l)
	}
	for a := score.Negative; a <= score.Positive; a++ {
		fmt.Fprintf(&b, "\n%-10s", a)
		for p := score.Negative; p <= score.Positive; p++ {
			fmt.Fprintf(&b, " %9d", c[a][p])
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Evaluate classifies every example.
func Evaluate(c Classifier, examples []Example) Confusion {
	var m Confusion
	for _, ex := range examples {
		m.Add(ex.Label, c.Classify(ex.Text))
	}
	return m
}

// CrossValidate trains on all folds but one and tests on that one, for each
// fold, and adds up the held-out outcomes. Folds are a seeded shuffle, so
// the figure is reproducible.
func CrossValidate(examples []Example, folds int, seed uint64, fit Fitter) (Confusion, error) {
	if folds < 2 || folds > len(examples) {
		return Confusion{}, fmt.Errorf("cross-validate: %d folds for %d examples", folds, len(examples))
	}
	fold := make([]int, len(examples))
	for i := range fold {
		fold[i] = i % folds
	}
	rng := rand.New(rand.NewPCG(seed, ^seed))
	rng.Shuffle(len(fold), func(i, j int) { fold[i], fold[j] = fold[j], fold[i] })
	var total Confusion
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
			return Confusion{}, fmt.Errorf("cross-validate fold %d: %w", k+1, err)
		}
		total.Merge(Evaluate(c, testSet))
	}
	return total, nil
}

// ScorerClassifier labels texts with a Scorer.
type ScorerClassifier struct{ Scorer *score.Scorer }

// Classify implements Classifier.
func (s ScorerClassifier) Classify(text string) score.Label { return s.Scorer.Score(text).Label }

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
