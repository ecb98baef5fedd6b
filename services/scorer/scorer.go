// Package scorer is the scorer service: it scores every ingested mention and
// publishes the result on <prefix>.mentions.scored (a brand's own reply also
// with the reply check's verdict), and over gRPC and HTTP scores any text on
// demand and checks an agent's draft reply before it goes out.
package scorer

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deadletter"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// Config is the scorer's configuration.
type Config struct {
	config.Common
	// LexiconOnly skips the learned model.
	LexiconOnly bool
	// Model is a built-in model name (default, airline) or a model file.
	Model       string
	TopicsFile  string
	MaxInFlight int
	// AckWait is how late a mention in flight on a replica that died is
	// scored by another (bus.MentionAckWait).
	AckWait time.Duration
}

// Register declares the flags.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "scorer", ":8081", ":9091")
	fs.BoolVar(&c.LexiconOnly, "lexicon-only", false, "score with the lexicon alone, without a trained model")
	fs.StringVar(&c.Model, "scorer-model", score.ModelDefault, "model: default (trained on commercially usable data), airline (CC BY-NC-SA training data: non-commercial use only), or a model file from `firebreak train`")
	fs.StringVar(&c.TopicsFile, "topics-file", "", "file of topic keyword lists replacing the default topics (optional)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 256, "mentions scored at once")
	fs.DurationVar(&c.AckWait, "ack-wait", bus.MentionAckWait, "how soon a mention in flight on a replica that died is taken up by another; keep-alives hold a long handling")
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var p config.Problems
	p.Merge(c.Common.Validate())
	p.Check(c.MaxInFlight >= 1, "max-in-flight", "must be at least 1")
	p.Check(c.AckWait >= time.Second && c.AckWait <= bus.MaxMentionAckWait, "ack-wait", bus.MentionAckWaitFix)
	p.Check(!c.LexiconOnly || c.Model == score.ModelDefault || c.Model == "", "scorer-model", "cannot be combined with --lexicon-only; drop one of them")
	if c.TopicsFile != "" {
		if _, err := os.Stat(c.TopicsFile); err != nil {
			p.Add("topics-file", fmt.Sprintf("cannot be read (%v); give a readable file or leave it empty", err))
		}
	}
	return p.Err()
}

// Service is a running scorer.
type Service struct {
	cfg             Config
	d               *deps.Deps
	scorer          *score.Scorer
	*lifecycle.Unit // servers and workers: Start, Stop, HTTPAddr, GRPCAddr
	fbv1.UnimplementedScorerServiceServer
}

// New builds the scorer, loads its model, and binds its ports.
func New(ctx context.Context, cfg Config, d *deps.Deps) (*Service, error) {
	sc, err := newScorer(cfg)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, d: d, scorer: sc}
	consumer, err := bus.NewMentionConsumers(ctx, d.JS, d.Publisher, d.Tel, d.Names, bus.ConsumerConfig{
		Service: "scorer", Purpose: "mentions", Subjects: []string{d.Names.IngestedAll()},
		MaxInFlight: cfg.MaxInFlight, AckWait: cmp.Or(cfg.AckWait, bus.MentionAckWait),
		DeadLetter: d.Names.DeadLetter("scorer"), Ready: d.Ready, Batch: s.handleBatch,
		OnFailure: d.Trouble.Note,
	})
	if err != nil {
		return nil, err
	}
	unit, err := lifecycle.Listen(cfg.HTTPAddr, cfg.GRPCAddr, d)
	if err != nil {
		return nil, err
	}
	fbv1.RegisterScorerServiceServer(unit.GRPC, s)
	fbv1.RegisterDeadLetterServiceServer(unit.GRPC, deadletter.New(d.JS, d.Names, "scorer", s.handle))
	unit.HTTP.Handle(ReplyCheckPath, d.Auth.Require(ReplyCheckPath, auth.CheckReplies, s.ReplyCheckHandler()))
	unit.Workers = []lifecycle.Part{consumer}
	unit.HTTP.AddCheck(consumer.Ready)
	s.Unit = unit
	d.Tel.Logger.Info("scorer model loaded", "model", sc.ModelVersion())
	return s, nil
}

