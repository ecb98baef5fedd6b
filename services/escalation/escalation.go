// Package escalation is the escalation service: it joins each mention's
// score and reach, keeps each author's complaint history, evaluates the
// policy, and opens or updates the author's case, publishing every change on
// <prefix>.cases.<event>. Over gRPC it lists, shows, watches, acknowledges
// and resolves cases and explains decisions.
package escalation

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/insights"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/policy"
	"github.com/firebreak/firebreak/services/escalation/policyfile"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deadletter"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/redrive"
	"github.com/firebreak/firebreak/services/platform/store"
)

// Config is the escalation service's configuration.
type Config struct {
	config.Common
	// PolicyFile is the YAML policy; policyfile.Default (or empty) runs
	// the shipped one.
	PolicyFile string
	// ShadowPolicyFile is a candidate policy evaluated beside the live one
	// and recorded, never acted on.
	ShadowPolicyFile string
	// PolicyCheck is how often the policy files are checked for changes.
	PolicyCheck time.Duration
	Reopen      time.Duration
	DecisionTTL time.Duration
	// CaseRetention is how long a resolved case, its timeline and its
	// index entries are kept after its last change; 0 keeps them for ever.
	CaseRetention time.Duration
	MaxInFlight   int
	// TimerTick is how often due chain levels are looked for.
	TimerTick time.Duration
	// JoinTimeout is how long a mention waits for its score or reach.
	JoinTimeout time.Duration
	// AckWait is how late a part in flight on a replica that died is
	// handled by another (bus.MentionAckWait).
	AckWait time.Duration
	// SurgeLook is how often brands with an open incident are looked at,
	// so an incident resolves when complaints stop.
	SurgeLook time.Duration

	// Clock is the time the service decides, holds and fires chain levels
	// by; nil is the system clock. Not a flag: tests that run the whole
	// stack set it to move time on without waiting.
	Clock clock.Clock

	// leaseWork, when not zero, replaces the bound on the work under a
	// timer's lease (tests; a negative bound is out of time at once, where
	// a tiny positive one would race the context's timer).
	leaseWork time.Duration
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "escalation", ":8083", ":9093")
	c.Common.RegisterRedisDurability(fs)
	fs.StringVar(&c.PolicyFile, "policy-file", policyfile.Default, `YAML escalation policy, or "default" for the shipped one; a file is reloaded when it changes`)
	fs.StringVar(&c.ShadowPolicyFile, "shadow-policy-file", "", "candidate policy run beside the live one: its decisions are recorded and compared, never acted on")
	fs.DurationVar(&c.PolicyCheck, "policy-check-interval", 5*time.Second, "how often the policy files are checked for changes")
	fs.DurationVar(&c.Reopen, "reopen-within", cases.DefaultReopen, "a complaint this soon after a case is resolved reopens it")
	fs.DurationVar(&c.DecisionTTL, "decision-ttl", 72*time.Hour, "how long decisions are kept for redeliveries and explain calls")
	fs.DurationVar(&c.CaseRetention, "case-retention", 90*24*time.Hour, "how long a resolved case and its timeline are kept after its last change (0: for ever)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 128, "messages handled at once")
	fs.DurationVar(&c.TimerTick, "timer-tick", 200*time.Millisecond, "how often due escalation levels are looked for")
	fs.DurationVar(&c.JoinTimeout, "join-timeout", 10*time.Second, "how long a mention waits for its score or reach before it is decided without it")
	fs.DurationVar(&c.AckWait, "ack-wait", bus.MentionAckWait, "how soon a score or reach in flight on a replica that died is taken up by another; keep-alives hold a long handling")
	fs.DurationVar(&c.SurgeLook, "surge-look-interval", defaultSurgeLook, "how often brands with an open incident are looked at, so incidents resolve when complaints stop")
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	if _, err := loadPolicy(c.PolicyFile); err != nil {
		p.Add("policy-file", err.Error())
	}
	if c.ShadowPolicyFile != "" {
		if _, err := loadPolicy(c.ShadowPolicyFile); err != nil {
			p.Add("shadow-policy-file", err.Error())
		}
	}
	p.Check(c.PolicyCheck >= 100*time.Millisecond, "policy-check-interval", "must be at least 100ms")
	p.Check(c.Reopen >= 0, "reopen-within", "must not be negative")
	p.Check(c.DecisionTTL >= bus.DuplicateWindow, "decision-ttl", "must be at least 2m, and longer than the longest redelivery")
	p.Check(c.CaseRetention == 0 || c.CaseRetention > c.Reopen, "case-retention", "must be longer than --reopen-within (a resolved case must be there to reopen), or 0 to keep cases for ever")
	p.Check(c.MaxInFlight >= 1, "max-in-flight", "must be at least 1")
	p.Check(c.JoinTimeout >= time.Second, "join-timeout", "must be at least 1s")
	p.Check(c.AckWait >= time.Second && c.AckWait <= bus.MaxMentionAckWait, "ack-wait", bus.MentionAckWaitFix)
	// A part can be late by scorer's or reach's ack-wait, then by this
	// one's if the escalation replica holding it dies too.
	p.Check(c.JoinTimeout >= 3*c.AckWait, "join-timeout", fmt.Sprintf("must be at least three times --ack-wait (%s): a score or reach in flight on a scorer or reach replica that dies, then on an escalation replica that dies, comes two ack-waits late and would be decided without; raise --join-timeout or lower --ack-wait here and in scorer and reach", c.AckWait))
	p.Check(c.SurgeLook == 0 || c.SurgeLook >= 10*time.Millisecond, "surge-look-interval", "must be at least 10ms")
	p.Check(c.TimerTick > 0 && c.TimerTick <= 5*time.Second, "timer-tick", "must be between 1ms and 5s; levels fire up to one tick late")
	return p.Err()
}

