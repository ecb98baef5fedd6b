package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/policyfile"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// Bounds on a cases file, checked before any work.
const (
	maxCasesBytes = 4 << 20
	maxCases      = 10_000
)

// runPolicyTest is `firebreak policy test FILE --mention JSON` (what the
// policy does with one mention) or `--cases FILE` (a file of mentions with
// the route, team and priority expected; exit 1 on any mismatch).
func runPolicyTest(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mentionArg := fs.String("mention", "", "one mention as JSON (ingest's /v1/mentions shape, plus optional score, reach, brand_followers, history, reply, to), @FILE, or - for standard input")
	casesPath := fs.String("cases", "", "YAML file of cases, each an input and the expected route, team and priority")
	var mk inputMaker
	mk.flags.register(fs)
	files, err := parseArgs(fs, args)
	if err != nil {
		return usageError(err)
	}
	if len(files) != 1 || (*mentionArg == "") == (*casesPath == "") {
		return fmt.Errorf("%w: policy test FILE (--mention JSON | --cases CASES.yaml) (FILE may be \"default\")", errUsage)
	}
	if mk.policy, err = policyfile.Open(files[0]); err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	mk.now = time.Now()
	if *casesPath != "" {
		return runCases(&mk, *casesPath, stdout)
	}
	raw, err := readArg(*mentionArg)
	if err != nil {
		return err
	}
	in, err := decodeTestInput(raw)
	if err != nil {
		return fmt.Errorf("%w: --mention: %v", errUsage, err)
	}
	d, err := mk.make(in)
	if err != nil {
		return fmt.Errorf("%w: --mention: %v", errUsage, err)
	}
	writeDecision(stdout, mk.policy, d)
	return nil
}

// readArg reads --mention: inline JSON, @FILE or - for standard input.
func readArg(arg string) ([]byte, error) {
	var r io.Reader
	switch {
	case arg == "-":
		r = os.Stdin
	case strings.HasPrefix(arg, "@"):
		f, err := os.Open(arg[1:])
		if err != nil {
			return nil, fmt.Errorf("read --mention: %w", err)
		}
		defer f.Close()
		r = f
	default:
		return []byte(arg), nil
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read --mention: %w", err)
	}
	return raw, nil
}

// writeDecision prints what the policy did with one input and why.
func writeDecision(w io.Writer, p *policy.Policy, d decided) {
	o := p.Evaluate(d.in)
	m := d.in.Mention
	kind := "mention"
	if m.BrandReply {
		kind = "brand reply"
	}
	fmt.Fprintf(w, "input     %s %s by @%s (%s followers): %q\n", mention.PlatformName(m.Platform), kind,
		m.Author.GetHandle(), wording.Thousands(m.Author.GetFollowers()), m.Text)
	if !o.Escalate {
		fmt.Fprintln(w, "escalate  no: no route opens a case")
	} else {
		fmt.Fprintf(w, "route     %s\nteam      %s\npriority  %s\nchain     %s\n", o.Route, o.Team, priorityWord(o.Priority), o.Chain)
	}
	for i, r := range o.Reasons {
		label := "          "
		if i == 0 {
			label = "reasons   "
		}
		fmt.Fprintf(w, "%s%s: %s\n", label, r.Code, r.Text)
	}
	if f := p.Author(d.in); len(f.Lists) > 0 {
		fmt.Fprintf(w, "lists     %s (author.vip %v)\n", strings.Join(f.Lists, ", "), f.VIP)
	}
	if m.BrandReply {
		_, why := p.Answers(m, d.in.Score.GetReply())
		fmt.Fprintf(w, "answer    %s\n", why)
	}
	for i, n := range d.notes {
		label := ""
		if i == 0 {
			label = "inputs"
		}
		fmt.Fprintf(w, "%-10s%s\n", label, n)
	}
}

func priorityWord(p fbv1.Priority) string { return strings.TrimPrefix(p.String(), "PRIORITY_") }

// casesFile is the layout of --cases.
type casesFile struct {
	Cases []yaml.Node `yaml:"cases"`
}

type testCase struct {
	Name   string      `yaml:"name"`
	Input  yaml.Node   `yaml:"input"`
	Expect expectation `yaml:"expect"`
}

// expectation is what a case expects; what it leaves out is not compared.
// Naming a route, team or priority expects an escalation.
type expectation struct {
	Escalate *bool   `yaml:"escalate"`
	Route    *string `yaml:"route"`
	Team     *string `yaml:"team"`
	Priority *string `yaml:"priority"`
	// Reasons must each appear in one of the decision's reasons.
	Reasons []string `yaml:"reasons"`
	// Answered, for a brand reply: whether it counts as an answer.
	Answered *bool `yaml:"answered"`
}

