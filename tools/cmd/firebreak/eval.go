package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/corpus"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

// cvSeed fixes the folds, so reported cross-validation figures reproduce.
const cvSeed = 7

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "labelled CSV or NDJSON file")
	data := fs.String("data", "", "instead of --in, the shared data directory: print the in-domain and cross-domain tables of both built-in models")
	agentVoice := fs.String("agent-voice", "", "with --data, a CSV of brand replies (text, label): how often each model calls one a complaint")
	textColumn := fs.String("text-column", "text", "column holding the text")
	labelColumn := fs.String("label-column", "label", "column holding negative/neutral/positive")
	weightColumn := fs.String("weight-column", "", "column weighting each row, in training and in the measures (e.g. the labellers' agreement)")
	trainFolds := fs.Bool("train", false, "cross-validate: train a model on all folds but one, test on that one")
	folds := fs.Int("folds", 5, "number of folds with --train")
	preset := fs.String("preset", "custom", "with --train, the training configuration: default, airline, custom or model-only")
	baselines := fs.Bool("baselines", false, "with --train, also cross-validate naive Bayes and the lexicon")
	var sf scorerFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *data != "" {
		if err := evalSuite(ctx, *data, stdout); err != nil {
			return err
		}
		if *agentVoice != "" {
			return evalAgentVoice(*agentVoice, stdout)
		}
		return nil
	}
	if *in == "" {
		return fmt.Errorf("%w: --in or --data is required", errUsage)
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
		r := train.Evaluate(train.ScorerClassifier{Scorer: scorer}, examples)
		fmt.Fprint(stdout, r.String())
		return nil
	}
	cfg, err := train.Preset(*preset)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	type candidate struct {
		name string
		fit  train.Fitter
	}
	candidates := []candidate{{"hybrid model " + cfg.Version, train.FitModel(cfg)}}
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
		r, err := train.CrossValidate(examples, *folds, cvSeed, c.fit)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(stdout, "== %s, %d-fold cross-validation on %s\n%s\n", c.name, *folds, *in, r.String())
	}
	return nil
}

// evalSuite prints the tables `make eval` shows: each built-in model in its
// own domain and on domains it never saw, against naive Bayes trained on the
// same rows and the lexicon.
func evalSuite(ctx context.Context, dataDir string, stdout io.Writer) error {
	sets, err := corpus.LoadAll(dataDir, corpus.CommercialNames)
	if err != nil {
		return err
	}
	airline, err := corpus.Load(dataDir, corpus.Airline)
	if err != nil {
		return err
	}
	def, err := score.BuiltinModel(score.ModelDefault)
	if err != nil {
		return err
	}
	air, err := score.BuiltinModel(score.ModelAirline)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Measures: averaged recall over the classes present; F1 of negative; macro F1 of complaint (negative) vs not, complaint likelihood >= %.1f;\n"+
		"Pearson correlation of compound with the label as -1/0/1. '<' marks a model figure below the lexicon's.\n\n", train.ComplaintThreshold)
	t, err := corpus.DefaultInDomain(ctx, def, sets)
	if err != nil {
		return err
	}
	t.Write(stdout)
	if t, err = corpus.DefaultCrossDomain(ctx, train.FitModel(train.DefaultConfig()), def, sets, []corpus.Set{airline}); err != nil {
		return err
	}
	t.Write(stdout)
	at, err := corpus.AirlineTables(ctx, train.FitModel(train.AirlineConfig()), air, airline, sets)
	if err != nil {
		return err
	}
	for _, t := range at {
		t.Write(stdout)
	}
	return nil
}

// evalAgentVoice reports how often each scorer calls a brand's support reply
// a complaint: none of them is one, so every such call is a false complaint
// that could escalate.
func evalAgentVoice(path string, stdout io.Writer) error {
	replies, err := readExamples(path, "text", "label", "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== agent voice: %d brand replies labelled by hand (%s), none a complaint\n", len(replies), path)
	fmt.Fprintf(stdout, "%-22s %22s %18s %17s\n", "scorer", "scored as complaints", "wrongly negative", "averaged recall")
	for _, name := range []string{score.ModelDefault, score.ModelAirline, ""} {
		opts := score.Options{}
		if name != "" {
			m, err := score.BuiltinModel(name)
			if err != nil {
				return err
			}
			opts.Model = m
		}
		s, err := score.New(opts)
		if err != nil {
			return err
		}
		r := train.Evaluate(train.ScorerClassifier{Scorer: s}, replies)
		// Every reply scored a complaint is wrong, whatever its tone.
		complaints := r.Complaint[0][1] + r.Complaint[1][1]
		negatives := r.Confusion[score.Neutral][score.Negative] + r.Confusion[score.Positive][score.Negative]
		fmt.Fprintf(stdout, "%-22s %14.0f (%4.1f%%) %18.0f %17.3f\n", s.ModelVersion(), complaints, 100*complaints/float64(len(replies)), negatives, r.Confusion.AveragedRecall())
	}
	fmt.Fprintln(stdout)
	return nil
}
