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
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := train.DefaultConfig()
	in := fs.String("in", "", "labelled CSV or NDJSON file (required)")
	out := fs.String("out", "", "model file to write (required)")
	textColumn := fs.String("text-column", "text", "column holding the text")
	labelColumn := fs.String("label-column", "airline_sentiment", "column holding negative/neutral/positive")
	weightColumn := fs.String("weight-column", "airline_sentiment_confidence", "column weighting each example by the labellers' agreement; empty for equal weights")
	fs.StringVar(&cfg.Version, "version", cfg.Version, "model version reported in every score")
	fs.IntVar(&cfg.HashBits, "hash-bits", cfg.HashBits, "log2 rows of the hashed weight table")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the data")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("%w: --in and --out are required", errUsage)
	}
	examples, err := readExamples(*in, *textColumn, *labelColumn, *weightColumn)
	if err != nil {
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
	fmt.Fprintf(stdout, "trained %s on %d examples: %s (%d bytes, sha256 %x)\n",
		m.Version(), len(examples), *out, buf.Len(), sha256.Sum256(buf.Bytes()))
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
