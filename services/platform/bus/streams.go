package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/backoff"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// DuplicateWindow is JetStream's dedup window. It is fixed, not sliding, so
// dedup that must last longer lives in Redis.
const DuplicateWindow = 2 * time.Minute

// StreamOptions shape the streams; the zero value suits a laptop.
type StreamOptions struct {
	Replicas int
	// MaxAge bounds how long events are kept; zero keeps them a week.
	MaxAge time.Duration
}

// EnsureStreams creates or updates Firebreak's streams. It is idempotent, so
// every replica of the stream owner (StreamOwner) calls it at start-up; the
// other services wait for the streams with AwaitStreams.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, names Names, opts StreamOptions) error {
	replicas := max(opts.Replicas, 1)
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = 7 * 24 * time.Hour
	}
	for _, noun := range Nouns {
		cfg := jetstream.StreamConfig{
			Name:       names.Stream(noun),
			Subjects:   []string{names.All(noun)},
			Storage:    jetstream.FileStorage,
			Replicas:   replicas,
			MaxAge:     maxAge,
			Duplicates: DuplicateWindow,
		}
		if noun == NounDeadLetter {
			// Dead letters wait for a person; keep them longer.
			cfg.MaxAge = 30 * 24 * time.Hour
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// AwaitStreams returns once every Firebreak stream exists, for a service
// whose NATS user may not create them: it looks each up, and while one is
// missing logs that it waits for the StreamOwner and tries again, until
// ctx ends.
func AwaitStreams(ctx context.Context, js jetstream.JetStream, names Names, log *slog.Logger) error {
	retry := backoff.Policy{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}
	for attempt := 1; ; attempt++ {
		missing, err := missingStream(ctx, js, names)
		if err != nil {
			return err
		}
		if missing == "" {
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Warn("waiting for a stream; the "+StreamOwner+" service creates the streams, start it", "stream", missing)
		}
		if err := (clock.System{}).Sleep(ctx, retry.Next(attempt)); err != nil {
			return fmt.Errorf("stream %s does not exist and the %s service, which creates the streams, has not made it: %w", missing, StreamOwner, err)
		}
	}
}

// missingStream is the first stream that does not exist, or "".
func missingStream(ctx context.Context, js jetstream.JetStream, names Names) (string, error) {
	for _, noun := range Nouns {
		name := names.Stream(noun)
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
