// Package stream runs a platform's long-lived connection as a lifecycle
// part: it reconnects with capped backoff when the connection drops, and
// keeps the platform cursor in Redis so a restart, on this replica or
// another, resumes where the last one left off.
package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/backoff"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// Session is one connection's life: it runs until the connection ends or
// ctx is cancelled. It returns nil when it made progress before ending, so
// the backoff starts again from its minimum.
type Session func(ctx context.Context) error

// Runner keeps a Session running until stopped.
type Runner struct {
	Name       string
	Session    Session
	Log        *slog.Logger
	MinBackoff time.Duration // default 100ms
	MaxBackoff time.Duration // default 30s
	// Lease, when set, runs the session on one replica at a time.
	Lease *Lease
	// Clock waits between reconnects; nil is the system clock.
	Clock clock.Clock

	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs the session in the background. The parent ctx only bounds
// start-up (lifecycle passes the signal context); Stop ends the loop.
func (r *Runner) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(ctx)
	return nil
}

// Stop ends the session and waits for it, within ctx.
func (r *Runner) Stop(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s stream: %w", r.Name, ctx.Err())
	}
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	reconnect := backoff.Policy{Initial: cmp.Or(r.MinBackoff, 100*time.Millisecond), Max: cmp.Or(r.MaxBackoff, 30*time.Second)}
	clk := clock.Or(r.Clock)
	if r.Lease != nil {
		defer r.Lease.release(context.Background())
	}
	failures := 0 // in a row; a session that made progress starts again from the minimum
	for ctx.Err() == nil {
		if r.Lease != nil && !r.standBy(ctx, clk) {
			return
		}
		err := r.run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failures = 0
		} else {
			failures++
		}
		wait := reconnect.Next(max(failures, 1))
		if err != nil {
			r.Log.Warn("platform stream ended; reconnecting", "stream", r.Name, "err", err, "in", wait.String())
		}
		if clk.Sleep(ctx, wait) != nil {
			return
		}
	}
}

func (r *Runner) run(ctx context.Context) error {
	if r.Lease == nil {
		return r.Session(ctx)
	}
	return r.Lease.guard(ctx, r.Session)
}

// standBy waits until this replica holds the lease; false when stopped.
func (r *Runner) standBy(ctx context.Context, clk clock.Clock) bool {
	waiting := false
	for {
		ok, err := r.Lease.hold(ctx)
		if ok {
			if waiting {
				r.Log.Info("took over the platform stream", "stream", r.Name)
			}
			return true
		}
		if err != nil {
			r.Log.Warn("cannot reach the stream lease; standing by", "stream", r.Name, "err", err)
		} else if !waiting {
			r.Log.Info("another replica holds the platform stream; standing by", "stream", r.Name)
		}
		waiting = true
		if clk.Sleep(ctx, r.Lease.ttl()/3) != nil {
			return false
		}
	}
}

// Cursor is a platform position kept in Redis under one key.
type Cursor struct {
	Redis redis.UniversalClient
	Key   string

	mu sync.Mutex
}

// Load returns the saved position, or "" when there is none.
func (c *Cursor) Load(ctx context.Context) (string, error) {
	v, err := c.Redis.Get(ctx, c.Key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load stream cursor %s: %w", c.Key, err)
	}
	return v, nil
}

// Save records a position. Callers save only positions whose mentions are
// already durable, so a crash between the two replays rather than loses.
func (c *Cursor) Save(ctx context.Context, v string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Redis.Set(ctx, c.Key, v, 0).Err(); err != nil {
		return fmt.Errorf("save stream cursor %s: %w", c.Key, err)
	}
	return nil
}
