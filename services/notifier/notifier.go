// Package notifier is the notifier service: it delivers case events to the
// receivers routed for the case's team and escalation level, retries safely,
// never pages the same level of a case twice, and records every delivery.
package notifier

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/deliverylog"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deadletter"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/redrive"
	"github.com/firebreak/firebreak/services/platform/store"
)

// Config is the notifier's configuration.
type Config struct {
	config.Common
	// ReceiversFile is the YAML of receivers, routing and fallbacks.
	ReceiversFile string
	// WebhookURL, when set, is a generic webhook receiver for every team and
	// level: the simplest setup, for when there is no receivers file.
	WebhookURL        string
	WebhookSecretFile string
	// SlackSigningSecretFile and PagerDutyWebhookSecretFile enable the
	// endpoints through which a Slack button or a PagerDuty incident
	// acknowledges or resolves a case.
	SlackSigningSecretFile     string
	PagerDutyWebhookSecretFile string
	// SlackUsersFile maps Slack user ids to Firebreak users and roles; a
	// click by anyone else is refused.
	SlackUsersFile string
	LinkBase       string
	DedupTTL       time.Duration
	MaxInFlight    int
	AckWait        time.Duration
	// GroupTick is how often held groups are looked at.
	GroupTick time.Duration

	// refreshBound, when set, replaces the bound on posting alerts again
	// under a claim (tests).
	refreshBound time.Duration
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "notifier", ":8084", ":9094")
	c.Common.RegisterRedisDurability(fs)
	fs.StringVar(&c.ReceiversFile, "receivers-file", "", "YAML file of receivers (PagerDuty, Slack, Alertmanager, webhook, email), routing by team and level, and fallbacks")
	fs.StringVar(&c.WebhookURL, "webhook-url", "", "URL of a generic webhook told about every case event (when there is no receivers file)")
	fs.StringVar(&c.SlackSigningSecretFile, "slack-signing-secret-file", "", "file with Slack's signing secret; enables POST /v1/slack/interactions (the Acknowledge, Snooze 1h and Resolve buttons)")
	fs.StringVar(&c.SlackUsersFile, "slack-users-file", "", "YAML file mapping Slack user ids to Firebreak users and roles (U0CA5: {user: amy@example.com, role: responder}); clicks by anyone else are refused")
	fs.StringVar(&c.PagerDutyWebhookSecretFile, "pagerduty-webhook-secret-file", "", "file with the PagerDuty v3 webhook secret; enables POST /v1/pagerduty/webhook (acknowledge and resolve from PagerDuty)")
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", "", "file with the HMAC secret that signs webhook requests")
	fs.StringVar(&c.LinkBase, "link-base", "", "base URL of case links in notifications, e.g. https://firebreak.example.com")
	fs.DurationVar(&c.DedupTTL, "dedup-ttl", 30*24*time.Hour, "how long a delivery is remembered so it is never repeated")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 64, "case events delivered at once")
	fs.DurationVar(&c.AckWait, "ack-wait", 30*time.Second, "how soon a delivery in progress on a replica that died is taken up by another")
	fs.DurationVar(&c.GroupTick, "group-tick", 250*time.Millisecond, "how often held groups are checked for sending")
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	p.Check(c.ReceiversFile == "" || c.WebhookURL == "", "webhook-url", "cannot be used with --receivers-file; add the webhook to the receivers file")
	p.Check(c.DedupTTL >= time.Hour, "dedup-ttl", "must be at least 1h")
	p.Check(c.MaxInFlight >= 1, "max-in-flight", "must be at least 1")
	p.Check(c.AckWait >= 10*time.Second, "ack-wait", "must be at least 10s")
	p.Check(c.GroupTick > 0, "group-tick", "must be positive, e.g. 250ms")
	return p.Err()
}

// A notification is tried up to maxDeliver times, each try with its own
// receiver retries; the many tries give a replica that waits out another's
// claim (inFlightRetry apart) longer than notify.ClaimTTL, and ride out a
// Redis or NATS outage of several minutes before dead-lettering.
const (
	maxDeliver    = 20
	inFlightRetry = 2 * time.Second
)

func groupTick(d time.Duration) time.Duration {
	if d <= 0 {
		return 250 * time.Millisecond
	}
	return d
}

