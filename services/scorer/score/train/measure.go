package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// ComplaintThreshold is the complaint likelihood at or above which a text
// counts as a complaint when measuring.
const ComplaintThreshold = 0.5

// Report is every measure of one classifier on one set of labelled texts,
// each text counting by its weight:
//   - the confusion of the three classes;
//   - complaint detection: a negative text is the complaint, and a
//     prediction is one when its likelihood reaches ComplaintThreshold;
//   - the Pearson correlation of the predicted intensity (compound) with the
//     label read as -1, 0, 1.
type Report struct {
	Confusion Confusion
	Complaint [2][2]float64 // [actual complaint][predicted complaint]
	// weighted moments for the correlation
	n, sx, sy, sxx, syy, sxy float64
}

// Add counts one example's outcome.
func (r *Report) Add(ex Example, p Prediction) {
	w := ex.Weight
	if w == 0 {
		w = 1
	}
	r.Confusion[ex.Label][p.Label] += w
	r.Complaint[b2i(ex.Label == score.Negative)][b2i(p.Complaint >= ComplaintThreshold)] += w
	x, y := p.Compound, float64(ex.Label-score.Neutral)
	r.n += w
	r.sx += w * x
	r.sy += w * y
	r.sxx += w * x * x
	r.syy += w * y * y
	r.sxy += w * x * y
}

// Merge adds another report's outcomes.
func (r *Report) Merge(o Report) {
	r.Confusion.Merge(o.Confusion)
	for i := range r.Complaint {
		for j := range r.Complaint[i] {
			r.Complaint[i][j] += o.Complaint[i][j]
		}
	}
	r.n += o.n
	r.sx += o.sx
	r.sy += o.sy
	r.sxx += o.sxx
	r.syy += o.syy
	r.sxy += o.sxy
}

// ComplaintMacroF1 is the mean of the F1 of "complaint" and of "not a
// complaint".
func (r *Report) ComplaintMacroF1() float64 {
	f1 := func(k int) float64 {
		tp := r.Complaint[k][k]
		p := ratio(tp, r.Complaint[0][k]+r.Complaint[1][k])
		rec := ratio(tp, r.Complaint[k][0]+r.Complaint[k][1])
		if p+rec == 0 {
			return 0
		}
		return 2 * p * rec / (p + rec)
	}
	return (f1(0) + f1(1)) / 2
}

// Correlation is Pearson's r between compound and the label as -1, 0, 1;
// 0 when either does not vary.
func (r *Report) Correlation() float64 {
	if r.n == 0 {
		return 0
	}
	cov := r.sxy/r.n - r.sx/r.n*r.sy/r.n
	vx := r.sxx/r.n - r.sx/r.n*r.sx/r.n
	vy := r.syy/r.n - r.sy/r.n*r.sy/r.n
	if vx <= 0 || vy <= 0 {
		return 0
	}
	return cov / math.Sqrt(vx*vy)
}

// String is the full report: the confusion and the summary measures.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(r.Confusion.String())
	fmt.Fprintf(&b, "\naveraged recall %.4f, negative F1 %.4f, complaint macro F1 %.4f, compound correlation %.4f\n",
		r.Confusion.AveragedRecall(), r.Confusion.F1(score.Negative), r.ComplaintMacroF1(), r.Correlation())
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
