package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/chain"
	"github.com/firebreak/firebreak/services/escalation/hours"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the policy Firebreak ships with (default.yaml, documented
// there). It panics only if that file is broken, which its tests prevent.
func Default() *Policy {
	p, err := Parse(defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("policy: the embedded default policy is invalid: %v", err))
	}
	return p
}

// DefaultYAML returns the source of the default policy, to start a new policy
// from.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// shipped is default.yaml's settings. A policy that leaves one out
// (complaint, window, answer, private_reply_within, warn_at) gets the
// shipped policy's: default.yaml is their one source, not Go constants
// that repeat it.
var shipped = sync.OnceValue(func() document {
	var d document
	if err := yaml.Unmarshal(defaultYAML, &d); err != nil {
		panic(fmt.Sprintf("policy: the embedded default policy is invalid: %v", err))
	}
	return d
})

// withShippedSettings fills the settings d leaves out from default.yaml.
func withShippedSettings(d document) document {
	s := shipped()
	for _, f := range []struct{ own, def *string }{
		{&d.Complaint, &s.Complaint}, {&d.Window, &s.Window}, {&d.Answer, &s.Answer},
		{&d.PrivateReplyWithin, &s.PrivateReplyWithin}, {&d.WarnAt, &s.WarnAt},
	} {
		if strings.TrimSpace(*f.own) == "" {
			*f.own = *f.def
		}
	}
	return d
}

// Policy is a parsed, compiled policy. It is immutable and safe for concurrent
// use.
type Policy struct {
	version   string
	source    []byte
	complaint *program
	window    time.Duration
	// windowText is the window in words ("24h"), rendered once for reasons.
	windowText string
	routes     []route
	chains     map[string]chain.Chain
	// replies is how brand replies and first responses are judged.
	replies replyRules
	// lines is the parsed YAML, kept so Lint can name lines.
	lines tree
	// lists are the VIP and watch lists read; members indexes them by
	// author (see lists.go).
	lists    []List
	members  map[listKey]*AuthorFacts
	listData [][]byte // the lists' contents, while parsing, for the version
	// surges is the surges section, nil when there is none.
	surges *Surges
	// empty stands in for a missing score, reach, history or mention, so
	// expressions read zero values instead of failing on null.
	empty inputs
}

// inputs are the four messages a policy reads.
type inputs struct {
	mention *fbv1.Mention
	score   *fbv1.Score
	reach   *fbv1.Reach
	history *fbv1.History
	reply   *fbv1.ReplyCheck
}

// route is one compiled route.
type route struct {
	name     string
	match    *program
	ignore   bool
	team     string
	priority fbv1.Priority
	chain    string
	cont     bool
	code     string
	reason   template
	// quiet: the case records the mention and pages nobody.
	quiet bool
	// hold is how long the first page of a case this route opens waits,
	// to see whether the complaint is part of a surge (0: none).
	hold time.Duration
	// line and matchLine place the route in the policy file, for Lint.
	line, matchLine int
}

// Version is a short content hash of the policy source, "sha256:0123abcd4567",
// recorded with every decision so a decision can be traced to its policy.
func (p *Policy) Version() string { return p.version }

// Source returns the YAML the policy was parsed from.
func (p *Policy) Source() []byte { return bytes.Clone(p.source) }

// Window is how far back complaints count towards an author's repeat count.
func (p *Policy) Window() time.Duration { return p.window }

// Chain returns the named escalation chain.
func (p *Policy) Chain(name string) (chain.Chain, bool) {
	c, ok := p.chains[name]
	return c, ok
}

// Routes lists the route names in evaluation order.
func (p *Policy) Routes() []string {
	names := make([]string, len(p.routes))
	for i, r := range p.routes {
		names[i] = r.name
	}
	return names
}

// document is the YAML layout of a policy; default.yaml documents each field.
type document struct {
	Complaint          string                   `yaml:"complaint"`
	Window             string                   `yaml:"window"`
	Answer             string                   `yaml:"answer"`
	PrivateReplyWithin string                   `yaml:"private_reply_within"`
	RespondWithin      map[string]string        `yaml:"respond_within"`
	WarnAt             string                   `yaml:"warn_at"`
	BusinessHours      *hours.Spec              `yaml:"business_hours"`
	Routes             []routeDocument          `yaml:"routes"`
	Chains             map[string]chainDocument `yaml:"chains"`
	Lists              map[string]string        `yaml:"lists"`
	Surges             *surgesDocument          `yaml:"surges"`
}

type routeDocument struct {
	Name     string `yaml:"name"`
	Match    string `yaml:"match"`
	Ignore   bool   `yaml:"ignore"`
	Team     string `yaml:"team"`
	Priority string `yaml:"priority"`
	Chain    string `yaml:"chain"`
	Continue bool   `yaml:"continue"`
	Code     string `yaml:"code"`
	Reason   string `yaml:"reason"`
	Quiet    bool   `yaml:"quiet"`
	Hold     string `yaml:"hold"`
}