// Service is a running notifier.
type Service struct {
	cfg       Config
	d         *deps.Deps
	log       *deliverylog.Log
	pipeline  *notify.Pipeline
	receivers map[string]notify.Receiver
	linkBase  string
	router    notify.Router
	clock     clock.Clock
	// refreshBound bounds the posts of one claimed batch of alerts.
	refreshBound time.Duration
	deliveries   metric.Int64Counter
	pages        pages
	silenced     metric.Int64Counter
	// slackBots are the Slack receivers whose messages can be updated;
	// slackClient posts to clicks' response_urls.
	slackBots       map[string]*slack.Notifier
	slackClient     *http.Client
	*lifecycle.Unit // servers and workers: Start, Stop, HTTPAddr, GRPCAddr
	fbv1.UnimplementedNotifierServiceServer
}

// New builds the service and binds its ports.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	// Held storm events and the delivery log are acked once Redis has
	// them, so Redis must persist.
	if err := store.CheckDurability(ctx, d.Redis, cfg.RedisDurability, d.Tel.Logger); err != nil {
		return nil, err
	}
	rt, err := buildRouting(cfg, d.Tel)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, d: d, log: deliverylog.New(d.Redis, d.Keys, cfg.DedupTTL), receivers: map[string]notify.Receiver{}, linkBase: rt.linkBase, router: rt.router, clock: clock.System{},
		refreshBound: refreshBound}
	if cfg.refreshBound > 0 {
		s.refreshBound = cfg.refreshBound
	}
	slackReceivers := map[string]*slack.Notifier{}
	for _, r := range rt.receivers {
		s.receivers[r.Name] = r
		if n, ok := r.Notifier.(*slack.Notifier); ok {
			slackReceivers[r.Name] = n
		}
	}
	s.slackBots, s.slackClient = slackBots(slackReceivers), newSlackClient(tracedTransport(d.Tel))
	s.pipeline = notify.NewPipeline(rt.receivers, rt.router, s.log, s.clock, rt.linkBase)
	if err := s.migrateGroups(context.Background()); err != nil {
		return nil, err
	}
	if err := s.metrics(); err != nil {
		return nil, err
	}
	consumer, err := bus.NewConsumer(ctx, d.JS, d.Publisher, d.Tel, bus.ConsumerConfig{
		Service: "notifier", Purpose: "cases",
		Stream: d.Names.Stream(bus.NounCases), Subjects: []string{d.Names.All(bus.NounCases)},
		MaxInFlight: cfg.MaxInFlight, AckWait: cfg.AckWait, MaxDeliver: maxDeliver,
		DeadLetter: d.Names.DeadLetter("notifier"), Ready: d.Ready, Handler: s.handle,
	})
	if err != nil {
		return nil, err
	}
	unit, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	fbv1.RegisterNotifierServiceServer(unit.GRPC, s)
	fbv1.RegisterDeadLetterServiceServer(unit.GRPC, deadletter.New(d.JS, d.Names, "notifier", s.handle))
	fbv1.RegisterRedriveServiceServer(unit.GRPC, redrive.New(d.JS, "notifier", s.redrive))
	if err := s.mountCallbacks(unit.HTTP); err != nil {
		unit.Close()
		return nil, err
	}
	unit.Workers = []lifecycle.Part{consumer, &lifecycle.Every{Interval: groupTick(cfg.GroupTick), Do: s.flushDue},
		&lifecycle.Every{Interval: refreshTick, Do: s.refreshDue}}
	unit.HTTP.AddCheck(consumer.Ready)
	s.Unit = unit
	return s, nil
}

func (s *Service) metrics() error {
	var err error
	meter := s.d.Tel.Meter.Meter("firebreak/notifier")
	s.deliveries, err = meter.Int64Counter("firebreak.deliveries",
		metric.WithDescription("notifications by receiver, outcome and failure reason"))
	if err != nil {
		return err
	}
	s.silenced, err = meter.Int64Counter("firebreak.notifications.silenced",
		metric.WithDescription("case events a silence muted, by event type: recorded, nobody paged"))
	if err != nil {
		return err
	}
	s.pages, err = newPages(meter)
	return err
}

