// Package trouble is a note in Redis that some replica of some service saw
// the bus or the store fail a moment ago. A mention's score or reach is
// then late, not lost: scorer and reach retry it as their backoff allows.
// Escalation reads the note before deciding an overdue mention without
// its part (holdJoin), so it waits for a part whose service is in trouble
// even when its own consumers saw nothing fail: their acks may have gone
// through a broker node that stayed up.
package trouble

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store"
)

// Keep is how long a note lasts after the last failure written to it.
const Keep = time.Minute

// Board is the note, shared by every service under one key prefix.
type Board struct {
	r   redis.UniversalClient
	key string
	log *slog.Logger
	// last is when (unix ns) this process last wrote the note: a burst
	// of failures writes it once a second, not once a message.
	last atomic.Int64
}

// New returns the board under keys.
func New(r redis.UniversalClient, keys store.Keys, log *slog.Logger) *Board {
	return &Board{r: r, key: keys.Global("trouble", "bus"), log: log}
}

// every bounds how often one process writes the note.
const every = time.Second

// Note writes the note in the background, at most once a second per
// process, for callers on the hot path of a failure: a consumer whose
// pull, ack or handling failed. A note that cannot be written (Redis is
// the trouble) is logged at debug level only: the caller's own failure
// is logged already.
func (b *Board) Note() {
	if b == nil {
		return
	}
	now := time.Now().UnixNano()
	last := b.last.Load()
	if now-last < int64(every) || !b.last.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		defer cancel()
		if err := b.Mark(ctx); err != nil {
			b.log.Debug("could not note the trouble for the other services", "err", err)
		}
	}()
}

// Mark writes the note now.
func (b *Board) Mark(ctx context.Context) error {
	if err := b.r.Set(ctx, b.key, time.Now().UnixMilli(), Keep).Err(); err != nil {
		return fmt.Errorf("note bus trouble: %w", err)
	}
	return nil
}

// Recent reports whether a note was written within Keep.
func (b *Board) Recent(ctx context.Context) (bool, error) {
	n, err := b.r.Exists(ctx, b.key).Result()
	if err != nil {
		return false, fmt.Errorf("read the bus trouble note: %w", err)
	}
	return n > 0, nil
}