type chainDocument struct {
	Levels []struct {
		Receivers  []string `yaml:"receivers"`
		AckTimeout string   `yaml:"ack_timeout"`
	} `yaml:"levels"`
	Repeat    int    `yaml:"repeat"`
	AckExpiry string `yaml:"ack_expiry"`
}

// Parse reads and compiles a policy. It refuses a bad policy with a
// *ParseError listing every problem at once, each naming the route or chain
// it is in and its line.
func Parse(doc []byte) (*Policy, error) { return parse(doc, nil) }

func parse(doc []byte, read ListReader) (*Policy, error) {
	var node yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&node); errors.Is(err, io.EOF) {
		return nil, refused(Problem{Message: "the document is empty"})
	} else if err != nil {
		return nil, refused(tree{}.decodeProblems(err)...)
	}
	// A second document would be silently ignored; an operator who pasted
	// two policies into one file should hear about it.
	if err := dec.Decode(&yaml.Node{}); !errors.Is(err, io.EOF) {
		return nil, refused(Problem{Message: "more than one YAML document; a policy file holds one"})
	}
	t := newTree(&node)
	var d document
	var problems []Problem
	strict := yaml.NewDecoder(bytes.NewReader(doc))
	strict.KnownFields(true)
	if err := strict.Decode(&d); err != nil {
		// An unknown field still leaves the rest decoded: go on, so one
		// run names every problem.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, refused(t.decodeProblems(err)...)
		}
		problems = t.decodeProblems(err)
	}
	d = withShippedSettings(d)
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: build CEL environment: %w", err)
	}
	p := &Policy{
		source: bytes.Clone(doc),
		chains: map[string]chain.Chain{},
		lines:  t,
		empty: inputs{
			mention: &fbv1.Mention{Author: &fbv1.Author{}},
			score:   &fbv1.Score{},
			reach:   &fbv1.Reach{},
			history: &fbv1.History{},
			reply:   &fbv1.ReplyCheck{},
		},
	}
	problems = append(problems, p.parseHead(env, d)...)
	problems = append(problems, p.parseReplies(env, d)...)
	problems = append(problems, p.parseChains(d.Chains)...)
	problems = append(problems, p.parseLists(d.Lists, read)...)
	p.version = versionOf(doc, p.listData)
	p.listData = nil
	problems = append(problems, p.parseRoutes(env, d.Routes, d.Chains)...)
	problems = append(problems, p.parseSurges(d.Surges)...)
	if len(problems) > 0 {
		return nil, refused(problems...)
	}
	return p, nil
}

// versionOf hashes the policy and the contents of its lists, in name
// order: a change to a list is a new version, so a decision can still be
// traced to what decided it.
func versionOf(doc []byte, lists [][]byte) string {
	h := sha256.New()
	h.Write(doc)
	for _, l := range lists {
		fmt.Fprintf(h, "\x00%d\x00", len(l))
		h.Write(l)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:6])
}

// refused is the error for problems, in the order of their lines.
func refused(problems ...Problem) error {
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
	return &ParseError{Problems: problems}
}

func (p *Policy) parseHead(env *cel.Env, d document) []Problem {
	var errs []Problem
	src := strings.TrimSpace(d.Complaint)
	var err error
	if p.complaint, err = compile(env, src); err != nil {
		errs = append(errs, p.top("complaint", "complaint %q: %v", src, err))
	}
	p.window, err = time.ParseDuration(d.Window)
	if err != nil || p.window <= 0 {
		errs = append(errs, p.top("window", "window %q: want a positive duration such as 24h", d.Window))
	}
	p.windowText = Span(p.window)
	return errs
}

// top is a problem with a top-level setting, on that setting's line.
func (p *Policy) top(key, format string, args ...any) Problem {
	return Problem{Line: p.lines.line(key), Message: fmt.Sprintf(format, args...)}
}

func (p *Policy) parseChains(docs map[string]chainDocument) []Problem {
	var errs []Problem
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		d := docs[name]
		c := chain.Chain{Name: name, Repeat: d.Repeat}
		where := fmt.Sprintf("chain %q", name)
		var problems []Problem
		for i, l := range d.Levels {
			timeout, err := time.ParseDuration(l.AckTimeout)
			if err != nil {
				problems = append(problems, Problem{Where: where, Line: p.lines.line("chains", name, "levels", i, "ack_timeout"),
					Message: fmt.Sprintf("level %d: ack_timeout %q: want a duration such as 5m", i+1, l.AckTimeout)})
			}
			c.Levels = append(c.Levels, chain.Level{Receivers: l.Receivers, AckTimeout: timeout})
		}
		if d.AckExpiry != "" {
			expiry, err := time.ParseDuration(d.AckExpiry)
			if err != nil {
				problems = append(problems, Problem{Where: where, Line: p.lines.line("chains", name, "ack_expiry"),
					Message: fmt.Sprintf("ack_expiry %q: want a duration such as 2h", d.AckExpiry)})
			}
			c.AckExpiry = expiry
		}
		if len(problems) == 0 {
			for _, err := range split(c.Validate()) {
				problems = append(problems, Problem{Where: where, Line: p.chainLine(name, err.Error()), Message: err.Error()})
			}
		}
		if len(problems) > 0 {
			errs = append(errs, problems...)
			continue
		}
		p.chains[name] = c
	}
	return errs
}

