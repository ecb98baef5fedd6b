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

// Defaults applied when a policy leaves them out.
const (
	DefaultComplaint = "score.complaint >= 0.5 || score.sentiment == SENTIMENT_NEGATIVE"
	DefaultWindow    = 24 * time.Hour
)

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
}

type chainDocument struct {
	Levels []struct {
		Receivers  []string `yaml:"receivers"`
		AckTimeout string   `yaml:"ack_timeout"`
	} `yaml:"levels"`
	Repeat    int    `yaml:"repeat"`
	AckExpiry string `yaml:"ack_expiry"`
}

// Parse reads and compiles a policy. It refuses a bad policy with every
// problem at once, each naming the route or chain it is in.
func Parse(doc []byte) (*Policy, error) {
	var d document
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&d); errors.Is(err, io.EOF) {
		return nil, errors.New("policy: the document is empty")
	} else if err != nil {
		return nil, fmt.Errorf("policy: read yaml: %w", err)
	}
	// A second document would be silently ignored; an operator who pasted
	// two policies into one file should hear about it.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, errors.New("policy: more than one YAML document; a policy file holds one")
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: build CEL environment: %w", err)
	}
	sum := sha256.Sum256(doc)
	p := &Policy{
		version: "sha256:" + hex.EncodeToString(sum[:6]),
		source:  bytes.Clone(doc),
		chains:  map[string]chain.Chain{},
		empty: inputs{
			mention: &fbv1.Mention{Author: &fbv1.Author{}},
			score:   &fbv1.Score{},
			reach:   &fbv1.Reach{},
			history: &fbv1.History{},
			reply:   &fbv1.ReplyCheck{},
		},
	}
	errs := p.parseHead(env, d)
	errs = append(errs, p.parseReplies(env, d)...)
	errs = append(errs, p.parseChains(d.Chains)...)
	errs = append(errs, p.parseRoutes(env, d.Routes, d.Chains)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("policy: refused:\n%w", errors.Join(errs...))
	}
	return p, nil
}

func (p *Policy) parseHead(env *cel.Env, d document) []error {
	var errs []error
	src := strings.TrimSpace(d.Complaint)
	if src == "" {
		src = DefaultComplaint
	}
	var err error
	if p.complaint, err = compile(env, src); err != nil {
		errs = append(errs, fmt.Errorf("complaint %q: %w", src, err))
	}
	p.window = DefaultWindow
	if d.Window != "" {
		p.window, err = time.ParseDuration(d.Window)
		if err != nil || p.window <= 0 {
			errs = append(errs, fmt.Errorf("window %q: want a positive duration such as 24h", d.Window))
		}
	}
	p.windowText = Span(p.window)
	return errs
}

func (p *Policy) parseChains(docs map[string]chainDocument) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		d := docs[name]
		c := chain.Chain{Name: name, Repeat: d.Repeat}
		var problems []error
		for i, l := range d.Levels {
			timeout, err := time.ParseDuration(l.AckTimeout)
			if err != nil {
				problems = append(problems, fmt.Errorf("level %d: ack_timeout %q: want a duration such as 5m", i+1, l.AckTimeout))
			}
			c.Levels = append(c.Levels, chain.Level{Receivers: l.Receivers, AckTimeout: timeout})
		}
		if d.AckExpiry != "" {
			expiry, err := time.ParseDuration(d.AckExpiry)
			if err != nil {
				problems = append(problems, fmt.Errorf("ack_expiry %q: want a duration such as 2h", d.AckExpiry))
			}
			c.AckExpiry = expiry
		}
		if len(problems) == 0 {
			problems = split(c.Validate())
		}
		if len(problems) > 0 {
			errs = append(errs, named(fmt.Sprintf("chain %q", name), problems)...)
			continue
		}
		p.chains[name] = c
	}
	return errs
}

// parseRoutes compiles the routes in order. chains are the declared chains,
// valid or not, so a route naming a broken chain is not blamed for it.
func (p *Policy) parseRoutes(env *cel.Env, docs []routeDocument, chains map[string]chainDocument) []error {
	if len(docs) == 0 {
		return []error{errors.New("no routes: a policy needs at least one")}
	}
	var errs []error
	seen := map[string]bool{}
	for i, d := range docs {
		r, problems := parseRoute(env, d, chains)
		name := d.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		} else if seen[name] {
			problems = append(problems, errors.New("name used by an earlier route"))
		}
		seen[name] = true
		if len(problems) > 0 {
			errs = append(errs, named(fmt.Sprintf("route %q", name), problems)...)
			continue
		}
		p.routes = append(p.routes, r)
	}
	return errs
}

func parseRoute(env *cel.Env, d routeDocument, chains map[string]chainDocument) (route, []error) {
	r := route{name: d.Name, ignore: d.Ignore, team: d.Team, chain: d.Chain, cont: d.Continue, code: d.Code}
	var errs []error
	if d.Name == "" {
		errs = append(errs, errors.New("name is missing"))
	}
	if strings.TrimSpace(d.Match) == "" {
		errs = append(errs, errors.New("match is missing"))
	} else if m, err := compile(env, d.Match); err != nil {
		errs = append(errs, fmt.Errorf("match %q: %w", d.Match, err))
	} else {
		r.match = m
	}
	if d.Ignore {
		if d.Team != "" || d.Priority != "" || d.Chain != "" || d.Continue || d.Reason != "" {
			errs = append(errs, errors.New("an ignore route opens nothing: drop team, priority, chain, continue and reason"))
		}
		return r, errs
	}
	if d.Team == "" {
		errs = append(errs, errors.New("team is missing (or set ignore: true to open nothing)"))
	}
	var err error
	if r.priority, err = parsePriority(d.Priority); err != nil {
		errs = append(errs, err)
	}
	if r.chain == "" {
		r.chain = d.Team
	}
	if _, ok := chains[r.chain]; !ok && r.chain != "" {
		errs = append(errs, fmt.Errorf("chain %q is not defined under chains", r.chain))
	}
	if r.code == "" {
		r.code = strings.ReplaceAll(d.Name, "-", "_")
	}
	if d.Reason == "" {
		errs = append(errs, errors.New("reason is missing: say in plain words why this route escalates"))
	} else if r.reason, err = compileTemplate(d.Reason); err != nil {
		errs = append(errs, fmt.Errorf("reason %q: %w", d.Reason, err))
	}
	return r, errs
}

// named prefixes every problem with what it is in, so each line of the
// refusal says which route or chain to fix.
func named(what string, problems []error) []error {
	out := make([]error, len(problems))
	for i, p := range problems {
		out[i] = fmt.Errorf("%s: %w", what, p)
	}
	return out
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
