package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/clock"
	"golang.org/x/time/rate"
)

// Receiver is one configured destination and how to reach it.
type Receiver struct {
	Name string
	Type string
	// SendResolved says whether the receiver hears of acknowledgements and
	// resolutions, not only pages.
	SendResolved bool
	// IncludePrivate lets the receiver carry private messages' texts;
	// otherwise they are taken out (WithoutPrivate).
	IncludePrivate bool
	Notifier       Notifier
	// Limit and Burst bound the receiver's send rate; a zero Limit means no
	// limit.
	Limit   rate.Limit
	Burst   int
	Backoff Backoff
}

// Chain builds the receiver's stages, read top to bottom: skip what was
// delivered (claiming the rest), wait for the rate limit and try until done
// while the claims are held, record every attempt.
func (r Receiver) Chain(log Log, clk clock.Clock) Stage {
	return MultiStage{
		DedupStage{Log: log},
		HoldStage{Log: log, Then: MultiStage{
			RateLimitStage{Log: log, Limit: r.Limit, Burst: r.Burst, Clock: clk},
			RetryStage{Notifier: r.Notifier, Backoff: r.Backoff, Clock: clk},
		}},
		RecordStage{Log: log},
	}
}

// ReceiverStage binds a receiver to its chain: it addresses the notification
// to the receiver, runs the chain, and reports the result.
type ReceiverStage struct {
	Name, Type     string
	Chain          Stage
	Fallback       bool
	IncludePrivate bool
}

// Exec delivers n to the receiver and returns the notification as
// addressed, with the receiver's result: the chain's, or suppressed when
// the chain ended early because the receiver was told already.
func (s ReceiverStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	addressed := *n
	addressed.Receiver, addressed.ReceiverType = s.Name, s.Type
	if !s.IncludePrivate {
		addressed.Events = WithoutPrivate(n.Events)
	}
	addressed.DedupKey = GroupKey(addressed.Events, s.Name)
	addressed.Result = Result{Receiver: s.Name, ReceiverType: s.Type, DedupKey: addressed.DedupKey, Events: addressed.Events, Fallback: s.Fallback}
	out, err := s.Chain.Exec(ctx, &addressed)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = &addressed
		out.Result.Outcome = fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED
	}
	if n.results != nil {
		n.results.add(out.Result)
	}
	return out, nil
}

// Router picks the receivers of a team at an escalation level, and the
// team's fallback receiver ("" when it has none).
type Router interface {
	Route(team string, level int32) []string
	Fallback(team string) string
}

// Pipeline delivers case events to the receivers their route names.
type Pipeline struct {
	router    Router
	receivers map[string]receiverEntry
	linkBase  string
}

type receiverEntry struct {
	Receiver
	chain Stage
}

// NewPipeline builds one chain per receiver; each keeps its rate limiter for
// the life of the pipeline. linkBase is the console's URL for case links.
func NewPipeline(receivers []Receiver, router Router, log Log, clk clock.Clock, linkBase string) *Pipeline {
	p := &Pipeline{router: router, receivers: make(map[string]receiverEntry, len(receivers)), linkBase: linkBase}
	for _, r := range receivers {
		p.receivers[r.Name] = receiverEntry{Receiver: r, chain: r.Chain(log, clk)}
	}
	return p
}

// Deliver tells ev's receivers about it: its chain level's, or those routed
// for its case's team and level. See DeliverGroup.
func (p *Pipeline) Deliver(ctx context.Context, ev *fbv1.CaseEvent) ([]Result, error) {
	return p.DeliverGroup(ctx, []*fbv1.CaseEvent{ev})
}

