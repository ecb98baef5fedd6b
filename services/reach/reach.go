// Package reach is the reach service: for every ingested mention it publishes
// the author's reach on <prefix>.mentions.reached (followers, tier, reach
// relative to the brand's own audience), and answers GetReach over gRPC.
package reach

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deadletter"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/wording"
	"github.com/firebreak/firebreak/services/reach/tier"
)

// Config is the reach service's configuration.
type Config struct {
	config.Common
	// BrandFollowers is "brand=followers,..." for each brand's own account.
	BrandFollowers string
	Thresholds     tier.Thresholds
	MaxInFlight    int
	// AckWait is how late a mention in flight on a replica that died is
	// handled by another (bus.MentionAckWait).
	AckWait time.Duration
	// Lookups are the platform profile lookups, off by default.
	Lookups Lookups
	brands  map[string]int64
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "reach", ":8082", ":9092")
	def := tier.DefaultThresholds()
	fs.StringVar(&c.BrandFollowers, "brand-followers", "", "each brand's own follower count, e.g. acme=203000,globex=5000")
	fs.Int64Var(&c.Thresholds.Medium, "tier-medium", def.Medium, "followers that make an author medium reach")
	fs.Int64Var(&c.Thresholds.High, "tier-high", def.High, "followers that make an author high reach")
	fs.Float64Var(&c.Thresholds.HighRatio, "tier-high-ratio", def.HighRatio, "share of the brand's followers that makes an author high reach")
	fs.Float64Var(&c.Thresholds.RivalRatio, "tier-rival-ratio", def.RivalRatio, "share of the brand's followers that makes an author a rival")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 256, "mentions handled at once")
	fs.DurationVar(&c.AckWait, "ack-wait", bus.MentionAckWait, "how soon a mention in flight on a replica that died is taken up by another; keep-alives hold a long handling")
	c.Lookups.Register(fs)
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	brands, err := tier.ParseBrandFollowers(c.BrandFollowers)
	if err != nil {
		p.Add("brand-followers", err.Error())
	}
	c.brands = brands
	if err := c.Thresholds.Validate(); err != nil {
		p.Add("tier-medium", "and the other tier settings: "+err.Error())
	}
	p.Check(c.MaxInFlight >= 1, "max-in-flight", "must be at least 1")
	p.Check(c.AckWait >= time.Second && c.AckWait <= bus.MaxMentionAckWait, "ack-wait", bus.MentionAckWaitFix)
	c.Lookups.Validate(&p)
	return p.Err()
}

// Service is a running reach service.
type Service struct {
	cfg             Config
	d               *deps.Deps
	*lifecycle.Unit // servers and workers: Start, Stop, HTTPAddr, GRPCAddr
	resolver        *resolver
	fbv1.UnimplementedReachServiceServer
}

// New builds the service and binds its ports. cfg must have been validated.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	if cfg.brands == nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	s := &Service{cfg: cfg, d: d}
	res, err := newResolver(cfg.Lookups, cfg.brands, d.Redis, d.Keys, d.Tel.Logger)
	if err != nil {
		return nil, err
	}
	s.resolver = res
	consumer, err := bus.NewMentionConsumers(ctx, d.JS, d.Publisher, d.Tel, d.Names, bus.ConsumerConfig{
		Service: "reach", Purpose: "mentions", Subjects: []string{d.Names.IngestedAll(), d.Names.UpdatedAll()},
		MaxInFlight: cfg.MaxInFlight, AckWait: cmp.Or(cfg.AckWait, bus.MentionAckWait),
		DeadLetter: d.Names.DeadLetter("reach"), Ready: d.Ready, Batch: s.handleBatch,
		OnFailure: d.Trouble.Note,
	})
	if err != nil {
		return nil, err
	}
	unit, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	fbv1.RegisterReachServiceServer(unit.GRPC, s)
	fbv1.RegisterDeadLetterServiceServer(unit.GRPC, deadletter.New(d.JS, d.Names, "reach", s.handle))
	// The resolver starts first and stops last, so no handler finds its
	// refreshes gone.
	unit.Workers = []lifecycle.Part{res, consumer}
	unit.HTTP.AddCheck(consumer.Ready)
	s.Unit = unit
	return s, nil
}

func (s *Service) handle(ctx context.Context, msg jetstream.Msg) error {
	return s.handleBatch(ctx, []jetstream.Msg{msg})[0]
}