func (s *Service) handle(ctx context.Context, msg jetstream.Msg) error {
	var ev fbv1.CaseEvent
	if err := bus.Decode(msg, &ev); err != nil {
		return err
	}
	if ev.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_DELIVERY_FAILED {
		return nil // our own report; nobody to tell
	}
	if err := s.forgetResolved(ctx, &ev); err != nil {
		return err
	}
	if ev.Silenced != nil {
		// Escalation decided, once and for every replica, that a silence
		// mutes this event; it is on the case's timeline, not on a pager.
		s.silenced.Add(ctx, 1, metric.WithAttributes(attribute.String("type", strings.ToLower(strings.TrimPrefix(ev.Type.String(), "CASE_EVENT_TYPE_")))))
		s.d.Tel.Logger.DebugContext(ctx, "silenced; nobody paged", "case", ev.Case.GetId(), "event", ev.Id, "silence", ev.Silenced.Id)
		return nil
	}
	// Whoever took the case, the channel sees it (best effort).
	s.updateSlack(ctx, &ev)
	if ev.Quiet {
		// The case joined an open incident through a quiet route: the
		// incident paged once for all of them.
		s.d.Tel.Logger.DebugContext(ctx, "quiet; nobody paged", "case", ev.Case.GetId(), "event", ev.Id, "incident", ev.Case.GetIncidentId())
		return nil
	}
	if held, err := s.hold(ctx, &ev); err != nil || held {
		return err // a held event goes out with its team's group
	}
	results, err := s.deliver(ctx, &ev)
	if errors.Is(err, notify.ErrInFlight) {
		// Another replica is sending it, or a failed try's claim has not
		// run out yet: look again soon, when the log will most likely say
		// it went out. However many looks that takes, it is never a reason
		// to dead-letter.
		return bus.Unavailable(bus.RetryAfter(err, inFlightRetry))
	}
	if err != nil {
		return err // outcome unknown; dedup makes the redelivery safe
	}
	s.catchUpSlack(ctx, &ev, results)
	if err := s.report(ctx, &ev, results); err != nil {
		return err
	}
	return keepOwed(msg, results)
}

// owedFor is how long a page a receiver failed to take (down, throttling,
// timing out) stays owed: the event is redelivered with backoff and the
// receiver tried again, the receivers already told skipped by the delivery
// log, until it takes the page or this much time has passed since the
// event. The fallback and the delivery_failed event still come at the
// first failure.
const owedFor = 15 * time.Minute

// keepOwed asks for a redelivery of msg while one of its pages failed for a
// reason that passes (a receiver down, throttling or timing out), no
// fallback took it, and the event is younger than owedFor.
func keepOwed(msg jetstream.Msg, results []notify.Result) error {
	var owed []string
	for _, r := range results {
		if r.Fallback && (r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED || r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED) {
			return nil // someone on the team was told, now or before
		}
		switch r.Reason() {
		case notify.ReasonTimeout, notify.ReasonRateLimited, notify.ReasonServerError, notify.ReasonNetwork:
			if r.Failed() {
				owed = append(owed, r.Receiver)
			}
		}
	}
	if len(owed) == 0 {
		return nil
	}
	if meta, err := msg.Metadata(); err == nil && time.Since(meta.Timestamp) > owedFor {
		return nil
	}
	return bus.Unavailable(fmt.Errorf("receivers %s did not take the page; it stays owed for up to %s", strings.Join(owed, ", "), owedFor))
}

// deliver sends ev to the receivers its chain level names, when the
// notifier knows them all, and otherwise by the team and level routing.
func (s *Service) deliver(ctx context.Context, ev *fbv1.CaseEvent) ([]notify.Result, error) {
	if len(ev.Receivers) > 0 {
		if s.pipeline.Knows(ev.Receivers) {
			return s.pipeline.DeliverTo(ctx, ev, ev.Receivers)
		}
		s.d.Tel.Logger.DebugContext(ctx, "chain names receivers this notifier lacks; routing by team and level",
			"case", ev.Case.GetId(), "receivers", ev.Receivers)
	}
	return s.pipeline.Deliver(ctx, ev)
}

// report publishes every attempt on notifications.<outcome>, and a
// delivery_failed case event for each receiver that could not be told.
func (s *Service) report(ctx context.Context, ev *fbv1.CaseEvent, results []notify.Result) error {
	s.pages.count(ctx, ev, results)
	if err := s.trackAlerts(ctx, results); err != nil {
		return err
	}
	var events []bus.Event
	for _, r := range results {
		s.deliveries.Add(ctx, 1, metric.WithAttributes(attribute.String("receiver", r.Receiver), attribute.String("type", r.ReceiverType),
			attribute.String("outcome", deliveryOutcome(r.Outcome)), attribute.String("reason", string(r.Reason()))))
		for _, d := range notify.Deliveries(r) {
			outcome := deliveryOutcome(d.Outcome)
			events = append(events, bus.Event{
				Subject: s.d.Names.Notification(outcome), MsgID: bus.MsgID(d.Id, outcome), Type: bus.NotificationType(outcome),
				Headers: map[string]string{bus.HeaderCaseID: d.CaseId}, Message: d,
			})
		}
		if r.Failed() {
			failed := &fbv1.CaseEvent{
				Id:    ev.Id + ":delivery_failed:" + r.Receiver,
				Type:  fbv1.CaseEventType_CASE_EVENT_TYPE_DELIVERY_FAILED,
				Case:  ev.Case,
				Note:  fmt.Sprintf("receiver %s was not told after %d attempts: %v", r.Receiver, len(r.Attempts), r.Err()),
				Level: ev.Level,
				At:    timestamppb.Now(),
			}
			events = append(events, bus.Event{
				Subject: s.d.Names.Case("delivery_failed"), MsgID: failed.Id, Type: "case.delivery_failed",
				Headers: map[string]string{bus.HeaderCaseID: ev.Case.GetId()}, Message: failed,
			})
		}
	}
	if len(events) == 0 {
		return nil
	}
	_, err := s.d.Publisher.Publish(ctx, events...)
	return err
}