func loadPolicy(path string) (*policy.Policy, error) {
	p, err := policyfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy %s refused: %w", path, err)
	}
	return p, nil
}

// Service is a running escalation service.
type Service struct {
	cfg             Config
	d               *deps.Deps
	store           *ledger.Store
	silences        *ledger.Silences
	surges          *ledger.Surges
	silenceCache    silenceCache
	policy          atomic.Pointer[policy.Policy]
	shadow          atomic.Pointer[policy.Policy]
	*lifecycle.Unit // servers and workers: Start, Stop, HTTPAddr, GRPCAddr
	clock           clock.Clock
	// leaseWork bounds the work on a batch of claimed timers (leaseWork).
	leaseWork time.Duration
	// mentions are the join's consumers, whose failures say the bus is
	// failing (see holdJoin).
	mentions *bus.MentionConsumers

	decisions   metric.Int64Counter
	escalations metric.Int64Counter
	chainFired  metric.Int64Counter
	shadowCount metric.Int64Counter
	firstAnswer metric.Float64Histogram
	breaches    metric.Int64Counter
	cases       caseCounters
	incidents   metric.Int64Counter
	watchers    watchers // open WatchCases streams per caller
	// tally keeps the insights' counts; liveState and shadowState what
	// this replica knows of the policy files' reloads.
	tally       *insights.Tally
	liveState   policyState
	shadowState policyState
	fbv1.UnimplementedEscalationServiceServer
}

