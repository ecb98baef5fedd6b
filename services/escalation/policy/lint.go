package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// LintOptions say what Lint can check beyond the policy itself.
type LintOptions struct {
	// Receivers are the receiver names the notifier is configured with;
	// nil skips the check that chains name only known receivers.
	Receivers []string
	// Brand is the brand of the synthetic complaints the small-account
	// check decides; empty means "example".
	Brand string
}

// Lint reports what is wrong with a policy that parses: routes that can
// never match or that an earlier route always shadows, chains no route
// uses, chain levels naming receivers the notifier does not have (errors,
// since the page would go elsewhere), and a policy under which a first
// complaint from a small account opens no case. Everything but unknown
// receivers is a warning.
//
// Lint is sound but shallow: a route it calls dead is dead, but it finds
// only what it can see in the shape of the expressions (see cond).
func Lint(p *Policy, o LintOptions) []Problem {
	var out []Problem
	out = append(out, p.lintRoutes()...)
	out = append(out, p.lintChains(o.Receivers)...)
	out = append(out, p.lintSmallAccounts(o.Brand)...)
	slices.SortStableFunc(out, func(a, b Problem) int { return a.Line - b.Line })
	return out
}

// lintRoutes finds routes that can never match.
func (p *Policy) lintRoutes() []Problem {
	var out []Problem
	conds := make([]cond, len(p.routes))
	continues := false // an earlier route can set escalated
	for i := range p.routes {
		r := &p.routes[i]
		conds[i] = newCond(r.match.expr, r.match.info)
		where := fmt.Sprintf("route %q", r.name)
		warn := func(format string, args ...any) {
			out = append(out, Problem{Where: where, Line: r.matchLine, Message: fmt.Sprintf(format, args...), Warning: true})
		}
		if why := conds[i].never(); why != "" {
			warn("can never match: %s", why)
		} else if conds[i].needs(varEscalated) && !continues {
			warn("can never match: it needs escalated, which only an earlier route with continue: true can set, and none comes before it")
		} else if j, ok := p.shadowedBy(i, conds); ok {
			e := &p.routes[j]
			how := "it has no continue: true"
			if e.ignore {
				how = "it is an ignore route"
			}
			warn("is never reached: route %q (line %d) matches whenever this one does and stops evaluation (%s)", e.name, e.line, how)
		}
		if p.surges == nil && mentions(r.match.expr, varSurge) {
			warn("reads surge, but the policy has no surges section, so no incident ever opens and surge.active is never true")
		}
		for _, name := range p.unknownLists(r.match.expr) {
			warn("reads the list %q, but the policy names no such list under lists, so it is never there", name)
		}
		if r.cont && !r.ignore {
			continues = true
		}
	}
	return out
}

// shadowedBy finds an earlier route that stops evaluation whenever route i
// would match. A route that reads escalated is not trusted to shadow: its
// value can change between its position and route i's.
func (p *Policy) shadowedBy(i int, conds []cond) (int, bool) {
	for j := range i {
		e := &p.routes[j]
		if e.cont || mentions(e.match.expr, varEscalated) {
			continue
		}
		if conds[i].implies(conds[j]) {
			return j, true
		}
	}
	return 0, false
}

// lintChains reports chains no route uses, and with the notifier's
// receivers, levels naming receivers it does not have.
func (p *Policy) lintChains(receivers []string) []Problem {
	var out []Problem
	used := map[string]bool{}
	for _, r := range p.routes {
		used[r.chain] = true
	}
	if p.surges != nil {
		used[p.surges.Chain] = true // incidents page through it
	}
	known := map[string]bool{}
	for _, r := range receivers {
		known[r] = true
	}
	for _, name := range slices.Sorted(maps.Keys(p.chains)) {
		where := fmt.Sprintf("chain %q", name)
		if !used[name] {
			out = append(out, Problem{Where: where, Line: p.lines.line("chains", name), Warning: true,
				Message: "no route uses this chain; name it in a route's chain (or team), or remove it"})
		}
		if receivers == nil {
			continue
		}
		for i, l := range p.chains[name].Levels {
			for _, r := range l.Receivers {
				if !known[r] {
					out = append(out, Problem{Where: where, Line: p.lines.line("chains", name, "levels", i, "receivers"),
						Message: fmt.Sprintf("level %d: receiver %q is not in the receivers file (it has %s); the notifier would route the page by team instead",
							i+1, r, listSome(receivers, 8))})
				}
			}
		}
	}
	return out
}

