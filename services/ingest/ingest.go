// Package ingest is the ingest service: it takes mentions in over HTTP and
// gRPC, validates them, and publishes each once on
// <prefix>.mentions.ingested.<platform>, answering only when they are durable.
package ingest

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/accounts"
	"github.com/firebreak/firebreak/services/ingest/bluesky"
	"github.com/firebreak/firebreak/services/ingest/mastodon"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/ingest/stream"
	"github.com/firebreak/firebreak/services/ingest/x"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

// maxJobsPerPipeline bounds the requests whose Redis work shares one
// pipeline (see batcher).
const maxJobsPerPipeline = 128

// Config is the ingest service's configuration.
type Config struct {
	config.Common
	// MaxBodyBytes bounds one HTTP request.
	MaxBodyBytes int64
	// MaxBodyBytesInFlight bounds the body bytes read at once over all
	// requests, so that memory stays bounded under a flood of large ones.
	MaxBodyBytesInFlight int64
	// MaxBatch bounds the mentions in one request.
	MaxBatch int
	// SeenTTL is how long an ingested platform id is remembered, so a
	// mention re-sent days later is still published once.
	SeenTTL time.Duration
	// SeenExact is how long an ingested id is remembered exactly (one key
	// each); from then to SeenTTL, in a daily Bloom filter sized for
	// SeenPerDay mentions a day (see seen).
	SeenExact  time.Duration
	SeenPerDay int64
	// UpdateEvery is the least time between two engagement updates of one
	// post; UpdateWindow how long after it is first seen a post's growth
	// is still published.
	UpdateEvery  time.Duration
	UpdateWindow time.Duration
	// RatePerKey is mentions per second per key (0: unlimited), with
	// bursts of RateBurst.
	RatePerKey float64
	RateBurst  int
	// MaxInFlight bounds requests publishing at once; beyond it the edge
	// refuses with 503 and Retry-After rather than queueing without bound.
	MaxInFlight int
	// BrandAccounts names each brand's own accounts, the only authors
	// whose posts the HTTP and gRPC edges take as brand replies; the X and
	// Bluesky brand ids are added to it.
	BrandAccounts string
	// X is the X webhook; off unless its secret is set.
	X x.Config
	// Mastodon and Bluesky are streams; off unless their URL is set.
	Mastodon mastodon.Config
	Bluesky  bluesky.Config
	// BlueskyChat polls the brand account's direct messages; off unless
	// its PDS is set.
	BlueskyChat bluesky.ChatConfig
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "ingest", ":8080", ":9090")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 4<<20, "largest accepted HTTP request body")
	fs.Int64Var(&c.MaxBodyBytesInFlight, "max-body-bytes-in-flight", 32<<20, "request-body bytes read at once over all requests before the edge answers 503")
	fs.IntVar(&c.MaxBatch, "max-batch", 1000, "most mentions accepted in one request")
	fs.DurationVar(&c.SeenTTL, "seen-ttl", 30*24*time.Hour, "how long an ingested mention id is remembered for dedup")
	fs.DurationVar(&c.SeenExact, "seen-exact", 48*time.Hour, "how long an ingested mention id is remembered exactly; after that, until --seen-ttl, in a daily Bloom filter")
	fs.Int64Var(&c.SeenPerDay, "seen-per-day", 2_000_000, "mentions a day the dedup filters are sized for (24 bits each, a 1e-5 error rate per day checked)")
	fs.DurationVar(&c.UpdateEvery, "update-every", 30*time.Second, "least time between two engagement updates of one post (a repeat with more reposts, likes or replies)")
	fs.DurationVar(&c.UpdateWindow, "update-window", 48*time.Hour, "how long after a post is first seen its engagement updates are published")
	fs.Float64Var(&c.RatePerKey, "rate-per-key", 0, "mentions per second each API key may send, per replica (0: unlimited)")
	fs.IntVar(&c.RateBurst, "rate-burst", 2000, "mentions a key may send at once above its rate")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 64, "requests publishing at once before the edge answers 503")
	fs.StringVar(&c.BrandAccounts, "brand-accounts", "", "each brand's own accounts, whose posts alone may be brand replies, e.g. acme=x:2244994945,acme=mastodon:109876 (--x-brands and --bluesky-brands are added)")
	c.X.Register(fs)
	c.Mastodon.Register(fs)
	c.Bluesky.Register(fs)
	c.BlueskyChat.Register(fs)
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	p.Check(c.MaxBodyBytes >= 1<<10, "max-body-bytes", "must be at least 1024")
	p.Check(c.MaxBatch >= 1, "max-batch", "must be at least 1")
	p.Check(c.MaxBodyBytesInFlight == 0 || c.MaxBodyBytesInFlight >= c.MaxBodyBytes, "max-body-bytes-in-flight", "must be at least --max-body-bytes, or the largest body could never be read")
	p.Check(c.SeenTTL >= bus.DuplicateWindow, "seen-ttl", "must be at least 2m, JetStream's dedup window")
	p.Check(c.SeenExact >= c.UpdateWindow, "seen-exact", "must be at least --update-window: an engagement update needs its post's exact record")
	p.Check(c.SeenPerDay >= 1000, "seen-per-day", "must be at least 1000")
	p.Check(c.UpdateEvery >= 0, "update-every", "must not be negative (0 publishes every growth)")
	p.Check(c.UpdateWindow >= time.Minute && c.UpdateWindow <= c.SeenTTL, "update-window", "must be between 1m and --seen-ttl")
	p.Check(c.RatePerKey >= 0, "rate-per-key", "must not be negative (0 is unlimited)")
	p.Check(c.RatePerKey == 0 || c.RateBurst >= c.MaxBatch, "rate-burst", "must be at least --max-batch, or a full batch could never pass")
	p.Check(c.MaxInFlight >= 1, "max-in-flight", "must be at least 1")
	if _, err := c.accounts(); err != nil {
		p.Add("brand-accounts", err.Error())
	}
	c.X.Validate(&p)
	c.Mastodon.Validate(&p)
	c.Bluesky.Validate(&p)
	c.BlueskyChat.Validate(&p)
	return p.Err()
}

