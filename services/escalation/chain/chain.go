// Package chain computes when an escalation chain fires its next level: given
// a chain's levels, the level last fired and the case's state, Next says which
// level fires and when. It keeps no clocks and does no I/O, so the service's
// timers and the backtest agree on every page.
package chain

import (
	"errors"
	"fmt"
	"time"
)

// Level is one step of a chain: who is paged, and how long they have to
// acknowledge before the next level fires.
type Level struct {
	Receivers  []string
	AckTimeout time.Duration
}

// Chain is an ordered list of levels. After the last level times out the
// chain starts again from the first, Repeat more times. An acknowledged case
// whose author still has no brand reply AckExpiry after the acknowledgement
// resumes the chain (zero AckExpiry: an acknowledgement stops it for good).
type Chain struct {
	Name      string
	Levels    []Level
	Repeat    int
	AckExpiry time.Duration
}

// Validate reports every problem with the chain at once.
func (c Chain) Validate() error {
	var errs []error
	if len(c.Levels) == 0 {
		errs = append(errs, errors.New("no levels"))
	}
	for i, l := range c.Levels {
		if len(l.Receivers) == 0 {
			errs = append(errs, fmt.Errorf("level %d: no receivers", i+1))
		}
		for _, r := range l.Receivers {
			if r == "" {
				errs = append(errs, fmt.Errorf("level %d: empty receiver name", i+1))
			}
		}
		if l.AckTimeout <= 0 {
			errs = append(errs, fmt.Errorf("level %d: ack_timeout must be positive, got %s", i+1, l.AckTimeout))
		}
	}
	if c.Repeat < 0 {
		errs = append(errs, fmt.Errorf("repeat must not be negative, got %d", c.Repeat))
	}
	if c.AckExpiry < 0 {
		errs = append(errs, fmt.Errorf("ack_expiry must not be negative, got %s", c.AckExpiry))
	}
	return errors.Join(errs...)
}

// State is where a case is, as far as its chain cares.
type State int

const (
	Open State = iota
	Acknowledged
	Resolved
)

// Status is what the chain needs to know about a case.
type Status struct {
	State State
	// Level is the level last fired, from 1; 0 means none has fired yet.
	Level int
	// Round is the pass through the chain that Level belongs to: 0 for the
	// first pass, up to Repeat.
	Round int
	// FiredAt is when Level fired; when Level is 0, when the case opened.
	FiredAt time.Time
	// AckedAt is when the case was acknowledged (State Acknowledged).
	AckedAt time.Time
	// ComplainedAt is when the case's latest complaint was made; zero means
	// unknown, and then only a reply after AckedAt counts as an answer.
	ComplainedAt time.Time
	// RepliedAt is when the brand last replied to the author, zero if never.
	RepliedAt time.Time
}

// answered reports whether the brand has replied since the author last
// complained (or, not knowing when that was, since the acknowledgement).
func (s Status) answered() bool {
	since := s.ComplainedAt
	if since.IsZero() {
		since = s.AckedAt
	}
	return !s.RepliedAt.IsZero() && !s.RepliedAt.Before(since)
}

// Cause says why a step fires.
type Cause int

const (
	// Opened: the first level of a newly opened case.
	Opened Cause = iota + 1
	// TimedOut: the previous level was not acknowledged in time.
	TimedOut
	// AckExpired: the case was acknowledged but the author got no brand
	// reply within the chain's AckExpiry.
	AckExpired
	// Breached: the first-response target passed with no answer.
	Breached
	// HandoffOverdue: the brand moved the author to private messages and
	// has not replied there in time.
	HandoffOverdue
)

func (c Cause) String() string {
	switch c {
	case Opened:
		return "opened"
	case TimedOut:
		return "timed_out"
	case AckExpired:
		return "ack_expired"
	case Breached:
		return "breached"
	case HandoffOverdue:
		return "handoff_overdue"
	}
	return fmt.Sprintf("Cause(%d)", int(c))
}

// Step is a level due to fire.
type Step struct {
	Level     int // from 1
	Round     int
	At        time.Time
	Receivers []string
	Cause     Cause
}

// Next returns the next step of the chain for a case, and false when nothing
// more will fire: the case is resolved, acknowledged and answered (or without
// ack expiry), or the chain has run out of levels and repeats.
//
// At may be in the past: the caller fires a step as soon as it sees it due, so
// a replica that restarts late catches up rather than skipping a level.
func (c Chain) Next(s Status) (Step, bool) {
	if len(c.Levels) == 0 {
		return Step{}, false
	}
	switch s.State {
	case Resolved:
		return Step{}, false
	case Acknowledged:
		return c.resume(s)
	}
	if s.Level <= 0 {
		return c.step(1, 0, s.FiredAt, Opened), true
	}
	level, round, ok := c.after(s.Level, s.Round)
	if !ok {
		return Step{}, false
	}
	return c.step(level, round, s.FiredAt.Add(c.timeout(s.Level)), TimedOut), true
}

// resume handles an acknowledged case: acknowledged is not answered, so
// without a brand reply since the author's latest complaint the chain picks up again
// when the acknowledgement expires. It escalates past the level that was
// acknowledged; a chain already at its end pages its last level again, since
// an expired acknowledgement must reach someone.
func (c Chain) resume(s Status) (Step, bool) {
	if c.AckExpiry <= 0 || s.answered() {
		return Step{}, false
	}
	at := s.AckedAt.Add(c.AckExpiry)
	if s.Level <= 0 {
		return c.step(1, 0, at, AckExpired), true
	}
	level, round, ok := c.after(s.Level, s.Round)
	if !ok {
		level, round = len(c.Levels), c.Repeat
	}
	return c.step(level, round, at, AckExpired), true
}

// after returns the level and round that follow level in round.
func (c Chain) after(level, round int) (int, int, bool) {
	if level < len(c.Levels) {
		return level + 1, round, true
	}
	if round < c.Repeat {
		return 1, round + 1, true
	}
	return 0, 0, false
}

// timeout is level's ack timeout; a level beyond the chain (the chain was
// shortened under a running case) uses the last level's.
func (c Chain) timeout(level int) time.Duration {
	return c.Levels[min(level, len(c.Levels))-1].AckTimeout
}

func (c Chain) step(level, round int, at time.Time, cause Cause) Step {
	level = min(level, len(c.Levels))
	return Step{Level: level, Round: round, At: at, Receivers: c.Levels[level-1].Receivers, Cause: cause}
}

// Beyond is the step that escalates a case past the level last fired, for
// causes outside the chain's own timing (a missed first-response target, an
// unanswered private hand-off): the next level, or at the chain's end its
// last level again, since such an escalation must reach someone.
func (c Chain) Beyond(level, round int, at time.Time, cause Cause) Step {
	if len(c.Levels) == 0 {
		return Step{}
	}
	if level <= 0 {
		return c.step(1, 0, at, cause)
	}
	next, nextRound, ok := c.after(level, round)
	if !ok {
		next, nextRound = len(c.Levels), c.Repeat
	}
	return c.step(next, nextRound, at, cause)
}
