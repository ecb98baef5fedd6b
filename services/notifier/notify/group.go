package notify

import "time"

// GroupConfig is grouping, after Alertmanager's grouping: when many
// cases fire for one team within a short window they go out as one
// notification. The decision is pure so the service can keep GroupState in
// Redis and any replica can flush a group.
type GroupConfig struct {
	// Wait holds the first case of a quiet team this long for others to join
	// it; 0 sends it at once, which suits pages.
	Wait time.Duration
	// Interval is the least time between two notifications for one team;
	// cases arriving sooner are held and sent together. 0 turns grouping off.
	Interval time.Duration
	// MaxSize flushes a group early once it holds this many cases; 0 means
	// no bound.
	MaxSize int
}

// GroupState is one team's group window.
type GroupState struct {
	// Pending are the ids of events held for the next flush, oldest first.
	Pending []string
	// FlushAt is when Pending is due; zero when nothing is pending.
	FlushAt time.Time
	// LastSent is when the team was last notified.
	LastSent time.Time
}

// GroupDecision says what to do with one more event.
type GroupDecision struct {
	// SendNow means deliver the event alone, now.
	SendNow bool
	// FlushAt, when SendNow is false, is when the group holding the event is
	// due; the caller flushes it with Flush at or after that time.
	FlushAt time.Time
}

// Add decides what to do with an event for a team at now and returns the
// new state to store.
func (c GroupConfig) Add(st GroupState, eventID string, now time.Time) (GroupState, GroupDecision) {
	quiet := st.LastSent.IsZero() || !now.Before(st.LastSent.Add(c.Interval))
	if c.Interval <= 0 || (len(st.Pending) == 0 && quiet && c.Wait <= 0) {
		st.LastSent = now
		return st, GroupDecision{SendNow: true}
	}
	if len(st.Pending) == 0 {
		st.FlushAt = now.Add(c.Wait)
		if !quiet {
			// A burst is on: hold until the interval since the last send ends.
			st.FlushAt = st.LastSent.Add(c.Interval)
		}
	}
	st.Pending = append(st.Pending, eventID)
	if c.MaxSize > 0 && len(st.Pending) >= c.MaxSize {
		st.FlushAt = now
	}
	return st, GroupDecision{FlushAt: st.FlushAt}
}

// Due reports whether the held group should be sent at now.
func (c GroupConfig) Due(st GroupState, now time.Time) bool {
	return len(st.Pending) > 0 && !now.Before(st.FlushAt)
}

// Flush takes the held events out for sending at now.
func (c GroupConfig) Flush(st GroupState, now time.Time) ([]string, GroupState) {
	ids := st.Pending
	return ids, GroupState{LastSent: now}
}
