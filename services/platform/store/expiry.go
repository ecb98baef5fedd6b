package store

import (
	"sync"
	"time"
)

// Expiries remembers which keys this process gave an expiry lately. A key
// written many times over (a counter of the hour or day, a day's filter)
// then has its EXPIRE sent once per Refresh instead of with every write:
// commands Redis need not run. The zero value refreshes every hour; it is
// safe for concurrent use.
//
// Due notes an EXPIRE as sent before anyone knows it ran. A key whose
// EXPIRE was lost (a round trip that failed before Redis ran it, whose
// retry or redelivery then writes the key without one; a key deleted, or
// lost in a failover, and written again) gets it again only from a write
// Refresh or more after the one that sent it. A bucket whose writes end
// before that, an hour's counts above all, then never expires: Redis
// keeps it until it is deleted by hand. That is the price of sparing the
// EXPIRE: it takes a failure, and costs a key per failure (ingest's day
// filters are large, but written all day: only one lost in its last hour
// stays).
type Expiries struct {
	// Refresh is how long an expiry set is trusted (0: an hour). The key's
	// TTL must be much longer: it is counted from up to Refresh earlier.
	Refresh time.Duration

	mu     sync.Mutex
	set    map[string]time.Time
	pruned time.Time
}

// Due reports whether key's expiry is to be sent with this write (and
// notes it as sent): the first time, and again once Refresh has passed.
func (e *Expiries) Due(key string, now time.Time) bool {
	refresh := e.Refresh
	if refresh <= 0 {
		refresh = time.Hour
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set == nil {
		e.set, e.pruned = map[string]time.Time{}, now
	}
	if now.Sub(e.pruned) >= refresh {
		// Buckets of past hours and days are written no more: forget them.
		for k, at := range e.set {
			if now.Sub(at) >= refresh {
				delete(e.set, k)
			}
		}
		e.pruned = now
	}
	if at, ok := e.set[key]; ok && now.Sub(at) < refresh && !now.Before(at) {
		return false
	}
	e.set[key] = now
	return true
}
