package profile

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Provider is one platform's lookup.
type Provider interface {
	Lookup(ctx context.Context, ids []string) (map[string]Profile, error)
	MaxBatch() int
}

// Batcher gathers lookups that arrive within Window into calls of up to
// the provider's MaxBatch ids, so a burst of mentions costs X one request
// per hundred authors rather than one each.
type Batcher struct {
	Provider Provider
	Window   time.Duration

	mu      sync.Mutex
	pending map[string][]chan result
	timer   *time.Timer
}

type result struct {
	p   Profile
	err error
}

// Get returns one account's profile.
func (b *Batcher) Get(ctx context.Context, id string) (Profile, error) {
	if b.Provider.MaxBatch() <= 1 {
		got, err := b.Provider.Lookup(ctx, []string{id})
		return pick(got, id, err)
	}
	ch := make(chan result, 1)
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[string][]chan result{}
	}
	b.pending[id] = append(b.pending[id], ch)
	switch {
	case len(b.pending) >= b.Provider.MaxBatch():
		batch := b.take()
		b.mu.Unlock()
		go b.flush(batch)
	case b.timer == nil:
		b.timer = time.AfterFunc(b.Window, func() {
			b.mu.Lock()
			batch := b.take()
			b.mu.Unlock()
			b.flush(batch)
		})
		b.mu.Unlock()
	default:
		b.mu.Unlock()
	}
	select {
	case r := <-ch:
		return r.p, r.err
	case <-ctx.Done():
		return Profile{}, ctx.Err()
	}
}

// take detaches the pending batch; b.mu is held.
func (b *Batcher) take() map[string][]chan result {
	batch := b.pending
	b.pending = nil
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

// flush makes one call for a batch. It runs detached from any one caller's
// context, since it answers all of them; its own bound keeps it finite.
func (b *Batcher) flush(batch map[string][]chan result) {
	if len(batch) == 0 {
		return
	}
	ids := make([]string, 0, len(batch))
	for id := range batch {
		ids = append(ids, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := b.Provider.Lookup(ctx, ids)
	for id, waiters := range batch {
		p, perr := pick(got, id, err)
		for _, w := range waiters {
			w <- result{p, perr}
		}
	}
}

func pick(got map[string]Profile, id string, err error) (Profile, error) {
	if p, ok := got[id]; ok {
		return p, nil
	}
	if err != nil {
		return Profile{}, err
	}
	return Profile{}, fmt.Errorf("%s: %w", id, ErrNotFound)
}
