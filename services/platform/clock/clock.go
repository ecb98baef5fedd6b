// Package clock is the one time source of code whose timing tests control:
// retries, backoff, rate limits, expiry windows. Production code takes a
// Clock and is given System; tests give it clocktest's fake, so they run
// waits without waiting and check times without racing the wall clock.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or returns the context's error if it ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// System is the real clock.
type System struct{}

// Now returns the current time.
func (System) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (System) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Or returns c, or System when c is nil, so a zero-valued struct with a
// Clock field works.
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