// DeliverGroup tells each event's receivers about it, the events that share
// receivers in one notification (grouping holds one team's cases together
// whatever level of their chain they are at; all must share an action). An
// event's receivers are its chain level's when the pipeline knows them all,
// and otherwise its team's at its level: a level-2 escalation held beside
// level-1 openings still pages level 2. Receivers run side by side. When
// any fails after its last attempt, the team's fallback receiver is tried
// too, and its result comes after the others with Fallback set. Failed
// results are for the caller to turn into failed-delivery events; an error
// means the outcome is unknown and the caller should retry the whole
// delivery later, which dedup makes safe.
func (p *Pipeline) DeliverGroup(ctx context.Context, events []*fbv1.CaseEvent) ([]Result, error) {
	if len(events) == 0 || ActionOf(events[0]) == ActionNone {
		return nil, nil
	}
	var order []string
	parts := map[string][]*fbv1.CaseEvent{}
	targets := map[string][]string{}
	for _, ev := range events {
		names := p.targets(ev)
		key := strings.Join(names, "\x00")
		if _, ok := parts[key]; !ok {
			order = append(order, key)
			targets[key] = names
		}
		parts[key] = append(parts[key], ev)
	}
	var all []Result
	for _, key := range order {
		evs := parts[key]
		team := evs[0].GetCase().GetTeam()
		names, err := p.pick(targets[key], ActionOf(evs[0]))
		if err != nil {
			return all, fmt.Errorf("route team %q level %d: %w", team, Level(evs[0]), err)
		}
		results, err := p.withFallback(ctx, evs, names, team)
		all = append(all, results...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// targets are the receivers an event pages: its chain level's when every
// one is configured, otherwise its team's at its level.
func (p *Pipeline) targets(ev *fbv1.CaseEvent) []string {
	if len(ev.GetReceivers()) > 0 && p.Knows(ev.GetReceivers()) {
		return ev.GetReceivers()
	}
	return p.router.Route(ev.GetCase().GetTeam(), Level(ev))
}

// withFallback delivers to names and, if any fails after its last attempt,
// to the team's fallback receiver too.
func (p *Pipeline) withFallback(ctx context.Context, events []*fbv1.CaseEvent, names []string, team string) ([]Result, error) {
	results, err := p.fanout(ctx, events, names, false)
	if err != nil || !anyFailed(results) {
		return results, err
	}
	fb := p.router.Fallback(team)
	if fb == "" || slices.Contains(names, fb) {
		return results, nil
	}
	fallback, err := p.pick([]string{fb}, ActionOf(events[0]))
	if err != nil {
		return results, fmt.Errorf("fallback of team %q: %w", team, err)
	}
	more, err := p.fanout(ctx, events, fallback, true)
	return append(results, more...), err
}

// DeliverTo tells the named receivers about ev, as an escalation chain level
// names them, instead of routing by team and level. Unknown names are an
// error. A failure still falls back to the team's fallback receiver.
func (p *Pipeline) DeliverTo(ctx context.Context, ev *fbv1.CaseEvent, names []string) ([]Result, error) {
	if ActionOf(ev) == ActionNone {
		return nil, nil
	}
	picked, err := p.pick(names, ActionOf(ev))
	if err != nil {
		return nil, fmt.Errorf("level %d of case %s: %w", Level(ev), ev.GetCase().GetId(), err)
	}
	return p.withFallback(ctx, []*fbv1.CaseEvent{ev}, picked, ev.GetCase().GetTeam())
}

// Knows reports whether every name is a configured receiver.
func (p *Pipeline) Knows(names []string) bool {
	for _, n := range names {
		if _, ok := p.receivers[n]; !ok {
			return false
		}
	}
	return len(names) > 0
}

// pick keeps the receivers that want this action and fails on unknown names,
// which config validation should have caught.
func (p *Pipeline) pick(names []string, action Action) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, name := range names {
		r, ok := p.receivers[name]
		if !ok {
			return nil, fmt.Errorf("receiver %q is not configured; add it to receivers or remove it from the route", name)
		}
		if action == ActionTrigger || r.SendResolved {
			out = append(out, name)
		}
	}
	return out, nil
}

func (p *Pipeline) fanout(ctx context.Context, events []*fbv1.CaseEvent, names []string, fallback bool) ([]Result, error) {
	stages := make(FanoutStage, len(names))
	for i, name := range names {
		r := p.receivers[name]
		stages[i] = ReceiverStage{Name: r.Name, Type: r.Type, Chain: r.chain, Fallback: fallback, IncludePrivate: r.IncludePrivate}
	}
	n := &Notification{Events: events, LinkBase: p.linkBase, results: &resultSet{}}
	_, err := stages.Exec(ctx, n)
	results := n.results.list()
	// Receivers finish in any order; report them in route order.
	slices.SortStableFunc(results, func(a, b Result) int {
		return slices.Index(names, a.Receiver) - slices.Index(names, b.Receiver)
	})
	return results, err
}

func anyFailed(results []Result) bool {
	return slices.ContainsFunc(results, Result.Failed)
}