// accounts is every brand account the configuration names.
func (c *Config) accounts() (accounts.Accounts, error) {
	a, err := accounts.Parse(c.BrandAccounts)
	if err != nil {
		return accounts.Accounts{}, err
	}
	if brands, err := x.ParseBrands(c.X.Brands); err == nil {
		for id, brand := range brands {
			a.Add(brand, fbv1.Platform_PLATFORM_X, id)
		}
	}
	if brands, err := bluesky.ParseBrands(c.Bluesky.Brands); err == nil {
		for did, brand := range brands {
			a.Add(brand, fbv1.Platform_PLATFORM_BLUESKY, did)
		}
	}
	return a, nil
}

// Service is a running ingest service.
type Service struct {
	cfg             Config
	d               *deps.Deps
	*lifecycle.Unit // servers and workers: Start, Stop, HTTPAddr, GRPCAddr
	clock           clock.Clock
	guard           *guard
	bodies          *bodyBudget
	accounts        accounts.Accounts
	seen            *seen
	// pipes runs concurrent requests' Redis work as shared pipelines.
	pipes *batcher
	// dropped counts platform mentions that failed validation.
	dropped metric.Int64Counter
	fbv1.UnimplementedIngestServiceServer
}

// New builds the service and binds its ports.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 64 // a Config built in code rather than from flags
	}
	if cfg.MaxBodyBytesInFlight == 0 {
		cfg.MaxBodyBytesInFlight = 8 * cfg.MaxBodyBytes
	}
	if cfg.SeenExact == 0 { // a Config built in code rather than from flags
		cfg.SeenExact = max(cfg.UpdateWindow, 48*time.Hour)
	}
	s := &Service{cfg: cfg, d: d, clock: clock.System{}, bodies: &bodyBudget{max: cfg.MaxBodyBytesInFlight}}
	s.seen = newSeen(d.Redis, d.Keys, cmp.Or(cfg.SeenPerDay, 2_000_000), cfg.SeenExact, cfg.SeenTTL)
	// Each request in flight has at most one job queued at a time.
	s.pipes = newBatcher(d.Redis, cfg.MaxInFlight, maxJobsPerPipeline)
	var err error
	s.guard = newGuard(cfg.RatePerKey, max(cfg.RateBurst, cfg.MaxBatch), cfg.MaxInFlight)
	if s.accounts, err = cfg.accounts(); err != nil {
		return nil, fmt.Errorf("--brand-accounts: %w", err)
	}
	if err := s.initMetrics(); err != nil {
		return nil, err
	}
	var xHook *x.Webhook
	if cfg.X.Enabled() {
		// The claim outlasts the bound on taking a delivery in.
		seen := &deliveries{redis: d.Redis, keys: d.Keys, ttl: cfg.SeenTTL, claim: x.TakeBound + 20*time.Second}
		if xHook, err = x.NewWebhook(cfg.X, heldSink{s}, seen, d.Tel.Logger); err != nil {
			return nil, err
		}
	}
	unit, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	unit.HTTP.Handle("POST /v1/mentions", d.Auth.Require("POST /v1/mentions", auth.SubmitMentions, s.httpHandler()))
	if xHook != nil {
		unit.HTTP.Handle("/v1/webhooks/x", s.admitted(xHook, xHook.MaxBodyBytes))
	}
	fbv1.RegisterIngestServiceServer(unit.GRPC, s)
	if unit.Workers, err = s.streams(); err != nil {
		unit.Close()
		return nil, err
	}
	s.Unit = unit
	return s, nil
}

