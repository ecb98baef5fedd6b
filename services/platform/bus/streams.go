package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
// every replica of every service calls it at start-up.
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
