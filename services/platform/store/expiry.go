package store

import (
	"sync"
	"time"
)

// Expiries remembers which keys this process gave an expiry lately. A key
// written many times over (a counter of the hour or day, a day's filter)
// then has its EXPIRE sent once per Refresh instead of with every write:
// commands Redis need not run. A key whose EXPIRE was lost (deleted and
// written again, a failed round trip) gets it again within Refresh. The
// zero value refreshes every hour; it is safe for concurrent use.
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
