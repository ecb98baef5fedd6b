package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// runEvalReplies prints the reply check's figures: how often it flags each
// kind of labelled reply, every brand reply of the twcs sample as the live
// flow sees it, and the impolite and polite quartiles of Stanford
// Politeness.
func runEvalReplies(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval-replies", flag.ContinueOnError)
	fs.SetOutput(stderr)
	labelled := fs.String("labelled", "services/scorer/score/testdata/replies", "folder of labelled replies (CSV: id,label,text)")
	twcs := fs.String("twcs", "../shared/data/customer-support-on-twitter/twcs-5000.csv", "Customer Support on Twitter sample; its brand replies are checked as the live flow does (empty to skip)")
	politeness := fs.String("politeness", "../shared/data/stanford-politeness/wikipedia.annotated.csv", "Stanford Politeness requests; their quartiles are checked (empty to skip)")
	var sf scorerFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	scorer, err := sf.build()
	if err != nil {
		return err
	}
	check := func(text string) bool {
		return scorer.CheckReply(text, score.ReplyContext{PublicReply: true}).Flagged()
	}
	fmt.Fprintln(stdout, "== reply check: share of replies flagged (a warning or worse), as public replies without context;")
	fmt.Fprintln(stdout, "   not answer: flagged or with no way forward, which the default policy does not count as an answer to a complaint")
	fmt.Fprintf(stdout, "%-44s %-13s %8s %8s %11s\n", "set", "label", "replies", "flagged", "not answer")
	files, err := filepath.Glob(filepath.Join(*labelled, "*.csv"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("%w: no labelled CSV files in %s", errUsage, *labelled)
	}
	for _, file := range files {
		counts := map[string][3]int{}
		err := readRows(file, []string{"label", "text"}, func(f []string) error {
			c := counts[f[0]]
			c[0]++
			rc := scorer.CheckReply(f[1], score.ReplyContext{PublicReply: true})
			if rc.Flagged() {
				c[1]++
			}
			if rc.Flagged() || rc.NoWayForward {
				c[2]++
			}
			counts[f[0]] = c
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		labels := make([]string, 0, len(counts))
		for l := range counts {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		bad := [3]int{}
		for _, l := range labels {
			c := counts[l]
			printRate(stdout, filepath.Base(file), l, c[:]...)
			if l != "good" {
				for i := range bad {
					bad[i] += c[i]
				}
			}
		}
		printRate(stdout, filepath.Base(file), "all bad", bad[:]...)
	}
	if *twcs != "" {
		var c [2]int
		kinds := map[string]int{}
		err := readRows(*twcs, []string{"inbound", "text"}, func(f []string) error {
			if f[0] != "False" {
				return nil
			}
			c[0]++
			rc := scorer.CheckReply(f[1], score.ReplyContext{PublicReply: true})
			if rc.Flagged() {
				c[1]++
				for _, fd := range rc.Findings {
					if fd.Severity >= score.SeverityWarning {
						kinds[fd.Code]++
					}
				}
			}
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("%s: %w", *twcs, err)
		}
		printRate(stdout, "twcs-5000 brand replies (live flow)", "all", c[:]...)
		fmt.Fprintf(stdout, "%-44s %s\n", "", kindList(kinds))
	}
	if *politeness != "" {
		if err := evalPoliteness(ctx, *politeness, check, stdout); err != nil {
			return err
		}
	}
	return nil
}

// printRate prints a set's replies (c[0]) and the share of them each
// further count is: flagged, then (labelled sets) not counted as an answer.
func printRate(w io.Writer, set, label string, c ...int) {
	fmt.Fprintf(w, "%-44s %-13s %8d", set, label, c[0])
	for i, n := range c[1:] {
		rate := 0.0
		if c[0] > 0 {
			rate = 100 * float64(n) / float64(c[0])
		}
		width := 7 // under "flagged"
		if i > 0 {
			width = 10 // under "not answer"
		}
		fmt.Fprintf(w, " %*.1f%%", width, rate)
	}
	fmt.Fprintln(w)
}

func kindList(kinds map[string]int) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return kinds[names[i]] > kinds[names[j]] })
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, kinds[k])
	}
	return "by kind: " + strings.Join(parts, ", ")
}

// evalPoliteness checks the bottom (impolite) and top (polite) quartiles
// of the requests by their normalised politeness score, as the paper
// defines them.
func evalPoliteness(ctx context.Context, path string, check func(string) bool, w io.Writer) error {
	type request struct {
		text  string
		score float64
	}
	var reqs []request
	err := readRows(path, []string{"Request", "Normalized Score"}, func(f []string) error {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		if err != nil {
			return fmt.Errorf("normalized score %q: %w", f[1], err)
		}
		reqs = append(reqs, request{f[0], v})
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(reqs) < 8 {
		return fmt.Errorf("%s: %d requests, too few for quartiles", path, len(reqs))
	}
	slices.SortFunc(reqs, func(a, b request) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
	q := len(reqs) / 4
	for _, part := range []struct {
		label string
		reqs  []request
	}{{"impolite", reqs[:q]}, {"polite", reqs[len(reqs)-q:]}} {
		var c [2]int
		for _, r := range part.reqs {
			c[0]++
			if check(r.text) {
				c[1]++
			}
		}
		printRate(w, "stanford-politeness quartile", part.label, c[:]...)
	}
	return nil
}
