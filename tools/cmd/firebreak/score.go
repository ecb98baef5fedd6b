package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// scoredRow is one line of `firebreak score` output.
type scoredRow struct {
	ID             string   `json:"id"`
	Label          string   `json:"label"`
	Compound       float64  `json:"compound"`
	Complaint      float64  `json:"complaint"`
	Topics         []string `json:"topics"`
	Toxicity       float64  `json:"toxicity"`
	Urgency        float64  `json:"urgency"`
	UrgencySignals []string `json:"urgency_signals,omitempty"`
	Model          string   `json:"model"`
}

// scorerFlags are the flags every scoring command shares.
type scorerFlags struct {
	lexiconOnly bool
	modelPath   string
	topicsPath  string
}

func (f *scorerFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.lexiconOnly, "lexicon-only", false, "score with the lexicon alone, without a trained model")
	fs.StringVar(&f.modelPath, "model", score.ModelDefault, "model: default (trained on commercially usable data), airline (CC BY-NC-SA training data: non-commercial use only), or a model file from `firebreak train`")
	fs.StringVar(&f.topicsPath, "topics", "", "JSON topic set to use instead of the default airline and general topics")
}

// build makes the Scorer the flags describe.
func (f *scorerFlags) build() (*score.Scorer, error) {
	var opts score.Options
	if f.topicsPath != "" {
		data, err := os.ReadFile(f.topicsPath)
		if err != nil {
			return nil, fmt.Errorf("read topics: %w", err)
		}
		if opts.Topics, err = score.ParseTopics(data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.topicsPath, err)
		}
	}
	switch {
	case f.lexiconOnly && f.modelPath != score.ModelDefault:
		return nil, fmt.Errorf("%w: --lexicon-only and --model exclude each other", errUsage)
	case !f.lexiconOnly:
		m, err := score.OpenModel(f.modelPath)
		if err != nil {
			return nil, err
		}
		opts.Model = m
	}
	return score.New(opts)
}

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "input file, CSV with a header row or NDJSON (required)")
	out := fs.String("out", "-", "output NDJSON file, - for standard output")
	idColumn := fs.String("id-column", "id", "column or field holding the row id")
	textColumn := fs.String("text-column", "text", "column or field holding the text")
	var sf scorerFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *in == "" {
		return fmt.Errorf("%w: --in is required", errUsage)
	}
	scorer, err := sf.build()
	if err != nil {
		return err
	}
	w, closeOut, err := openOutput(*out, stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	n := 0
	err = readRows(*in, []string{*idColumn, *textColumn}, func(fields []string) error {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		n++
		r := scorer.Score(fields[1])
		topics := r.Topics
		if topics == nil {
			topics = []string{}
		}
		return enc.Encode(scoredRow{
			ID: fields[0], Label: r.Label.String(), Compound: round4(r.Compound), Complaint: round4(r.Complaint),
			Topics: topics, Toxicity: round4(r.Toxicity), Urgency: round4(r.Urgency),
			UrgencySignals: r.UrgencySignals, Model: r.ModelVersion,
		})
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("score %s: %w", *in, err)
	}
	fmt.Fprintf(stderr, "scored %d rows with %s\n", n, scorer.ModelVersion())
	return nil
}

// round4 keeps four decimals: finer digits are noise and bloat the output.
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

// openOutput opens a file for writing, or standard output for "-".
func openOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "-" || path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("create output: %w", err)
	}
	return f, f.Close, nil
}

// readRows calls fn with the named columns of every row of a CSV (with a
// header row; quoted fields may span lines) or NDJSON file. The slice is
// reused between calls.
func readRows(path string, columns []string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	if isNDJSON(path, br) {
		return readNDJSON(br, columns, fn)
	}
	return readCSV(br, columns, fn)
}

// isNDJSON goes by the extension, then by whether the data starts with "{".
func isNDJSON(path string, br *bufio.Reader) bool {
	for _, ext := range []string{".ndjson", ".jsonl", ".json"} {
		if strings.HasSuffix(strings.ToLower(path), ext) {
			return true
		}
	}
	head, _ := br.Peek(64)
	return bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n"), []byte("{"))
}

func readCSV(r io.Reader, columns []string, fn func([]string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read CSV header: %w", err)
	}
	index := make([]int, len(columns))
	for i, col := range columns {
		index[i] = -1
		for j, h := range header {
			if strings.TrimPrefix(strings.TrimSpace(h), "\ufeff") == col {
				index[i] = j
			}
		}
		if index[i] < 0 {
			return fmt.Errorf("%w: no column %q in CSV header %q", errUsage, col, header)
		}
	}
	fields := make([]string, len(columns))
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		for i, j := range index {
			if j >= len(rec) {
				return fmt.Errorf("CSV line %d has %d fields, no %q", line, len(rec), columns[i])
			}
			fields[i] = rec[j]
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("CSV line %d: %w", line, err)
		}
	}
}

func readNDJSON(r io.Reader, columns []string, fn func([]string) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	fields := make([]string, len(columns))
	for n := 1; ; n++ {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read NDJSON record %d: %w", n, err)
		}
		for i, col := range columns {
			v, ok := obj[col]
			if !ok {
				return fmt.Errorf("NDJSON record %d has no field %q", n, col)
			}
			fields[i] = fmt.Sprint(v)
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("NDJSON record %d: %w", n, err)
		}
	}
}
