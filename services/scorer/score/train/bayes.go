package train

import (
	"math"
	"strings"
	"unicode"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// NaiveBayes is the baseline the scorer is measured against: multinomial
// naive Bayes over lower-cased word unigrams and bigrams, add-one smoothing.
type NaiveBayes struct {
	prior  [score.NumClasses]float64
	counts map[string]*[score.NumClasses]float64
	totals [score.NumClasses]float64
}

// FitNaiveBayes is the Fitter for the baseline.
func FitNaiveBayes(examples []Example) (Classifier, error) {
	nb := &NaiveBayes{counts: make(map[string]*[score.NumClasses]float64)}
	var docs [score.NumClasses]float64
	for _, ex := range examples {
		docs[ex.Label]++
		for _, term := range nbTerms(ex.Text) {
			c := nb.counts[term]
			if c == nil {
				c = new([score.NumClasses]float64)
				nb.counts[term] = c
			}
			c[ex.Label]++
			nb.totals[ex.Label]++
		}
	}
	for l := range docs {
		nb.prior[l] = math.Log((docs[l] + 1) / (float64(len(examples)) + score.NumClasses))
	}
	return nb, nil
}

// Predict implements Classifier: the class with the highest posterior;
// the complaint likelihood is the posterior of negative and the intensity
// is the positive posterior less the negative one.
func (nb *NaiveBayes) Predict(text string) Prediction {
	vocab := float64(len(nb.counts))
	z := nb.prior
	for _, term := range nbTerms(text) {
		c := nb.counts[term]
		for l := range z {
			n := 0.0
			if c != nil {
				n = c[l]
			}
			z[l] += math.Log((n + 1) / (nb.totals[l] + vocab))
		}
	}
	p := score.Softmax(z)
	best := score.Negative
	for l := range p {
		if p[l] > p[best] {
			best = score.Label(l)
		}
	}
	return Prediction{Label: best, Compound: p[score.Positive] - p[score.Negative], Complaint: p[score.Negative]}
}

func nbTerms(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '@' && r != '#'
	})
	terms := append([]string(nil), words...)
	for i := 1; i < len(words); i++ {
		terms = append(terms, words[i-1]+" "+words[i])
	}
	return terms
}
