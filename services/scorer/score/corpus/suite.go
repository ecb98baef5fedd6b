package corpus

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

// Column is one classifier in a table.
type Column struct {
	Name   string
	Report train.Report
}

// Row is one test set in a table, judged by every column.
type Row struct {
	Test    string // set name
	Note    string // what was trained on, when it differs by row
	Columns []Column
}

// Table is a titled list of rows.
type Table struct {
	Title string
	Rows  []Row
}

// The classifiers of every table, in column order.
const (
	ColModel   = "model"
	ColBayes   = "naive Bayes"
	ColLexicon = "lexicon"
)

// judge fills a row: the model's classifier as given, naive Bayes trained on
// the same rows, and the lexicon.
func judge(test string, note string, model train.Classifier, trainRows, testRows []train.Example) (Row, error) {
	nb, err := train.FitNaiveBayes(trainRows)
	if err != nil {
		return Row{}, err
	}
	lex, err := train.FitLexicon(nil)
	if err != nil {
		return Row{}, err
	}
	return Row{Test: test, Note: note, Columns: []Column{
		{ColModel, train.Evaluate(model, testRows)},
		{ColBayes, train.Evaluate(nb, testRows)},
		{ColLexicon, train.Evaluate(lex, testRows)},
	}}, nil
}

func scorerOf(m *score.Model) (train.Classifier, error) {
	s, err := score.New(score.Options{Model: m})
	if err != nil {
		return nil, err
	}
	return train.ScorerClassifier{Scorer: s}, nil
}

// DefaultInDomain measures a model trained on the commercial sets' training
// rows (the shipped one) on their test rows.
func DefaultInDomain(ctx context.Context, shipped *score.Model, sets []Set) (Table, error) {
	t := Table{Title: fmt.Sprintf("in-domain: default model %s, trained on the training rows of %s, tested on their test rows", shipped.Version(), names(sets))}
	c, err := scorerOf(shipped)
	if err != nil {
		return t, err
	}
	trainRows := TrainOf(sets)
	for _, s := range sets {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		row, err := judge(s.Name, "", c, trainRows, s.Test)
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// DefaultCrossDomain leaves each commercial set out in turn: a model
// trained by fit on the training rows of the others is tested on all rows
// of the one left out, a domain it has never seen. unseen sets (such as the
// airline tweets) are tested with the shipped model, trained on every
// commercial set.
func DefaultCrossDomain(ctx context.Context, fit train.Fitter, shipped *score.Model, sets []Set, unseen []Set) (Table, error) {
	t := Table{Title: "cross-domain: default model trained without the test set's domain (leave one domain out)"}
	for i, s := range sets {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		others := append(append([]Set(nil), sets[:i]...), sets[i+1:]...)
		trainRows := TrainOf(others)
		c, err := fit(trainRows)
		if err != nil {
			return t, fmt.Errorf("train without %s: %w", s.Name, err)
		}
		row, err := judge(s.Name, "trained on "+names(others), c, trainRows, s.All())
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, row)
	}
	c, err := scorerOf(shipped)
	if err != nil {
		return t, err
	}
	for _, s := range unseen {
		row, err := judge(s.Name, "shipped model, trained on "+names(sets), c, TrainOf(sets), s.All())
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// AirlineTables measures the airline model: in domain, a model trained by
// fit on the airline training rows tested on its held-out fifth (each row
// weighted by the labellers' confidence); across domains, the shipped model
// on every row of the other sets.
func AirlineTables(ctx context.Context, fit train.Fitter, shipped *score.Model, airline Set, others []Set) ([]Table, error) {
	in := Table{Title: "in-domain: airline model, trained on four fifths of the airline tweets, tested on the other fifth (weighted by labeller confidence)"}
	c, err := fit(airline.Train)
	if err != nil {
		return nil, fmt.Errorf("train airline: %w", err)
	}
	row, err := judge(airline.Name, "", c, airline.Train, airline.Test)
	if err != nil {
		return nil, err
	}
	in.Rows = append(in.Rows, row)
	cross := Table{Title: fmt.Sprintf("cross-domain: airline model %s (trained on all airline tweets) on domains it never saw", shipped.Version())}
	sc, err := scorerOf(shipped)
	if err != nil {
		return nil, err
	}
	for _, s := range others {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row, err := judge(s.Name, "", sc, airline.All(), s.All())
		if err != nil {
			return nil, err
		}
		cross.Rows = append(cross.Rows, row)
	}
	return []Table{in, cross}, nil
}

func names(sets []Set) string {
	n := make([]string, len(sets))
	for i, s := range sets {
		n[i] = s.Name
	}
	return strings.Join(n, ", ")
}

// measures are the table's lines per test set.
var measures = []struct {
	name string
	get  func(*train.Report) float64
}{
	{"averaged recall", func(r *train.Report) float64 { return r.Confusion.AveragedRecall() }},
	{"negative F1", func(r *train.Report) float64 { return r.Confusion.F1(score.Negative) }},
	{"complaint macro F1", func(r *train.Report) float64 { return r.ComplaintMacroF1() }},
	{"compound correlation", func(r *train.Report) float64 { return r.Correlation() }},
}

// Write prints the table; a model figure below the lexicon's is marked "<".
func (t Table) Write(w io.Writer) {
	fmt.Fprintf(w, "== %s\n", t.Title)
	if len(t.Rows) == 0 {
		return
	}
	fmt.Fprintf(w, "%-12s %-21s", "test set", "measure")
	for _, c := range t.Rows[0].Columns {
		fmt.Fprintf(w, " %12s", c.Name)
	}
	fmt.Fprintln(w)
	for _, r := range t.Rows {
		lexicon := r.column(ColLexicon)
		for i, m := range measures {
			name := ""
			if i == 0 {
				name = r.Test
			}
			fmt.Fprintf(w, "%-12s %-21s", name, m.name)
			for _, c := range r.Columns {
				mark := " "
				if c.Name == ColModel && lexicon != nil && m.get(&c.Report) < m.get(lexicon) {
					mark = "<"
				}
				fmt.Fprintf(w, " %11.3f%s", m.get(&c.Report), mark)
			}
			fmt.Fprintln(w)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "%-12s (%s; %.0f texts)\n", "", r.Note, r.Columns[0].Report.Confusion.Total())
		} else {
			fmt.Fprintf(w, "%-12s (%.0f texts)\n", "", r.Columns[0].Report.Confusion.Total())
		}
	}
	fmt.Fprintln(w)
}

func (r Row) column(name string) *train.Report {
	for i := range r.Columns {
		if r.Columns[i].Name == name {
			return &r.Columns[i].Report
		}
	}
	return nil
}
