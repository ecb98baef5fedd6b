package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/backoff"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// DuplicateWindow is JetStream's dedup window. It is fixed, not sliding, so
// dedup that must last longer lives in Redis.
const DuplicateWindow = 2 * time.Minute

// PublishAckTimeout bounds the wait for JetStream's ack of a publish: a
// publish whose ack does not come (a stream leader lost mid-publish, a
// partition) fails with jetstream.ErrAsyncPublishTimeout instead of
// holding its caller forever, and the caller retries under the same
// message id, which dedups. It is longer than a JetStream leader election
// (a few seconds), so a failover alone does not fail publishes.
const PublishAckTimeout = 10 * time.Second

// NewJetStream is the JetStream context of a connection, with the publish
// ack timeout; every service publishes through one.
func NewJetStream(nc *nats.Conn, ackTimeout time.Duration) (jetstream.JetStream, error) {
	return jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout))
}

// Limits are one stream's bounds.
type Limits struct {
	// MaxBytes is the stream's own disk budget, so that one stream filling
	// up never takes the space another needs.
	MaxBytes int64
	// MaxMsgSize refuses a message larger than any the stream's producers
	// make, so a bug or a hostile input fails at its source.
	MaxMsgSize int32
	// Discard is what the stream does at MaxBytes.
	Discard jetstream.DiscardPolicy
}

// DefaultLimits are each stream's bounds unless StreamOptions.MaxBytes says
// otherwise. They add up to about 7.1 GiB, which a laptop has; production
// sizes them to its disk with --stream-max-bytes (and the alert
// FirebreakStreamNearLimit says when one fills).
//
// Every stream keeps what its consumers have already handled until MaxAge
// (limits retention), so in steady state a stream at its budget is full of
// handled messages. Discarding the oldest is then right: DiscardOld, for
// every stream that is read within seconds. It loses unhandled messages
// only if consumers lag by the whole budget, which the alert and the
// consumer-lag alert report long before. DiscardNew would instead refuse
// every new message until old ones age out.
var DefaultLimits = map[string]Limits{
	// Mentions are the volume: at 1,000/s of about 2 KiB, 4 GiB holds half
	// an hour of them. Ingest refuses a mention over about 20 KiB, so 256
	// KiB is room for the largest with its score and reach.
	NounMentions: {MaxBytes: 4 << 30, MaxMsgSize: 256 << 10, Discard: jetstream.DiscardOld},
	// Case events embed their case, which cases bound to about 400 KiB.
	// Their own budget: mentions can never starve the pages.
	NounCases:         {MaxBytes: 512 << 20, MaxMsgSize: 1 << 20, Discard: jetstream.DiscardOld},
	NounNotifications: {MaxBytes: 512 << 20, MaxMsgSize: 1 << 20, Discard: jetstream.DiscardOld},
	// Dead letters wait for a person for 30 days; discarding the oldest
	// would lose them silently. DiscardNew refuses a new one instead, the
	// message it was for stays on its own stream unacked (bus keeps a
	// message whose dead letter failed to publish), and
	// FirebreakStreamNearLimit says to read and purge them.
	NounDeadLetter: {MaxBytes: 512 << 20, MaxMsgSize: 1 << 20, Discard: jetstream.DiscardNew},
	// Commands are a person's clicks: few and small.
	NounCommands: {MaxBytes: 64 << 20, MaxMsgSize: 64 << 10, Discard: jetstream.DiscardOld},
}

// StreamOptions shape the streams; the zero value suits a laptop.
type StreamOptions struct {
	Replicas int
	// MaxAge bounds how long events are kept; zero keeps them a week.
	MaxAge time.Duration
	// MaxBytes sets a stream's budget by noun, in place of DefaultLimits'.
	MaxBytes map[string]int64
	// ScaleDown lets Replicas and MaxBytes lower those of an existing
	// stream. Without it the larger of the existing and the configured is
	// kept, so a binary started with a default never scales an R3 stream
	// to R1, or shrinks a budget an operator raised (and with it, under
	// DiscardOld, the messages kept).
	ScaleDown bool
	// Logger says when an existing stream's larger setting is kept.
	Logger *slog.Logger
}

// StreamSpec is one of Firebreak's streams.
type StreamSpec struct {
	Name     string
	Subjects []string
	// Noun is the noun whose limits (DefaultLimits) and budget
	// (StreamOptions.MaxBytes) the stream takes.
	Noun string
	// Shares is how many streams split the noun's byte budget (the
	// mention partitions); 0 and 1 take all of it.
	Shares int
	// Metadata records a mention partition's layout (MetaPartitions).
	Metadata map[string]string
}

// Streams are every Firebreak stream, in the order EnsureStreams creates
// them: one per noun, but one per consuming service for dead letters
// (DeadLetterStream) and one per mention partition (MentionStream).
func (n Names) Streams() []StreamSpec {
	var out []StreamSpec
	for _, noun := range Nouns {
		if noun == NounMentions && n.partitioned() {
			out = append(out, n.mentionPartitionSpecs()...)
			continue
		}
		if noun != NounDeadLetter {
			out = append(out, StreamSpec{Name: n.Stream(noun), Subjects: []string{n.All(noun)}, Noun: noun})
			continue
		}
		for _, service := range DeadLetterers() {
			out = append(out, StreamSpec{Name: n.DeadLetterStream(service), Subjects: []string{n.DeadLetter(service)}, Noun: noun})
		}
	}
	return out
}

