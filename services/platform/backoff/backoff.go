// Package backoff says how long to wait before trying again: exponential
// growth from an initial wait to a cap, with jitter so that replicas which
// failed together do not retry together. It is the one backoff of the bus
// consumer's naks, the notifier's retries and the platform streams'
// reconnects; the waiting itself is done on an injected clock.Clock.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff. The zero Multiplier means 2.
type Policy struct {
	Initial time.Duration
	// Max caps every wait; zero means no cap.
	Max        time.Duration
	Multiplier float64
	// Jitter spreads each wait randomly over [1-Jitter, 1] of its length.
	Jitter float64
}

// Delay is the wait after the given failed attempt (from 1); r in [0,1)
// draws the jitter, so tests can pin it.
func (p Policy) Delay(attempt int, r float64) time.Duration {
	mult := p.Multiplier
	if mult == 0 {
		mult = 2
	}
	d := float64(p.Initial) * math.Pow(mult, float64(max(attempt, 1)-1))
	if p.Max > 0 && d > float64(p.Max) {
		d = float64(p.Max)
	}
	// A huge attempt number with no cap must not overflow into a negative wait.
	d = min(d, 1<<62)
	return time.Duration(d * (1 - p.Jitter*r))
}

// Next is Delay with a random jitter draw.
func (p Policy) Next(attempt int) time.Duration {
	if p.Jitter == 0 {
		return p.Delay(attempt, 0)
	}
	return p.Delay(attempt, rand.Float64())
}
