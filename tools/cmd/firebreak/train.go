package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/corpus"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "labelled CSV or NDJSON file: your own mentions (see services/scorer/score/model/README.md)")
	data := fs.String("data", "", "instead of --in, the shared data directory: trains the default model on the commercially usable sets")
	out := fs.String("out", "", "model file to write (required)")
	textColumn := fs.String("text-column", "text", "column holding the text")
	labelColumn := fs.String("label-column", "label", "column holding negative/neutral/positive")
	weightColumn := fs.String("weight-column", "", "column weighting each example (e.g. the labellers' agreement); empty for equal weights")
	preset := fs.String("preset", "", "starting configuration: default, airline, custom (blended with the lexicon) or model-only (default: default with --data, custom with --in)")
	version := fs.String("version", "", "model version reported in every score (default: the preset's)")
	hashBits := fs.Int("hash-bits", 0, "log2 rows of the hashed weight table (default: the preset's)")
	epochs := fs.Int("epochs", 0, "passes over the data (default: the preset's)")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if (*in == "") == (*data == "") || *out == "" {
		return fmt.Errorf("%w: give --out and one of --in (your labelled file) or --data (the shared data directory)", errUsage)
	}
	if *preset == "" {
		*preset = "custom"
		if *data != "" {
			*preset = "default"
		}
	}
	cfg, err := train.Preset(*preset)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	if *version != "" {
		cfg.Version = *version
	}
	if *hashBits != 0 {
		cfg.HashBits = *hashBits
	}
	if *epochs != 0 {
		cfg.Epochs = *epochs
	}
	var examples []train.Example
	source := *in
	if *data != "" {
		sets, err := corpus.LoadAll(*data, corpus.CommercialNames)
		if err != nil {
			return err
		}
		examples = corpus.TrainOf(sets)
		source = *data + " (" + strings.Join(corpus.CommercialNames, ", ") + ")"
	} else if examples, err = readExamples(*in, *textColumn, *labelColumn, *weightColumn); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := train.Train(examples, cfg)
	if err != nil {
		return err
	}
	// Write to memory first so a failure never leaves half a model behind.
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Fprintf(stdout, "trained %s on %d examples from %s: %s (%d bytes, sha256 %x)\n",
		m.Version(), len(examples), source, *out, buf.Len(), sha256.Sum256(buf.Bytes()))
	return nil
}

// readExamples reads labelled texts, weighted by weightColumn unless it is
// empty; a row with an unknown label or weight is an error, not a silent
// skip, so a wrong column is noticed.
func readExamples(path, textColumn, labelColumn, weightColumn string) ([]train.Example, error) {
	columns := []string{textColumn, labelColumn}
	if weightColumn != "" {
		columns = append(columns, weightColumn)
	}
	var examples []train.Example
	err := readRows(path, columns, func(f []string) error {
		label, err := score.ParseLabel(strings.ToLower(strings.TrimSpace(f[1])))
		if err != nil {
			return err
		}
		ex := train.Example{Text: f[0], Label: label}
		if weightColumn != "" {
			if ex.Weight, err = strconv.ParseFloat(strings.TrimSpace(f[2]), 64); err != nil || ex.Weight <= 0 || ex.Weight > 1e6 {
				return fmt.Errorf("weight %q: want a positive number", f[2])
			}
		}
		examples = append(examples, ex)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("read %s: no rows", path)
	}
	return examples, nil
}
