// Package notifytest holds test doubles for the notify package: an in-memory
// delivery log and a clock that moves only when told. They are for tests;
// the service uses the Redis log and the system clock.
package notifytest

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Log is an in-memory notify.Log.
type Log struct {
	mu         sync.Mutex
	seen       map[string]bool
	limiters   map[string]*rate.Limiter
	deliveries []*fbv1.Delivery
	// Err, when set, is returned by every call, to test an unreachable log.
	Err error
	// RenewErr, when set, is returned by Renew alone: a claim lost
	// mid-delivery.
	RenewErr error
}

// Seen reports whether key was delivered.
func (l *Log) Seen(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return false, l.Err
	}
	return l.seen[key], nil
}

// Claim grants every claim: the in-memory log serves one process, and a
// test of the claim itself uses the Redis log.
func (l *Log) Claim(context.Context, string, time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Err == nil, l.Err
}

// Renew keeps every claim, as Claim grants every one; RenewErr, when
// set, fails renewals alone.
func (l *Log) Renew(context.Context, time.Duration, ...string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return false, l.Err
	}
	return l.RenewErr == nil, l.RenewErr
}

// Reserve paces each receiver with its own in-process limiter: the
// in-memory log serves one process.
func (l *Log) Reserve(_ context.Context, receiver string, limit rate.Limit, burst int, now time.Time) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return 0, l.Err
	}
	if l.limiters == nil {
		l.limiters = map[string]*rate.Limiter{}
	}
	lim, ok := l.limiters[receiver]
	if !ok {
		lim = rate.NewLimiter(limit, burst)
		l.limiters[receiver] = lim
	}
	return lim.ReserveN(now, 1).DelayFrom(now), nil
}

// Record stores deliveries and marks delivered keys seen.
func (l *Log) Record(_ context.Context, ds ...*fbv1.Delivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Err != nil {
		return l.Err
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	for _, d := range ds {
		if d.GetOutcome() == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
			l.seen[d.GetDedupKey()] = true
		}
	}
	l.deliveries = append(l.deliveries, ds...)
	return nil
}

// Deliveries returns everything recorded, in order.
func (l *Log) Deliveries() []*fbv1.Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*fbv1.Delivery(nil), l.deliveries...)
}