func newScorer(cfg Config) (*score.Scorer, error) {
	var opts score.Options
	if !cfg.LexiconOnly {
		name := cfg.Model
		if name == "" {
			name = score.ModelDefault
		}
		m, err := score.OpenModel(name)
		if err != nil {
			return nil, fmt.Errorf("load the scoring model (--scorer-model): %w; run with --lexicon-only to score without one", err)
		}
		opts.Model = m
	}
	if cfg.TopicsFile != "" {
		doc, err := os.ReadFile(cfg.TopicsFile)
		if err != nil {
			return nil, fmt.Errorf("read --topics-file: %w", err)
		}
		topics, err := score.ParseTopics(doc)
		if err != nil {
			return nil, fmt.Errorf("--topics-file %s: %w", cfg.TopicsFile, err)
		}
		opts.Topics = topics
	}
	return score.New(opts)
}

func (s *Service) handle(ctx context.Context, msg jetstream.Msg) error {
	ev, err := s.scored(msg)
	if err != nil {
		return err
	}
	_, err = s.d.Publisher.Publish(ctx, ev)
	return err
}

// handleBatch scores a batch of mentions and publishes their scores
// together, the broker's acks awaited at once: one round trip for the
// batch. A mention is acked only once its score is stored.
func (s *Service) handleBatch(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	events := make([]bus.Event, 0, len(msgs))
	at := make([]int, 0, len(msgs))
	for i, msg := range msgs {
		ev, err := s.scored(msg)
		if err != nil {
			errs[i] = err
			continue
		}
		ev.Parent = bus.SpanOf(msg)
		events, at = append(events, ev), append(at, i)
	}
	if _, err := s.d.Publisher.Publish(ctx, events...); err != nil {
		for _, i := range at {
			errs[i] = err
		}
	}
	return errs
}

// scored is the score event of a mention.
func (s *Service) scored(msg jetstream.Msg) (bus.Event, error) {
	m := &fbv1.Mention{}
	if err := bus.Decode(msg, m); err != nil {
		return bus.Event{}, err
	}
	return bus.Event{
		Subject: s.d.Names.InPartitionOf(s.d.Names.Scored(), msg.Subject()),
		MsgID:   bus.MsgID(m.Id, bus.EventScored),
		Type:    bus.TypeMentionScored,
		Headers: map[string]string{bus.HeaderMentionID: m.Id},
		Message: &fbv1.ScoredMention{Mention: m, Score: s.scoreMention(m)},
	}, nil
}

func (s *Service) score(id, text string) *fbv1.Score {
	return scoreProto(id, s.scorer.Score(text))
}

func scoreProto(id string, r score.Result) *fbv1.Score {
	return &fbv1.Score{
		MentionId:      id,
		Compound:       r.Compound,
		Sentiment:      Sentiment(r.Label),
		Complaint:      r.Complaint,
		Topics:         r.Topics,
		Toxicity:       r.Toxicity,
		Urgency:        r.Urgency,
		UrgencySignals: r.UrgencySignals,
		ModelVersion:   r.ModelVersion,
		ScoredAt:       timestamppb.New(time.Now()),
	}
}

// Sentiment maps the scorer's label to the contract's.
func Sentiment(l score.Label) fbv1.Sentiment {
	switch l {
	case score.Negative:
		return fbv1.Sentiment_SENTIMENT_NEGATIVE
	case score.Positive:
		return fbv1.Sentiment_SENTIMENT_POSITIVE
	default:
		return fbv1.Sentiment_SENTIMENT_NEUTRAL
	}
}

// Score scores any text on demand.
func (s *Service) Score(_ context.Context, req *fbv1.ScoreRequest) (*fbv1.ScoreResponse, error) {
	if req.Text == "" {
		return nil, status.Error(codes.InvalidArgument, "text is empty; give the text to score")
	}
	return &fbv1.ScoreResponse{Score: s.score("", req.Text)}, nil
}