// New builds the service and binds its ports.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	// The first half of a join and the chain timers are acked once Redis
	// has them, so Redis must persist.
	if err := store.CheckDurability(ctx, d.Redis, cfg.RedisDurability, d.Tel.Logger); err != nil {
		return nil, err
	}
	pol, err := loadPolicy(cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, d: d, store: ledger.New(d.Redis, d.Keys, cfg.DecisionTTL, cfg.JoinTimeout), clock: clock.Or(cfg.Clock),
		tally: insights.New(d.Keys), leaseWork: leaseWork}
	if cfg.leaseWork != 0 {
		s.leaseWork = cfg.leaseWork
	}
	s.store.Retention = cfg.CaseRetention
	s.silences = ledger.NewSilences(d.Redis, d.Keys, silenceKeep)
	s.store.Watch = s.silences.VersionKey()
	s.surges = ledger.NewSurges(d.Redis, d.Keys)
	s.policy.Store(pol)
	s.liveState.loaded(cfg.PolicyFile, s.clock.Now())
	if moved, err := s.store.MigrateIndexes(context.Background()); err != nil {
		return nil, err
	} else if moved > 0 {
		d.Tel.Logger.Info("moved an older release's index entries into their shards", "entries", moved)
	}
	if indexed, err := s.store.IndexCaseFields(context.Background()); err != nil {
		return nil, err
	} else if indexed > 0 {
		d.Tel.Logger.Info("indexed the fields of cases an older release or an interrupted save left unindexed", "cases", indexed)
	}
	if err := s.metrics(); err != nil {
		return nil, err
	}
	workers, err := s.reloaders(cfg)
	if err != nil {
		return nil, err
	}
	consumer, err := bus.NewMentionConsumers(ctx, d.JS, d.Publisher, d.Tel, d.Names, bus.ConsumerConfig{
		Service: "escalation", Purpose: "join", Subjects: []string{d.Names.Scored(), d.Names.Reached(), d.Names.Spread()},
		MaxInFlight: cfg.MaxInFlight, AckWait: cmp.Or(cfg.AckWait, bus.MentionAckWait),
		DeadLetter: d.Names.DeadLetter("escalation"), Ready: d.Ready, Batch: s.handleBatch,
		OnFailure: d.Trouble.Note,
	})
	if err != nil {
		return nil, err
	}
	s.mentions = consumer
	commands, err := bus.NewConsumer(ctx, d.JS, d.Publisher, d.Tel, bus.ConsumerConfig{
		Service: "escalation", Purpose: "commands",
		Stream: d.Names.Stream(bus.NounCommands), Subjects: []string{d.Names.CaseCommands()},
		MaxInFlight: 8, DeadLetter: d.Names.DeadLetter("escalation"), Ready: d.Ready, Handler: s.handleCommand,
		OnFailure: d.Trouble.Note,
	})
	if err != nil {
		return nil, err
	}
	unit, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	fbv1.RegisterEscalationServiceServer(unit.GRPC, s)
	fbv1.RegisterRedriveServiceServer(unit.GRPC, redrive.New(d.JS, "escalation", s.redrive))
	fbv1.RegisterDeadLetterServiceServer(unit.GRPC, deadletter.New(d.JS, d.Names, "escalation", func(ctx context.Context, msg jetstream.Msg) error {
		if msg.Subject() == d.Names.CaseCommands() {
			return s.handleCommand(ctx, msg)
		}
		return s.handle(ctx, msg)
	}))
	// Timers start after the consumer and stop before it.
	unit.Workers = append(workers, consumer, commands, s.timers(cfg.TimerTick), s.trimmer(), s.incidentLooks(cmp.Or(cfg.SurgeLook, defaultSurgeLook)))
	unit.HTTP.AddCheck(consumer.Ready)
	unit.HTTP.AddCheck(commands.Ready)
	s.Unit = unit
	d.Tel.Logger.Info("policy loaded", "version", pol.Version(), "file", cfg.PolicyFile)
	return s, nil
}

