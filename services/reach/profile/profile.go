// Package profile asks the platforms how big an author's audience is: X's
// users lookup (up to 100 ids a call), Mastodon's account lookup and
// Bluesky's getProfile. Each provider honours its platform's rate-limit
// headers by refusing calls until the window resets, and concurrent asks
// for X are gathered into batches. Decoding and plausibility are pure.
package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock"
)

// Profile is what reach needs of an account.
type Profile struct {
	Followers int64
	Verified  bool
}

// ErrRateLimited means the platform asked us to wait; the caller falls
// back rather than waiting on the hot path.
var ErrRateLimited = errors.New("platform rate limit reached")

// ErrNotFound means the platform has no such account.
var ErrNotFound = errors.New("account not found")

// Plausible reports whether a new follower count may replace a known one.
// X is known to report 0 followers under load; an audience of thousands
// does not vanish in an hour, so a drop to under a tenth of a sizeable
// count is treated as a platform fault, not news.
func Plausible(old, next int64) bool {
	return old < 1000 || next*10 >= old
}

// limiter remembers until when a platform said to stop calling.
type limiter struct {
	mu    sync.Mutex
	until time.Time
	clock clock.Clock
}

func (l *limiter) check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clock.Now().Before(l.until) {
		return fmt.Errorf("%w until %s", ErrRateLimited, l.until.UTC().Format(time.RFC3339))
	}
	return nil
}

// observe reads a response's rate-limit state: remaining calls and when
// the window resets, in the header names and time format the platform
// uses. A 429 without a reset waits a minute.
func (l *limiter) observe(resp *http.Response, remainingHeader, resetHeader string, parseReset func(string) (time.Time, bool)) {
	reset, hasReset := parseReset(resp.Header.Get(resetHeader))
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil {
			reset, hasReset = l.clock.Now().Add(time.Duration(secs)*time.Second), true
		}
	}
	exhausted := resp.Header.Get(remainingHeader) == "0" || resp.StatusCode == http.StatusTooManyRequests
	if !exhausted {
		return
	}
	if !hasReset {
		reset = l.clock.Now().Add(time.Minute)
	}
	l.mu.Lock()
	l.until = reset
	l.mu.Unlock()
}

func epochSeconds(v string) (time.Time, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func isoTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// get does one GET and returns the body of a 200, or says what failed.
func get(ctx context.Context, client *http.Client, url, token string, lim *limiter, remaining, reset string, parseReset func(string) (time.Time, bool)) ([]byte, error) {
	if err := lim.check(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	lim.observe(resp, remaining, reset, parseReset)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("GET %s: %w", url, ErrRateLimited)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", url, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	case err != nil:
		return nil, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return body, nil
}
