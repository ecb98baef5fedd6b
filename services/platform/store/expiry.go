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
// Due notes an EXPIRE as sent before anyone knows it ran, so a round trip
// that carried one and failed must be reported (Forget): the keys' next
// writes then send it again, as a retry or a redelivery writes them. What
// is left: a key that Redis lost after its EXPIRE ran (a failover that
// dropped its last writes) and that is written again within Refresh gets
// no expiry from this process until Refresh has passed, and none at all if
// its writes end before that (an hour's counts): Redis keeps that key
// until it is deleted by hand, a key per such loss.
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

// Forget drops what Expiries noted: a round trip that carried an EXPIRE
// failed, and whichever keys it was for get theirs with their next write.
func (e *Expiries) Forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.set)
}
