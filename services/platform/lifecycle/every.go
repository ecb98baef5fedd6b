package lifecycle

import (
	"context"
	"sync"
	"time"
)

// Every is a Part that calls Do every Interval until stopped: timer loops,
// file watchers, flushers. Do's context is cancelled by Stop, which then
// waits for the call in progress; Do should finish the writes it started
// (context.WithoutCancel) rather than leave them half done.
type Every struct {
	Interval time.Duration
	Do       func(ctx context.Context)

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Start begins the loop.
func (e *Every) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done.Add(1)
	go e.loop(ctx)
	return nil
}

func (e *Every) loop(ctx context.Context) {
	defer e.done.Done()
	ticker := time.NewTicker(e.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.Do(ctx)
		}
	}
}

// Stop ends the loop and waits for the call in progress, until ctx ends.
func (e *Every) Stop(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	waited := make(chan struct{})
	go func() { e.done.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