// runCases decides every case and reports each mismatch as a diff, the
// expected value with "-" and the actual with "+".
func runCases(mk *inputMaker, path string, w io.Writer) error {
	cases, err := readCases(path)
	if err != nil {
		return err
	}
	failed := 0
	for i, c := range cases {
		name := c.tc.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		diff, err := c.run(mk)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(w, "FAIL  %s (line %d)\n      input refused: %v\n", name, c.line, err)
		case len(diff) > 0:
			failed++
			fmt.Fprintf(w, "FAIL  %s (line %d)\n", name, c.line)
			for _, d := range diff {
				fmt.Fprintf(w, "      %s\n", d)
			}
		default:
			fmt.Fprintf(w, "ok    %s\n", name)
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "FAIL  %d of %s failed\n", failed, count(len(cases), "case"))
		return fmt.Errorf("%s: %w", path, errFindings)
	}
	fmt.Fprintf(w, "PASS  %s\n", count(len(cases), "case"))
	return nil
}

type loadedCase struct {
	tc   testCase
	line int
}

func readCases(path string) ([]loadedCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxCasesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	if len(raw) > maxCasesBytes {
		return nil, fmt.Errorf("cases file %s is larger than %d bytes; split it", path, maxCasesBytes)
	}
	var file casesFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("cases file %s: %v; it holds `cases:`, a list of {name, input, expect}", path, err)
	}
	if len(file.Cases) == 0 || len(file.Cases) > maxCases {
		return nil, fmt.Errorf("cases file %s has %d cases; give 1 to %d under `cases:`", path, len(file.Cases), maxCases)
	}
	out := make([]loadedCase, len(file.Cases))
	var problems []error
	for i := range file.Cases {
		n := &file.Cases[i]
		out[i].line = n.Line
		if err := strictDecode(n, &out[i].tc); err != nil {
			problems = append(problems, fmt.Errorf("case at line %d: %v", n.Line, err))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cases file %s:\n%w", path, errors.Join(problems...))
	}
	return out, nil
}

// strictDecode decodes a node refusing unknown fields, as the file's
// decoder would (yaml.Node.Decode alone accepts them).
func strictDecode(n *yaml.Node, v any) error {
	raw, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// run decides the case and lists the differences from what it expects.
func (c *loadedCase) run(mk *inputMaker) ([]string, error) {
	var fields any
	if err := c.tc.Input.Decode(&fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, errors.New("input is missing")
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("input: %v", err)
	}
	in, err := decodeTestInput(raw)
	if err != nil {
		return nil, err
	}
	d, err := mk.make(in)
	if err != nil {
		return nil, err
	}
	o := mk.policy.Evaluate(d.in)
	return c.tc.Expect.diff(mk.policy, d, o), nil
}

func (e expectation) diff(p *policy.Policy, d decided, o policy.Outcome) []string {
	var out []string
	cmp := func(field, want, got string) {
		if got == "" || got == "UNSPECIFIED" {
			got = "(none)"
		}
		if want != got {
			out = append(out, fmt.Sprintf("- %s: %s", field, want), fmt.Sprintf("+ %s: %s", field, got))
		}
	}
	escalate := e.Escalate
	if escalate == nil && (e.Route != nil || e.Team != nil || e.Priority != nil) {
		yes := true
		escalate = &yes
	}
	if escalate != nil {
		cmp("escalate", fmt.Sprint(*escalate), fmt.Sprint(o.Escalate))
	}
	if e.Route != nil {
		cmp("route", *e.Route, o.Route)
	}
	if e.Team != nil {
		cmp("team", *e.Team, o.Team)
	}
	if e.Priority != nil {
		cmp("priority", strings.ToUpper(strings.TrimPrefix(strings.ToUpper(*e.Priority), "PRIORITY_")), priorityWord(o.Priority))
	}
	for _, want := range e.Reasons {
		if !anyReason(o.Reasons, want) {
			out = append(out, fmt.Sprintf("- reason containing %q", want))
			for _, r := range o.Reasons {
				out = append(out, fmt.Sprintf("+ reason %s: %s", r.Code, r.Text))
			}
		}
	}
	if e.Answered != nil {
		got, why := p.Answers(d.in.Mention, d.in.Score.GetReply())
		if got != *e.Answered {
			out = append(out, fmt.Sprintf("- answered: %v", *e.Answered), fmt.Sprintf("+ answered: %v (%s)", got, why))
		}
	}
	if len(out) > 0 && len(d.notes) > 0 {
		out = append(out, "  inputs: "+strings.Join(d.notes, "; "))
	}
	return out
}

func anyReason(rs []*fbv1.Reason, want string) bool {
	for _, r := range rs {
		if strings.Contains(r.Text, want) || r.Code == want {
			return true
		}
	}
	return false
}