// chainLine is the line of the level a chain.Validate message names
// ("level 2: no receivers"), or of the chain.
func (p *Policy) chainLine(name, msg string) int {
	var level int
	if _, err := fmt.Sscanf(msg, "level %d:", &level); err == nil && level > 0 {
		return p.lines.line("chains", name, "levels", level-1)
	}
	return p.lines.line("chains", name)
}

// parseRoutes compiles the routes in order. chains are the declared chains,
// valid or not, so a route naming a broken chain is not blamed for it.
func (p *Policy) parseRoutes(env *cel.Env, docs []routeDocument, chains map[string]chainDocument) []Problem {
	if len(docs) == 0 {
		return []Problem{p.top("routes", "no routes: a policy needs at least one")}
	}
	var errs []Problem
	seen := map[string]bool{}
	for i, d := range docs {
		r, problems := parseRoute(env, d, chains)
		name := d.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		} else if seen[name] {
			problems = append(problems, fieldError{"name", errors.New("name used by an earlier route")})
		}
		seen[name] = true
		where := fmt.Sprintf("route %q", name)
		for _, fe := range problems {
			errs = append(errs, Problem{Where: where, Line: p.lines.line("routes", i, fe.field), Message: fe.err.Error()})
		}
		if len(problems) > 0 {
			continue
		}
		r.line, r.matchLine = p.lines.line("routes", i), p.lines.line("routes", i, "match")
		p.routes = append(p.routes, r)
	}
	return errs
}

// fieldError is a problem with one field of a route.
type fieldError struct {
	field string
	err   error
}

func parseRoute(env *cel.Env, d routeDocument, chains map[string]chainDocument) (route, []fieldError) {
	r := route{name: d.Name, ignore: d.Ignore, team: d.Team, chain: d.Chain, cont: d.Continue, code: d.Code, quiet: d.Quiet}
	var errs []fieldError
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fieldError{field, fmt.Errorf(format, args...)})
	}
	if d.Name == "" {
		bad("name", "name is missing")
	}
	if strings.TrimSpace(d.Match) == "" {
		bad("match", "match is missing")
	} else if m, err := compile(env, d.Match); err != nil {
		bad("match", "match %q: %w", d.Match, err)
	} else {
		r.match = m
	}
	if d.Ignore {
		if d.Team != "" || d.Priority != "" || d.Chain != "" || d.Continue || d.Reason != "" || d.Quiet || d.Hold != "" {
			bad("ignore", "an ignore route opens nothing: drop team, priority, chain, continue, quiet, hold and reason")
		}
		return r, errs
	}
	if hold, err := parseHold(d.Hold); err != nil {
		bad("hold", "%w", err)
	} else if hold > 0 && d.Quiet {
		bad("hold", "a quiet route pages nobody, so there is no page to hold: drop hold or quiet")
	} else {
		r.hold = hold
	}
	if d.Team == "" {
		bad("team", "team is missing (or set ignore: true to open nothing)")
	}
	var err error
	if r.priority, err = parsePriority(d.Priority); err != nil {
		bad("priority", "%w", err)
	}
	if r.chain == "" {
		r.chain = d.Team
	}
	if _, ok := chains[r.chain]; !ok && r.chain != "" {
		field := "chain"
		if d.Chain == "" {
			field = "team"
		}
		bad(field, "chain %q is not defined under chains", r.chain)
	}
	if r.code == "" {
		r.code = strings.ReplaceAll(d.Name, "-", "_")
	}
	if d.Reason == "" {
		bad("reason", "reason is missing: say in plain words why this route escalates")
	} else if r.reason, err = compileTemplate(d.Reason); err != nil {
		bad("reason", "reason %q: %w", d.Reason, err)
	}
	return r, errs
}

// MaxHold bounds a route's hold: a complaint held longer is a complaint
// nobody hears about, and a surge shows itself within minutes.
const MaxHold = time.Hour

// parseHold reads a route's hold: empty for none, else a duration from 0
// to MaxHold.
func parseHold(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("hold %q: want a duration such as 2m", s)
	case d < 0:
		return 0, fmt.Errorf("hold %q: must not be negative (0 or leave it out to page at once)", s)
	case d > MaxHold:
		return 0, fmt.Errorf("hold %q: at most %s; a held complaint pages nobody until it ends", s, Span(MaxHold))
	}
	return d, nil
}

// split undoes errors.Join, so joined problems can be named one by one.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// parsePriority accepts LOW, NORMAL, HIGH or CRITICAL, in any case, with or
// without the PRIORITY_ prefix.
func parsePriority(s string) (fbv1.Priority, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "PRIORITY_") {
		name = "PRIORITY_" + name
	}
	v, ok := fbv1.Priority_value[name]
	if !ok || v == 0 {
		return 0, fmt.Errorf("priority %q: want LOW, NORMAL, HIGH or CRITICAL", s)
	}
	return fbv1.Priority(v), nil
}

// ChainNames lists the chains, sorted.
func (p *Policy) ChainNames() []string { return slices.Sorted(maps.Keys(p.chains)) }