// streams builds the configured platform streams, each a part that
// reconnects on its own and keeps its cursor in Redis.
func (s *Service) streams() ([]lifecycle.Part, error) {
	var parts []lifecycle.Part
	log := s.d.Tel.Logger
	if c := s.cfg.Mastodon; c.Enabled() {
		cursor := &stream.Cursor{Redis: s.d.Redis, Key: s.d.Keys.Global("cursor", "mastodon", c.Brand)}
		m, err := mastodon.NewStream(c, s, cursor, &http.Client{Timeout: 30 * time.Second}, log)
		if err != nil {
			return nil, err
		}
		parts = append(parts, &stream.Runner{Name: "mastodon", Session: m.Session, Log: log, Lease: s.lease("mastodon", c.Brand)})
	}
	if c := s.cfg.Bluesky; c.Enabled() {
		cursor := &stream.Cursor{Redis: s.d.Redis, Key: s.d.Keys.Global("cursor", "bluesky")}
		j, err := bluesky.NewJetstream(c, s, cursor, log, s.d.Tel.Meter.Meter("firebreak/ingest"))
		if err != nil {
			return nil, err
		}
		parts = append(parts, &stream.Runner{Name: "bluesky", Session: j.Session, Log: log, Lease: s.lease("bluesky")})
	}
	if c := s.cfg.BlueskyChat; c.Enabled() {
		cursor := &stream.Cursor{Redis: s.d.Redis, Key: s.d.Keys.Global("cursor", "bluesky-chat", c.Brand)}
		chat, err := bluesky.NewChat(c, s, cursor, &http.Client{Timeout: 30 * time.Second}, log)
		if err != nil {
			return nil, err
		}
		parts = append(parts, &stream.Runner{Name: "bluesky-chat", Session: chat.Session, Log: log, Lease: s.lease("bluesky-chat", c.Brand)})
	}
	return parts, nil
}

// lease lets one replica at a time hold a platform stream.
func (s *Service) lease(parts ...string) *stream.Lease {
	return &stream.Lease{Redis: s.d.Redis, Key: s.d.Keys.Global(append([]string{"lease"}, parts...)...)}
}

// Accepted is the outcome for one mention.
type Accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	// Updated is set for a duplicate whose engagement grew: it was
	// published as an engagement update.
	Updated bool `json:"updated,omitempty"`
}

