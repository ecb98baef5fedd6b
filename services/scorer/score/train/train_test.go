package train

import (
	"math"
	"testing"

	"github.com/firebreak/firebreak/services/scorer/score"
)

func TestConfusionMetrics(t *testing.T) {
	var c Confusion
	c.Add(score.Negative, score.Negative)
	c.Add(score.Negative, score.Negative)
	c.Add(score.Negative, score.Neutral)
	c.Add(score.Positive, score.Negative)
	if got := c.Accuracy(); got != 0.5 {
		t.Errorf("accuracy %v, want 0.5", got)
	}
	if p, r := c.Precision(score.Negative), c.Recall(score.Negative); p != 2.0/3 || r != 2.0/3 {
		t.Errorf("negative precision %v recall %v, want 2/3 and 2/3", p, r)
	}
	// Neutral never occurs, so it does not count: (2/3 + 0) / 2.
	if got := c.AveragedRecall(); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("averaged recall %v, want 1/3", got)
	}
	if _, err := CrossValidate([]Example{{Text: "x"}}, 5, 1, FitLexicon); err == nil {
		t.Error("cross-validation with more folds than examples succeeded")
	}
}

func TestReportWeighsRowsAndMeasuresComplaintsAndIntensity(t *testing.T) {
	var r Report
	r.Add(Example{Label: score.Negative, Weight: 3}, Prediction{Label: score.Negative, Compound: -0.8, Complaint: 0.9})
	r.Add(Example{Label: score.Positive}, Prediction{Label: score.Negative, Compound: 0.5, Complaint: 0.6})
	r.Add(Example{Label: score.Neutral}, Prediction{Label: score.Neutral, Compound: 0, Complaint: 0.1})
	if got := r.Confusion.Accuracy(); got != 4.0/5 {
		t.Errorf("weighted accuracy %v, want 4/5", got)
	}
	// Complaints: 3 true positives, 1 false positive, 1 true negative.
	// F1(complaint) = 6/7, F1(not) = 2/3.
	if got, want := r.ComplaintMacroF1(), (6.0/7+2.0/3)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("complaint macro F1 %v, want %v", got, want)
	}
	if got := r.Correlation(); !(got > 0.5 && got <= 1) {
		t.Errorf("correlation %v, want clearly positive", got)
	}
	var flat Report
	flat.Add(Example{Label: score.Neutral}, Prediction{})
	if got := flat.Correlation(); got != 0 {
		t.Errorf("correlation without variance %v, want 0", got)
	}
}

func TestNaiveBayesLearnsWords(t *testing.T) {
	var ex []Example
	for range 5 {
		ex = append(ex, Example{Text: "awful broken refund", Label: score.Negative},
			Example{Text: "lovely great thanks", Label: score.Positive},
			Example{Text: "what time tomorrow", Label: score.Neutral})
	}
	nb, err := FitNaiveBayes(ex)
	if err != nil {
		t.Fatal(err)
	}
	p := nb.Predict("broken and awful")
	if p.Label != score.Negative || p.Complaint < 0.5 || p.Compound >= 0 {
		t.Errorf("Predict = %+v, want negative with complaint >= 0.5 and compound < 0", p)
	}
}