// listSome names up to n of names, sorted.
func listSome(names []string, n int) string {
	names = slices.Sorted(slices.Values(names))
	if len(names) == 0 {
		return "none"
	}
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
	}
	return strings.Join(names, ", ")
}

// smallFollowers is the audience of the synthetic small account.
const smallFollowers = 40

// SmallComplaint is the synthetic input Lint decides to check that a first
// complaint from a small account opens a case: 40 followers against a
// brand's 200,000, a clearly negative complaint, first in its window.
func SmallComplaint(brand string, platform fbv1.Platform, window int64) Input {
	if brand == "" {
		brand = "example"
	}
	return Input{
		Mention: &fbv1.Mention{
			Id: "lint:small", Platform: platform, PlatformId: "small", Brand: brand,
			Author:     &fbv1.Author{Id: "small-account", Handle: "small_account", Followers: smallFollowers},
			Text:       "@" + brand + " my order never arrived and nobody answers",
			Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
		},
		Score: &fbv1.Score{Complaint: 0.9, Compound: -0.6, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE, Toxicity: 0.05, Urgency: 0.2},
		Reach: &fbv1.Reach{Platform: platform, AuthorId: "small-account", Followers: smallFollowers, BrandFollowers: 200_000,
			RelativeToBrand: smallFollowers / 200_000.0, Tier: fbv1.Tier_TIER_LOW},
		History: &fbv1.History{ComplaintsInWindow: 1, UnansweredStreak: 1, WindowSeconds: window},
	}
}

// lintSmallAccounts warns when a first complaint from a small account, on
// some platform, opens no case: nobody would see it until the author
// complained again, loudly.
func (p *Policy) lintSmallAccounts(brand string) []Problem {
	var silent []string
	notComplaint := false
	platforms := []fbv1.Platform{fbv1.Platform_PLATFORM_X, fbv1.Platform_PLATFORM_MASTODON, fbv1.Platform_PLATFORM_BLUESKY, fbv1.Platform_PLATFORM_GENERIC}
	for _, pl := range platforms {
		in := SmallComplaint(brand, pl, int64(p.window.Seconds()))
		notComplaint = notComplaint || !p.Complaint(in.Score)
		if !p.Evaluate(in).Escalate {
			silent = append(silent, strings.ToLower(strings.TrimPrefix(pl.String(), "PLATFORM_")))
		}
	}
	if len(silent) == 0 {
		return nil
	}
	msg := fmt.Sprintf("a first complaint from a small account (%d followers, tier low, complaint 0.9, negative) opens no case on %s",
		smallFollowers, strings.Join(silent, ", "))
	if len(silent) == len(platforms) {
		msg = fmt.Sprintf("a first complaint from a small account (%d followers, tier low, complaint 0.9, negative) opens no case on any platform", smallFollowers)
	}
	if notComplaint {
		msg += "; the complaint expression does not count it as a complaint"
	}
	msg += "; nobody sees it until the author complains again. Add a last route such as `match: complaint && !escalated` to a standard queue"
	return []Problem{{Where: "routes", Line: p.lines.line("routes"), Message: msg, Warning: true}}
}

// unknownLists are the lists an expression reads (author.vip, "name" in
// author.lists) that the policy does not name.
func (p *Policy) unknownLists(e celast.Expr) []string {
	named := map[string]bool{}
	for _, l := range p.lists {
		named[l.Name] = true
	}
	var out []string
	visit(e, func(x celast.Expr) {
		switch {
		case isAuthorField(x, "vip") && !named[VIPList]:
			out = append(out, VIPList)
		case x.Kind() == celast.CallKind && x.AsCall().FunctionName() == operators.In && len(x.AsCall().Args()) == 2:
			args := x.AsCall().Args()
			if name, ok := literal(args[0]); ok && isAuthorField(args[1], "lists") {
				if s, isStr := name.(string); isStr && !named[s] {
					out = append(out, s)
				}
			}
		}
	})
	return slices.Compact(out)
}

// isAuthorField reports whether e is author.<field>.
func isAuthorField(e celast.Expr, field string) bool {
	if e.Kind() != celast.SelectKind || e.AsSelect().FieldName() != field {
		return false
	}
	op := e.AsSelect().Operand()
	return op.Kind() == celast.IdentKind && op.AsIdent() == varAuthor
}
