package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/policyfile"
	"github.com/firebreak/firebreak/services/notifier/receivers"
)

// errFindings marks a run that worked and found problems: exit 1 with the
// report already written.
var errFindings = errors.New("problems found")

// runPolicyCheck is `firebreak policy check FILE`: every problem of a policy
// with its route and line, then the warnings Lint finds. It exits 1 on an
// error, and on a warning with --strict.
func runPolicyCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	receiversPath := fs.String("receivers", "", "the notifier's receivers file, to check that chains name receivers it has")
	strict := fs.Bool("strict", false, "exit 1 on warnings too (for CI)")
	brand := fs.String("brand", "", `brand of the synthetic small-account complaint (default "example")`)
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageError(err)
	}
	if len(files) != 1 {
		return fmt.Errorf("%w: policy check FILE [--receivers FILE] [--strict] (FILE may be \"default\")", errUsage)
	}
	path := files[0]
	opts := policy.LintOptions{Brand: *brand}
	if *receiversPath != "" {
		if opts.Receivers, err = receiverNames(*receiversPath); err != nil {
			return err
		}
	}
	p, err := policyfile.Open(path)
	var refused *policy.ParseError
	if errors.As(err, &refused) {
		writeProblems(stdout, refused.Problems)
		fmt.Fprintf(stdout, "%s: %s; fix and check again (warnings are looked for once it parses)\n", path, count(len(refused.Problems), "error"))
		return fmt.Errorf("%s: %w", path, errFindings)
	} else if err != nil {
		return err
	}
	problems := policy.Lint(p, opts)
	writeProblems(stdout, problems)
	errs, warns := 0, 0
	for _, pr := range problems {
		if pr.Warning {
			warns++
		} else {
			errs++
		}
	}
	if opts.Receivers == nil {
		fmt.Fprintf(stdout, "%s: receivers not checked; pass --receivers FILE (the notifier's receivers file) to check them\n", path)
	}
	for _, l := range p.Lists() {
		fmt.Fprintf(stdout, "%s: list %q (%s): %s\n", path, l.Name, l.Path, count(l.Authors, "author"))
	}
	fmt.Fprintf(stdout, "%s: %d routes, %d chains: %s, %s\n", path, len(p.Routes()), len(p.ChainNames()), count(errs, "error"), count(warns, "warning"))
	if errs > 0 || *strict && warns > 0 {
		return fmt.Errorf("%s: %w", path, errFindings)
	}
	return nil
}

// writeProblems prints one problem a line, continuation lines (a CEL
// error's caret) indented under it.
func writeProblems(w io.Writer, problems []policy.Problem) {
	for _, p := range problems {
		kind := "error"
		if p.Warning {
			kind = "warning"
		}
		fmt.Fprintf(w, "%s: %s\n", kind, strings.ReplaceAll(p.Error(), "\n", "\n    "))
	}
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// receiverNames reads the receiver names of the notifier's receivers file.
// It decodes the file strictly, as the notifier does, but resolves no
// secrets: a CI job checking a policy has none, and needs only names.
func receiverNames(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read receivers file: %w", err)
	}
	var cfg receivers.Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("receivers file %s: %v; fix it (the notifier refuses it too)", path, err)
	}
	names := make([]string, 0, len(cfg.Receivers))
	for _, r := range cfg.Receivers {
		if r.Name != "" {
			names = append(names, r.Name)
		}
	}
	return names, nil
}
