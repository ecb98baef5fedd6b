package ingest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// errOverloaded refuses a request at the in-flight bound. The HTTP and gRPC
// adapters map it to 503 and Unavailable, and a rate limit to 429 and
// ResourceExhausted; callers are authenticated before either (package auth).
var errOverloaded = errors.New("ingest is at its limit of publishes in flight; retry after the Retry-After delay")

// rateLimitedError says how long the caller should wait.
type rateLimitedError struct {
	key   string
	after time.Duration
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("key %s is over its rate limit; retry in %s", e.key, e.after.Round(time.Millisecond))
}

// retryAfterSeconds rounds a wait up to whole seconds, as Retry-After takes.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// guard decides whether an authenticated request may go on: its key's
// rate, and the in-flight bound. Rate limits are per replica (x/time/rate in memory):
// they exist to keep one client from starving the others on this replica's
// publisher, and a Redis-backed limit would add a round trip to every
// request for a precision that load does not need. N replicas admit at most
// N times the rate, which the operator sizes for.
type guard struct {
	perSec   float64 // mentions per second per key; 0 is unlimited
	burst    int
	inFlight chan struct{}

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newGuard(perSec float64, burst, maxInFlight int) *guard {
	return &guard{perSec: perSec, burst: burst,
		inFlight: make(chan struct{}, maxInFlight), limiters: map[string]*rate.Limiter{}}
}

// mayStart refuses a key whose budget is empty, before its request's body
// is read: how many mentions the body holds is not known yet, but a key
// with not even one left is refused without reading any. allow settles the
// exact count once the body is decoded.
func (g *guard) mayStart(key string, now time.Time) error {
	if g.perSec <= 0 {
		return nil
	}
	lim := g.limiter(key)
	if tokens := lim.TokensAt(now); tokens < 1 {
		return &rateLimitedError{key: key, after: time.Duration((1 - tokens) / g.perSec * float64(time.Second))}
	}
	return nil
}

func (g *guard) limiter(key string) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	lim, ok := g.limiters[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(g.perSec), g.burst)
		g.limiters[key] = lim
	}
	return lim
}

// allow takes n mentions from the key's budget or says how long to wait.
// Nothing is taken when the request is refused, so a refused client's
// retries are not charged twice.
func (g *guard) allow(key string, n int, now time.Time) error {
	if g.perSec <= 0 {
		return nil
	}
	lim := g.limiter(key)
	r := lim.ReserveN(now, n)
	if !r.OK() {
		return &rateLimitedError{key: key, after: time.Duration(float64(n) / g.perSec * float64(time.Second))}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &rateLimitedError{key: key, after: d}
	}
	return nil
}

// enter takes an in-flight slot without waiting; release gives it back.
func (g *guard) enter() error {
	select {
	case g.inFlight <- struct{}{}:
		return nil
	default:
		return errOverloaded
	}
}

func (g *guard) release() { <-g.inFlight }

// errBodyBudget refuses a request whose body would take the replica past
// the bytes it reads at once.
var errBodyBudget = errors.New("ingest is reading as many request bytes as it holds at once; retry after the Retry-After delay")

// bodyBudget bounds the request-body bytes read at once, over all
// requests: the in-flight bound alone would let max-in-flight bodies of
// max-body-bytes each (256 MiB by default) into a pod's memory. A request
// reserves its Content-Length, or the largest body when it sends none,
// before a byte is read.
type bodyBudget struct {
	mu        sync.Mutex
	used, max int64
}

func (b *bodyBudget) take(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return errBodyBudget
	}
	b.used += n
	return nil
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

func (b *bodyBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
