package notify

import (
	"context"
	"errors"
	"sync"
)

// Stage is one step of delivering a notification. It returns what it
// decided as the notification for the next stage, a copy when it changed
// anything (the one it was given is left alone), or nil to end the chain
// (a duplicate, say). An error
// means the outcome is unknown (the log was unreachable, the context ended)
// and the whole event should be tried again later.
type Stage interface {
	Exec(ctx context.Context, n *Notification) (*Notification, error)
}

// StageFunc adapts a function to a Stage.
type StageFunc func(ctx context.Context, n *Notification) (*Notification, error)

// Exec calls f.
func (f StageFunc) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	return f(ctx, n)
}

// MultiStage runs stages in order, each on what the previous returned.
type MultiStage []Stage

// Exec runs the stages until one returns nil or an error.
func (ms MultiStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	for _, s := range ms {
		var err error
		if n, err = s.Exec(ctx, n); err != nil || n == nil {
			return n, err
		}
	}
	return n, nil
}

// FanoutStage runs stages side by side, each on its own copy of the
// notification, and waits for all of them; one stage's failure or slowness
// does not stop the others.
type FanoutStage []Stage

// Exec runs every stage and joins their errors.
func (fs FanoutStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, s := range fs {
		wg.Go(func() {
			_, errs[i] = s.Exec(ctx, n.clone())
		})
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

// resultSet collects the results of a fanout; clones share it.
type resultSet struct {
	mu      sync.Mutex
	results []Result
}

func (rs *resultSet) add(r Result) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.results = append(rs.results, r)
}

func (rs *resultSet) list() []Result {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]Result(nil), rs.results...)
}
