package corpus

import (
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

func report(right, wrong int) train.Report {
	var r train.Report
	for range right {
		r.Add(train.Example{Label: score.Negative}, train.Prediction{Label: score.Negative, Compound: -1, Complaint: 1})
	}
	for range wrong {
		r.Add(train.Example{Label: score.Positive}, train.Prediction{Label: score.Negative, Compound: -1, Complaint: 1})
	}
	return r
}

func TestTableMarksModelFiguresBelowTheLexicon(t *testing.T) {
	tab := Table{Title: "t", Rows: []Row{{Test: "set", Note: "trained on x", Columns: []Column{
		{ColModel, report(5, 5)}, {ColBayes, report(9, 1)}, {ColLexicon, report(8, 2)},
	}}}}
	var b strings.Builder
	tab.Write(&b)
	out := b.String()
	for _, want := range []string{"== t", "averaged recall", "negative F1", "complaint macro F1", "compound correlation", "trained on x; 10 texts"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The model's negative F1 (0.667) is below the lexicon's (0.889).
	if !strings.Contains(out, "0.667<") {
		t.Errorf("model figure below the lexicon not marked:\n%s", out)
	}
}
