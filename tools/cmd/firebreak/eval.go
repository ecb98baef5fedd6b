package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/firebreak/firebreak/services/scorer/score/train"
)

// cvSeed fixes the folds, so reported cross-validation figures reproduce.
const cvSeed = 7

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "labelled CSV or NDJSON file (required)")
	textColumn := fs.String("text-column", "text", "column holding the text")
	labelColumn := fs.String("label-column", "airline_sentiment", "column holding negative/neutral/positive")
	weightColumn := fs.String("weight-column", "", "with --train, column weighting training examples (e.g. airline_sentiment_confidence); held-out rows always count once")
	trainFolds := fs.Bool("train", false, "cross-validate: train a model on all folds but one, test on that one")
	folds := fs.Int("folds", 5, "number of folds with --train")
	baselines := fs.Bool("baselines", false, "with --train, also cross-validate naive Bayes and the lexicon")
	var sf scorerFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *in == "" {
		return fmt.Errorf("%w: --in is required", errUsage)
	}
	if !*trainFolds {
		*weightColumn = ""
	}
	examples, err := readExamples(*in, *textColumn, *labelColumn, *weightColumn)
	if err != nil {
		return err
	}
	if !*trainFolds {
		scorer, err := sf.build()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "model %s on %s\n", scorer.ModelVersion(), *in)
		m := train.Evaluate(train.ScorerClassifier{Scorer: scorer}, examples)
		fmt.Fprint(stdout, m.String())
		return nil
	}
	type candidate struct {
		name string
		fit  train.Fitter
	}
	candidates := []candidate{{"hybrid model " + train.DefaultConfig().Version, train.FitModel(train.DefaultConfig())}}
	if sf.lexiconOnly {
		candidates = []candidate{{"lexicon only", train.FitLexicon}}
	}
	if *baselines {
		candidates = append(candidates, candidate{"naive Bayes (word uni+bigrams)", train.FitNaiveBayes}, candidate{"lexicon only", train.FitLexicon})
	}
	for _, c := range candidates {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := train.CrossValidate(examples, *folds, cvSeed, c.fit)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(stdout, "== %s, %d-fold cross-validation on %s\n%s\n", c.name, *folds, *in, m.String())
	}
	return nil
}