// EnsureStreams creates or updates Firebreak's streams. It is idempotent, so
// every replica of the stream owner (StreamOwner) calls it at start-up; the
// other services wait for the streams with AwaitStreams. The shared
// dead-letter stream of earlier releases is moved aside first, and its dead
// letters into their services' streams after (MoveSharedDeadLetters).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, names Names, opts StreamOptions) error {
	if err := CheckPartitions(ctx, js, names); err != nil {
		return err
	}
	shared, err := moveSharedAside(ctx, js, names)
	if err != nil {
		return err
	}
	replicas := max(opts.Replicas, 1)
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = 7 * 24 * time.Hour
	}
	for _, spec := range names.Streams() {
		lim := DefaultLimits[spec.Noun]
		if b, ok := opts.MaxBytes[spec.Noun]; ok {
			lim.MaxBytes = b
		}
		// Partitions share their noun's budget, so splitting the mentions
		// does not multiply the disk they may take.
		lim.MaxBytes /= int64(max(spec.Shares, 1))
		cfg := jetstream.StreamConfig{
			Name:       spec.Name,
			Subjects:   spec.Subjects,
			Storage:    jetstream.FileStorage,
			Replicas:   replicas,
			MaxAge:     maxAge,
			Duplicates: DuplicateWindow,
			MaxBytes:   lim.MaxBytes,
			MaxMsgSize: lim.MaxMsgSize,
			Discard:    lim.Discard,
			Metadata:   spec.Metadata,
		}
		if spec.Noun == NounDeadLetter {
			// Dead letters wait for a person; keep them longer.
			cfg.MaxAge = 30 * 24 * time.Hour
		}
		if !opts.ScaleDown {
			st, err := js.Stream(ctx, cfg.Name)
			switch {
			case err == nil:
				cfg = keepLarger(st.CachedInfo().Config, cfg, opts.Logger)
			case !errors.Is(err, jetstream.ErrStreamNotFound):
				return fmt.Errorf("look up stream %s: %w", cfg.Name, err)
			}
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			if strings.Contains(err.Error(), "insufficient") {
				return fmt.Errorf("create or update stream %s with a budget of %d bytes: %w; give JetStream more storage (max_file_store) or lower --stream-max-bytes", cfg.Name, cfg.MaxBytes, err)
			}
			return fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
		}
	}
	if shared == nil {
		return nil
	}
	moved, err := MoveSharedDeadLetters(ctx, js, names, shared)
	if opts.Logger != nil && (moved > 0 || err != nil) {
		opts.Logger.Info("moved dead letters from the shared stream into their services' streams",
			"from", names.SharedDeadLetterStream(), "moved", moved, "err", err)
	}
	if err != nil {
		return fmt.Errorf("move the dead letters of %s into their services' streams (what was moved is gone from it; start again to move the rest): %w",
			names.SharedDeadLetterStream(), err)
	}
	return nil
}

// keepLarger is the configuration to apply to an existing stream without
// scaling it down: its replicas and byte budget stay if larger than
// wanted. A stream made before budgets existed has none (-1) and gets
// the configured one.
func keepLarger(existing, wanted jetstream.StreamConfig, log *slog.Logger) jetstream.StreamConfig {
	if existing.Replicas > wanted.Replicas {
		if log != nil {
			log.Warn("keeping the stream's replicas; set --stream-scale-down to lower them", "stream", wanted.Name,
				"replicas", existing.Replicas, "configured", wanted.Replicas)
		}
		wanted.Replicas = existing.Replicas
	}
	if existing.MaxBytes > wanted.MaxBytes {
		if log != nil {
			log.Warn("keeping the stream's larger byte budget; set --stream-scale-down to lower it", "stream", wanted.Name,
				"max_bytes", existing.MaxBytes, "configured", wanted.MaxBytes)
		}
		wanted.MaxBytes = existing.MaxBytes
	}
	return wanted
}

// AwaitStreams returns once every Firebreak stream exists, for a service
// whose NATS user may not create them: it looks each up, and while one is
// missing logs that it waits for the StreamOwner and tries again, until
// ctx ends.
func AwaitStreams(ctx context.Context, js jetstream.JetStream, names Names, log *slog.Logger) error {
	retry := backoff.Policy{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}
	for attempt := 1; ; attempt++ {
		if err := CheckPartitions(ctx, js, names); err != nil {
			return err
		}
		missing, err := missingStream(ctx, js, names)
		if err != nil {
			return err
		}
		if missing == "" {
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Warn("waiting for a stream; the "+StreamOwner+" service creates the streams, start it (with the same --mention-partitions)", "stream", missing)
		}
		if err := (clock.System{}).Sleep(ctx, retry.Next(attempt)); err != nil {
			return fmt.Errorf("stream %s does not exist and the %s service, which creates the streams, has not made it: %w", missing, StreamOwner, err)
		}
	}
}

// missingStream is the first stream that does not exist, or "".
func missingStream(ctx context.Context, js jetstream.JetStream, names Names) (string, error) {
	for _, spec := range names.Streams() {
		name := spec.Name
		_, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return name, nil
		}
		if err != nil {
			return "", fmt.Errorf("look up stream %s: %w", name, err)
		}
	}
	return "", nil
}