// accept publishes validated mentions, skipping those already ingested
// unless their engagement grew (an update), and returns once every new one
// and every update is stored by JetStream.
func (s *Service) accept(ctx context.Context, mentions []*fbv1.Mention) ([]Accepted, error) {
	out := make([]Accepted, len(mentions))
	now := s.clock.Now()
	before := make([]func() bool, len(mentions))
	for i, m := range mentions {
		out[i].ID = m.Id
	}
	// Concurrent requests' checks share a pipeline; a mention sent twice
	// at once passes both, and JetStream's dedup by id answers the later
	// publish as the duplicate.
	err := s.pipes.do(ctx, func(pipe redis.Pipeliner) {
		for i, m := range mentions {
			before[i] = s.seen.check(ctx, pipe, m, now)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("check ingested ids in Redis: %w", err)
	}
	events := make([]bus.Event, 0, len(mentions))
	var fresh, dups []int
	for i, m := range mentions {
		if before[i]() {
			out[i].Duplicate = true
			dups = append(dups, i)
			continue
		}
		fresh = append(fresh, i)
		events = append(events, bus.Event{
			Subject: s.inPartition(s.d.Names.Ingested(mention.PlatformName(m.Platform)), m),
			MsgID:   bus.MsgID(m.Id, bus.EventIngested),
			Type:    bus.TypeMentionIngested,
			Headers: map[string]string{bus.HeaderMentionID: m.Id},
			Message: m,
		})
	}
	updates, err := s.claimUpdates(ctx, mentions, dups)
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		events = append(events, s.updateEvent(mentions[u.index]))
	}
	if len(events) == 0 {
		return out, nil
	}
	results, err := s.d.Publisher.Publish(ctx, events...)
	if err != nil {
		s.releaseUpdates(context.WithoutCancel(ctx), mentions, updates)
		return nil, err
	}
	for _, u := range updates {
		out[u.index].Updated = true
	}
	// Remember the ids only after they are durable: a crash before this line
	// leaves JetStream's two-minute dedup window to catch a retry.
	for n, i := range fresh {
		out[i].Duplicate = results[n].Duplicate
	}
	if len(fresh) == 0 {
		return out, nil
	}
	err = s.pipes.do(ctx, func(pipe redis.Pipeliner) {
		for _, i := range fresh {
			s.seen.record(ctx, pipe, mentions[i], now)
			s.trackEngagement(ctx, pipe, mentions[i])
		}
	})
	if err != nil {
		s.seen.expiries.Forget() // the round trip carried the day filters' expiries
		s.d.Tel.Logger.WarnContext(ctx, "published mentions but could not record them for long-term dedup", "err", err)
	}
	return out, nil
}

// Submit is the gRPC edge.
func (s *Service) Submit(ctx context.Context, req *fbv1.SubmitRequest) (*fbv1.SubmitResponse, error) {
	caller, _ := auth.FromContext(ctx)
	key := caller.Subject
	if err := s.validateBatch(len(req.Mentions)); err != nil {
		return nil, invalidArgument(err)
	}
	now := s.clock.Now()
	for i, m := range req.Mentions {
		if err := mention.Normalize(m, now); err != nil {
			return nil, invalidArgument(&mention.InvalidError{Index: i, Reason: err.Error()})
		}
	}
	if err := brandsAllowed(caller, req.Mentions); err != nil {
		return nil, auth.Denied("%v", err)
	}
	for i, m := range req.Mentions {
		if err := s.accounts.CheckBrandReply(m); err != nil {
			return nil, invalidArgument(&mention.InvalidError{Index: i, Reason: err.Error()})
		}
	}
	if err := s.guard.allow(key, len(req.Mentions), now); err != nil {
		return nil, grpcRefusal(err)
	}
	if err := s.guard.enter(); err != nil {
		return nil, grpcRefusal(err)
	}
	defer s.guard.release()
	accepted, err := s.accept(ctx, req.Mentions)
	if err != nil {
		return nil, unavailable(err)
	}
	resp := &fbv1.SubmitResponse{}
	for _, a := range accepted {
		resp.Results = append(resp.Results, &fbv1.SubmitResult{Id: a.ID, Duplicate: a.Duplicate, Updated: a.Updated})
	}
	return resp, nil
}

// brandsAllowed refuses a batch holding a mention (or brand reply) for a
// brand the caller's key does not name: a partner's key speaks only for
// its own brands.
func brandsAllowed(caller auth.Identity, mentions []*fbv1.Mention) error {
	for i, m := range mentions {
		if !caller.MayIngest(m.Brand) {
			return &mention.InvalidError{Index: i, Reason: fmt.Sprintf("%s may not submit mentions for brand %q; its brands are %s", caller, m.Brand, strings.Join(caller.Brands, ","))}
		}
	}
	return nil
}

func (s *Service) validateBatch(n int) error {
	switch {
	case n == 0:
		return fmt.Errorf("no mentions given")
	case n > s.cfg.MaxBatch:
		return fmt.Errorf("%d mentions in one request; at most %d are accepted (--max-batch)", n, s.cfg.MaxBatch)
	}
	return nil
}

// inPartition is subject in the partition of m's author, so that an
// author's mentions stay in order in one stream (bus.Names.InPartition).
func (s *Service) inPartition(subject string, m *fbv1.Mention) string {
	if s.d.Names.MentionPartitions() == 1 {
		return subject // no author key to build for one stream
	}
	return s.d.Names.InPartition(subject, s.d.Names.MentionPartition(mention.AuthorKey(m)))
}
