package surge

import "time"

// Counter counts complaints in memory as the service's store does in
// Redis: the distinct authors of each scope by their latest complaint, and
// each finished window's count. The backtest replays history through it;
// one goroutine uses it at a time.
type Counter struct {
	authors map[Scope]map[string]int64
	starts  map[Scope]int64
}

// Observe counts author's complaint at at in scopes (author "" only
// looks) and returns the observation to Step with.
func (c *Counter) Observe(author string, at time.Time, scopes []Scope, cfg Config) Observation {
	if c.authors == nil {
		c.authors, c.starts = map[Scope]map[string]int64{}, map[Scope]int64{}
	}
	now, span, persist := at.UnixMilli(), cfg.Window.Milliseconds(), cfg.Persist.Milliseconds()
	obs := Observation{At: at, Counts: map[Scope]int{}, Closed: map[Scope][]Closed{}, Past: map[Scope]int{},
		Recent: map[Scope]int{}, Latest: map[Scope]int64{}, Complaint: author != ""}
	bucket := now - now%span
	for _, scope := range scopes {
		seen := c.authors[scope]
		if seen == nil {
			seen = map[string]int64{}
			c.authors[scope] = seen
		}
		if cur, ok := c.starts[scope]; isPost(scope) {
			// A post has no usual to learn (as in the store).
		} else if !ok {
			c.starts[scope] = bucket
		} else if cur < bucket {
			obs.Closed[scope] = []Closed{{Start: cur, Count: between(seen, cur-1, cur+span-1)}}
			c.starts[scope] = bucket
		}
		for a, ms := range seen {
			if ms < now-2*span {
				delete(seen, a)
			}
		}
		if author != "" && seen[author] < now {
			seen[author] = now
		}
		obs.Counts[scope] = between(seen, now-span, now)
		obs.Past[scope] = between(seen, now-persist-span, now-persist)
		obs.Recent[scope] = between(seen, now-persist/2, now)
		for _, ms := range seen {
			obs.Latest[scope] = max(obs.Latest[scope], ms)
		}
	}
	return obs
}

// between counts the authors whose latest complaint is in (from, to].
func between(seen map[string]int64, from, to int64) int {
	n := 0
	for _, ms := range seen {
		if ms > from && ms <= to {
			n++
		}
	}
	return n
}