// reloaders loads the shadow policy and watches both policy files.
func (s *Service) reloaders(cfg Config) ([]lifecycle.Part, error) {
	var parts []lifecycle.Part
	if cfg.ShadowPolicyFile != "" {
		shadow, err := loadPolicy(cfg.ShadowPolicyFile)
		if err != nil {
			return nil, err
		}
		s.shadow.Store(shadow)
		s.shadowState.loaded(cfg.ShadowPolicyFile, s.clock.Now())
		r, err := s.newReloader("shadow", cfg.ShadowPolicyFile, &s.shadow, &s.shadowState)
		if err != nil {
			return nil, err
		}
		parts = append(parts, r)
	}
	if !policyfile.IsDefault(cfg.PolicyFile) {
		r, err := s.newReloader("live", cfg.PolicyFile, &s.policy, &s.liveState)
		if err != nil {
			return nil, err
		}
		parts = append(parts, r)
	}
	return parts, nil
}

func (s *Service) metrics() error {
	meter := s.d.Tel.Meter.Meter("firebreak/escalation")
	var err1, err2, err3, err4, err5, err6, err7, err8 error
	s.decisions, err1 = meter.Int64Counter("firebreak.decisions", metric.WithDescription("mentions decided, by route and whether they escalated"))
	s.escalations, err2 = meter.Int64Counter("firebreak.escalations",
		metric.WithDescription("escalating decisions by the author's reach tier, to show whom the policy favours"))
	s.chainFired, err3 = meter.Int64Counter("firebreak.chain.levels.fired", metric.WithDescription("escalation chain levels fired because nobody acknowledged in time"))
	s.shadowCount, err4 = meter.Int64Counter("firebreak.shadow.decisions",
		metric.WithDescription("shadow policy decisions, by how they compare with the live ones"))
	s.firstAnswer, err5 = meter.Float64Histogram("firebreak.first_response.duration", metric.WithUnit("s"),
		metric.WithDescription("time from a case opening to the brand's first answer, by brand and priority"),
		metric.WithExplicitBucketBoundaries(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400))
	s.breaches, err6 = meter.Int64Counter("firebreak.first_response.breaches",
		metric.WithDescription("cases whose first-response target passed with no answer, by brand and priority"))
	s.cases, err7 = newCaseCounters(meter)
	s.incidents, err8 = meter.Int64Counter("firebreak.incidents",
		metric.WithDescription("incidents opened and resolved, by brand and kind (outage or pile-on): a surge of complaints from many authors"))
	return errors.Join(err1, err2, err3, err4, err5, err6, err7, err8)
}

// publish sends case events; their ids are deterministic, so publishing
// them again after a crash is deduplicated by the broker and the notifier.
func (s *Service) publish(ctx context.Context, events ...*fbv1.CaseEvent) error {
	return s.publishTraced(ctx, events, nil)
}

// publishTraced is publish with the send span of events[i] a child of
// parents[i] where one is given: in a batch, the span of the message that
// caused the event (see bus.SpanOf).
func (s *Service) publishTraced(ctx context.Context, events []*fbv1.CaseEvent, parents []trace.SpanContext) error {
	if len(events) == 0 {
		return nil
	}
	out := make([]bus.Event, len(events))
	for i, e := range events {
		name := cases.EventName(e.Type)
		out[i] = bus.Event{
			Subject: s.d.Names.Case(name),
			MsgID:   e.Id,
			Type:    bus.CaseEventType(name),
			Headers: map[string]string{bus.HeaderCaseID: e.Case.GetId(), bus.HeaderMentionID: e.MentionId},
			Message: e,
		}
		if i < len(parents) {
			out[i].Parent = parents[i]
		}
	}
	results, err := s.d.Publisher.Publish(ctx, out...)
	s.cases.count(ctx, events, results)
	return err
}

func (s *Service) count(ctx context.Context, d *fbv1.Decision) {
	s.decisions.Add(ctx, 1, metric.WithAttributes(attribute.String("route", d.Route), attribute.Bool("escalate", d.Escalate),
		attribute.Bool("partial", len(d.Missing) > 0)))
	if d.Escalate {
		s.escalations.Add(ctx, 1, metric.WithAttributes(attribute.String("tier", d.Reach.GetTier().String()), attribute.String("team", d.Team)))
	}
}