func deliveryOutcome(o fbv1.DeliveryOutcome) string {
	switch o {
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED:
		return "delivered"
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING:
		return "retrying"
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED:
		return "suppressed"
	}
	return "failed"
}

// ListDeliveries returns the delivery log of a case.
func (s *Service) ListDeliveries(ctx context.Context, req *fbv1.ListDeliveriesRequest) (*fbv1.ListDeliveriesResponse, error) {
	if req.CaseId == "" {
		return nil, status.Error(codes.InvalidArgument, "case_id is required")
	}
	list, err := s.log.Case(ctx, req.CaseId)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &fbv1.ListDeliveriesResponse{Deliveries: list}, nil
}

// maxStatsDays bounds the period GetDeliveryStats counts.
const maxStatsDays = 14

// GetDeliveryStats counts each configured receiver's pages by outcome over
// the last days.
func (s *Service) GetDeliveryStats(ctx context.Context, req *fbv1.GetDeliveryStatsRequest) (*fbv1.GetDeliveryStatsResponse, error) {
	days := int(req.Days)
	if days == 0 {
		days = 7
	}
	if days < 1 || days > maxStatsDays {
		return nil, status.Errorf(codes.InvalidArgument, "days must be 1 to %d, not %d", maxStatsDays, req.Days)
	}
	names := make([]string, 0, len(s.receivers))
	for name := range s.receivers {
		names = append(names, name)
	}
	slices.Sort(names)
	counts, err := s.log.Stats(ctx, names, s.clock.Now(), days)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	out := &fbv1.GetDeliveryStatsResponse{}
	for _, name := range names {
		c := counts[name]
		out.Receivers = append(out.Receivers, &fbv1.ReceiverStats{Receiver: name, Type: s.receivers[name].Type,
			Delivered: c["delivered"], Failed: c["failed"], Retried: c["retried"], Suppressed: c["suppressed"]})
	}
	return out, nil
}

// TestReceiver sends a test case event to one receiver, bypassing dedup.
func (s *Service) TestReceiver(ctx context.Context, req *fbv1.TestReceiverRequest) (*fbv1.TestReceiverResponse, error) {
	if req.Receiver == "" {
		return nil, status.Error(codes.InvalidArgument, "receiver is required")
	}
	now := s.clock.Now()
	ev := &fbv1.CaseEvent{
		Id:   "test:" + req.Receiver + ":" + now.Format(time.RFC3339Nano),
		Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED,
		Case: &fbv1.Case{Id: "test-1", Brand: "test", Team: "test", Level: 1, State: fbv1.CaseState_CASE_STATE_OPEN,
			Priority: fbv1.Priority_PRIORITY_LOW, Reasons: []*fbv1.Reason{{Code: "test", Text: "test notification from firebreak"}},
			Author: &fbv1.Author{Handle: "firebreak-test"}, OpenedAt: timestamppb.New(now)},
		Level: 1, At: timestamppb.New(now),
	}
	r, ok := s.receivers[req.Receiver]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "receiver %q is not configured", req.Receiver)
	}
	// A pipeline of this receiver alone, with a log that remembers nothing,
	// so the test neither is deduplicated nor blocks a real page later.
	test := notify.NewPipeline([]notify.Receiver{r}, onlyRouter(req.Receiver), forgetfulLog{pace: s.log}, s.clock, s.linkBase)
	results, err := test.Deliver(ctx, ev)
	if err != nil || len(results) == 0 {
		return nil, status.Errorf(codes.Unavailable, "test delivery to %s: %v", req.Receiver, err)
	}
	ds := notify.Deliveries(results[0])
	return &fbv1.TestReceiverResponse{Delivery: ds[len(ds)-1]}, nil
}