// handleBatch assesses a batch of mentions with one Redis round trip for
// their reads (resolveAll) and publishes their reaches together, the
// broker's acks awaited at once. A mention is acked only once its reach
// is stored.
func (s *Service) handleBatch(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	ms := make([]*fbv1.Mention, 0, len(msgs))
	at := make([]int, 0, len(msgs))
	for i, msg := range msgs {
		m := &fbv1.Mention{}
		if errs[i] = bus.Decode(msg, m); errs[i] != nil || m.BrandReply {
			// The brand's own reach is not in question; escalation
			// handles brand replies from the scored stream alone.
			continue
		}
		ms, at = append(ms, m), append(at, i)
	}
	if len(ms) == 0 {
		return errs
	}
	known, failed := s.resolver.resolveAll(ctx, ms)
	events := make([]bus.Event, 0, len(ms))
	sent := make([]int, 0, len(ms))
	for j, m := range ms {
		i := at[j]
		if errs[i] = failed[j]; errs[i] != nil {
			continue
		}
		ev := s.reached(msgs[i], m, known[j])
		ev.Parent = bus.SpanOf(msgs[i])
		events, sent = append(events, ev), append(sent, i)
	}
	if _, err := s.d.Publisher.Publish(ctx, events...); err != nil {
		for _, i := range sent {
			errs[i] = err
		}
	}
	return errs
}

// reached is the reach event of mention m, pulled as msg.
func (s *Service) reached(msg jetstream.Msg, m *fbv1.Mention, known resolved) bus.Event {
	r := s.assess(m.Platform, m.Author.GetId(), known)
	r.MentionId = m.Id
	ev := bus.Event{
		Subject: s.d.Names.InPartitionOf(s.d.Names.Reached(), msg.Subject()),
		MsgID:   bus.MsgID(m.Id, bus.EventReached),
		Type:    bus.TypeMentionReached,
		Headers: map[string]string{bus.HeaderMentionID: m.Id},
		Message: &fbv1.ReachedMention{Mention: m, Reach: r},
	}
	if strings.HasPrefix(msg.Subject(), strings.TrimSuffix(s.d.Names.UpdatedAll(), ">")) {
		// An engagement update: the post's reach measured again, for
		// escalation to look at the decided post once more. Its id
		// carries the counters, as the update's does.
		c := m.Metrics
		ev.Subject, ev.Type = s.d.Names.InPartitionOf(s.d.Names.Spread(), msg.Subject()), "mention.spread"
		ev.MsgID = bus.MsgID(m.Id, fmt.Sprintf("spread:%d.%d.%d.%d", c.GetReposts(), c.GetLikes(), c.GetReplies(), c.GetQuotes()))
	}
	return ev
}

func (s *Service) assess(p fbv1.Platform, authorID string, k resolved) *fbv1.Reach {
	a := tier.Assess(tier.Author{Followers: k.followers, Verified: k.verified}, k.brandFollowers, s.cfg.Thresholds)
	reasons := append(a.Reasons, k.notes...)
	if why := velocityReason(k.velocity, s.cfg.Lookups.VelocityHigh); why != "" {
		reasons = append(reasons, why)
	}
	if k.reshares > 0 {
		reasons = append(reasons, wording.Reshared(k.reshares))
	}
	return &fbv1.Reach{
		Platform:            p,
		AuthorId:            authorID,
		Followers:           k.followers,
		Verified:            k.verified,
		BrandFollowers:      k.brandFollowers,
		RelativeToBrand:     a.Relative,
		Tier:                a.Tier,
		EngagementPerMinute: k.velocity,
		Velocity:            float64(k.reshares),
		Reasons:             reasons,
		Source:              k.source,
		ObservedAt:          timestamppb.New(time.Now()),
	}
}

// GetReach assesses an author: cached or looked-up counts when there are,
// else the follower count given.
func (s *Service) GetReach(ctx context.Context, req *fbv1.GetReachRequest) (*fbv1.GetReachResponse, error) {
	if req.AuthorId == "" && req.Handle == "" {
		return nil, status.Error(codes.InvalidArgument, "give author_id or handle")
	}
	if req.FollowersHint < 0 {
		return nil, status.Error(codes.InvalidArgument, "followers_hint must not be negative")
	}
	id := req.AuthorId
	if id == "" {
		id = req.Handle
	}
	m := &fbv1.Mention{Platform: req.Platform, Brand: req.Brand, Author: &fbv1.Author{Id: id, Handle: req.Handle, Followers: req.FollowersHint}}
	known, err := s.resolver.resolve(ctx, m)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &fbv1.GetReachResponse{Reach: s.assess(req.Platform, id, known)}, nil
}
