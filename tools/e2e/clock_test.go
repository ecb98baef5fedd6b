package e2e

import (
	"context"
	"sync"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock"
)

// shiftClock is the wall clock moved on by what a test skips: timers and
// silences run as ever, and a route's hold or a chain level minutes away
// falls due when the test says, without waiting for it.
type shiftClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

func (c *shiftClock) Sleep(ctx context.Context, d time.Duration) error {
	return clock.System{}.Sleep(ctx, d)
}

// skip moves the escalation service's clock on by d.
func (w *world) skip(d time.Duration) {
	w.t.Helper()
	if w.clock == nil {
		w.t.Fatal("skip: this world runs on the system clock; start it with setup{clock: &shiftClock{}}")
	}
	w.clock.mu.Lock()
	w.clock.ahead += d
	w.clock.mu.Unlock()
}

// holdOver is the default policy's standard hold and a little more: a
// standard complaint decided before skipping it pages, or joins an
// incident, on the timers' next look.
const holdOver = 2*time.Minute + time.Second
