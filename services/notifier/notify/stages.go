package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/backoff"
	"github.com/firebreak/firebreak/services/platform/clock"
)

// Log is the delivery log: what has been delivered, and every attempt. The
// service backs it with Redis so that replicas and restarts share it.
type Log interface {
	// Seen reports whether a delivery with this dedup key was delivered.
	Seen(ctx context.Context, key string) (bool, error)
	// Record stores deliveries; a delivered one marks its dedup key seen.
	// They come together so one round trip can write them all.
	Record(ctx context.Context, deliveries ...*fbv1.Delivery) error
	// Claim reserves key for ttl and reports whether this caller got it, so
	// two replicas handling the same event (a redelivery racing a slow
	// handler) do not both send it to receivers that cannot deduplicate,
	// such as Slack or email. A log serving one process may grant every
	// claim.
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Renew extends claims this caller holds to ttl from now, and reports
	// whether all of them were still held. A log serving one process may
	// renew every claim.
	Renew(ctx context.Context, ttl time.Duration, keys ...string) (bool, error)
	// Reserve takes the receiver's next send slot at limit sends a second
	// with burst, shared by every replica using the log, and says how long
	// to wait until the slot. A log serving one process may pace only it.
	Reserve(ctx context.Context, receiver string, limit rate.Limit, burst int, now time.Time) (time.Duration, error)
}

// DedupStage drops events the receiver has already been told about, so the
// same case level pages a receiver once across redeliveries and restarts.
type DedupStage struct {
	Log Log
}

// Exec returns the notification narrowed to the events not yet delivered,
// each claimed for this replica, or nil when none is left: the receiver was
// told already, and the caller records the notification as suppressed.
func (s DedupStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	fresh := n.Events[:0:0]
	for _, ev := range n.Events {
		key := Key(ev, n.Receiver)
		seen, err := s.Log.Seen(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("check delivery log for %s: %w", key, err)
		}
		if seen {
			continue
		}
		if err := s.claim(ctx, key); err != nil {
			return nil, err
		}
		fresh = append(fresh, ev)
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	out := *n
	out.Events = fresh
	out.DedupKey = GroupKey(fresh, n.Receiver)
	out.Result.DedupKey = out.DedupKey
	out.Result.Events = fresh
	return &out, nil
}

// ClaimTTL bounds how long a claim keeps other replicas off a delivery. A
// replica that dies mid-delivery delays the page by at most this. A
// delivery that takes longer (retries, a receiver's Retry-After) keeps its
// claims by renewing them (HoldStage), and stops if it cannot.
const ClaimTTL = 30 * time.Second

// HoldStage runs the stages after DedupStage while keeping its claims: it
// renews them every third of TTL, each renewal bounded by a third of TTL
// too, and cancels the delivery when a renewal fails or finds a claim gone.
// The delivery therefore stops at most two thirds of TTL after its last
// renewal, before its claims can run out: no redelivery on another replica
// can claim and send the same page while this one still works on it.
type HoldStage struct {
	Log  Log
	TTL  time.Duration // default ClaimTTL
	Then Stage
}

// Exec runs Then on n with its claims held.
func (s HoldStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = ClaimTTL
	}
	keys := make([]string, len(n.Events))
	for i, ev := range n.Events {
		keys[i] = Key(ev, n.Receiver)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		// The claims run out on the log's clock, which no injected clock
		// reaches: the renewals keep real time.
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				renew, stop := context.WithTimeout(ctx, ttl/3)
				held, err := s.Log.Renew(renew, ttl, keys...)
				stop()
				if err != nil || !held {
					cancel(fmt.Errorf("deliver %s to %s: lost its claim (renewal: %v); stopped so that no other replica sends it at the same time", n.DedupKey, n.Receiver, err))
					return
				}
			}
		}
	}()
	out, err := s.Then.Exec(ctx, n)
	if err != nil && context.Cause(ctx) != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err == nil && out != nil && out.Result.Failed() {
		// The receiver was not told and nothing is in flight any more: the
		// claims run out now rather than after their TTL, so the redelivery
		// that keeps the page owed tries again without waiting for them.
		release, stop := context.WithTimeout(ctx, ttl/3)
		_, _ = s.Log.Renew(release, time.Millisecond, keys...)
		stop()
	}
	return out, err
}

// ErrInFlight says another replica is delivering the same notification; the
// caller retries later, when the delivery log will say it was delivered.
var ErrInFlight = errors.New("another replica is delivering this notification")

func (s DedupStage) claim(ctx context.Context, key string) error {
	got, err := s.Log.Claim(ctx, key, ClaimTTL)
	switch {
	case err != nil:
		return fmt.Errorf("claim delivery %s: %w", key, err)
	case !got:
		return fmt.Errorf("%s: %w", key, ErrInFlight)
	}
	return nil
}

// GroupKey is the dedup key of a notification: Key for one event, and for a
// group a digest of its members' keys, the same whatever their order.
func GroupKey(events []*fbv1.CaseEvent, receiver string) string {
	if len(events) == 1 {
		return Key(events[0], receiver)
	}
	keys := make([]string, len(events))
	for i, ev := range events {
		keys[i] = Key(ev, receiver)
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return "group:" + hex.EncodeToString(sum[:12]) + ":" + receiver
}

// RateLimitStage holds a notification until the receiver's next send slot
// at its rate. The slots are kept in the log, so the rate holds across
// replicas, and each receiver has its own, so one busy receiver slows only
// itself.
type RateLimitStage struct {
	Log   Log
	Limit rate.Limit
	Burst int
	Clock clock.Clock
}

// Exec waits for the slot on the injected clock.
func (s RateLimitStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	if s.Limit <= 0 {
		return n, nil
	}
	wait, err := s.Log.Reserve(ctx, n.Receiver, s.Limit, max(s.Burst, 1), s.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("take a send slot of receiver %s: %w", n.Receiver, err)
	}
	if err := s.Clock.Sleep(ctx, wait); err != nil {
		return nil, fmt.Errorf("wait for rate limit of receiver %s: %w", n.Receiver, err)
	}
	return n, nil
}

// Backoff says how often and how long to retry.
type Backoff struct {
	// Policy spaces the attempts; its Jitter spreads each wait so replicas
	// that failed together do not retry together.
	backoff.Policy
	// MaxAttempts counts the first try; 1 means never retry.
	MaxAttempts int
	// AttemptTimeout bounds each attempt.
	AttemptTimeout time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a receiver asking
	// for longer fails now, so the fallback is tried instead of waiting.
	MaxRetryAfter time.Duration
}

// DefaultBackoff suits pagers: five attempts within about a minute.
func DefaultBackoff() Backoff {
	return Backoff{
		Policy:         backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2},
		MaxAttempts:    5,
		AttemptTimeout: 10 * time.Second,
		MaxRetryAfter:  2 * time.Minute,
	}
}

// RetryStage calls the receiver's Notifier until it succeeds, fails for good,
// or runs out of attempts. Failures are results, not errors: the notification
// goes on to be recorded either way.
type RetryStage struct {
	Notifier Notifier
	Backoff  Backoff
	Clock    clock.Clock
	// Rand draws jitter; nil uses math/rand/v2.
	Rand func() float64
}

// Exec tries the notifier and returns the notification with its result:
// every attempt, and whether it was delivered or failed for good.
func (s RetryStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	out := *n
	out.Result.Attempts = slices.Clone(n.Result.Attempts)
	for attempt := 1; ; attempt++ {
		a, retry := s.try(ctx, n, attempt)
		out.Result.Attempts = append(out.Result.Attempts, a)
		if a.Err == nil {
			out.Result.Outcome = fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED
			return &out, nil
		}
		if a.Reason == ReasonCanceled || ctx.Err() != nil {
			return nil, fmt.Errorf("deliver %s to %s: stopped after attempt %d: %w", n.DedupKey, n.Receiver, attempt, context.Cause(ctx))
		}
		wait, ok := s.wait(a, attempt, retry)
		if !ok {
			out.Result.Outcome = fbv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED
			return &out, nil
		}
		if err := s.Clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("deliver %s to %s: stopped waiting to retry: %w", n.DedupKey, n.Receiver, err)
		}
	}
}

func (s RetryStage) try(ctx context.Context, n *Notification, attempt int) (Attempt, bool) {
	if s.Backoff.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Backoff.AttemptTimeout)
		defer cancel()
	}
	start := s.Clock.Now()
	var (
		ref   string
		retry bool
		err   error
	)
	if p, ok := s.Notifier.(Poster); ok {
		ref, retry, err = p.Post(ctx, n)
	} else {
		retry, err = s.Notifier.Notify(ctx, n)
	}
	return Attempt{
		Number:     attempt,
		At:         start,
		Latency:    s.Clock.Now().Sub(start),
		StatusCode: statusOf(err),
		Reason:     ReasonOf(err),
		Err:        err,
		MessageRef: ref,
	}, retry
}

// wait says how long to wait before the next attempt, and whether to make one.
func (s RetryStage) wait(a Attempt, attempt int, retry bool) (time.Duration, bool) {
	if !retry || attempt >= s.Backoff.MaxAttempts {
		return 0, false
	}
	draw := s.Rand
	if draw == nil {
		draw = rand.Float64
	}
	wait := s.Backoff.Delay(attempt, draw())
	if ra := retryAfterOf(a.Err); ra > 0 {
		if s.Backoff.MaxRetryAfter > 0 && ra > s.Backoff.MaxRetryAfter {
			return 0, false
		}
		wait = max(wait, ra)
	}
	return wait, true
}

// RecordStage writes every attempt to the log, the last one with the final
// outcome, and the earlier ones as retrying.
type RecordStage struct {
	Log Log
}

// Exec records n.Result.
func (s RecordStage) Exec(ctx context.Context, n *Notification) (*Notification, error) {
	if err := s.Log.Record(ctx, Deliveries(n.Result)...); err != nil {
		return nil, fmt.Errorf("record delivery %s to %s: %w", n.DedupKey, n.Receiver, err)
	}
	return n, nil
}

// Deliveries turns a result into delivery records, one per attempt and event.
// Each event of a group gets its own record under its own key, so a case that
// was paged in a group is not paged again alone.
func Deliveries(r Result) []*fbv1.Delivery {
	out := make([]*fbv1.Delivery, 0, len(r.Attempts)*len(r.Events))
	for i, a := range r.Attempts {
		outcome := fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING
		if i == len(r.Attempts)-1 {
			outcome = r.Outcome
		}
		for _, ev := range r.Events {
			key := Key(ev, r.Receiver)
			d := &fbv1.Delivery{
				Id:           fmt.Sprintf("%s#%d", key, a.Number),
				CaseId:       ev.GetCase().GetId(),
				EventId:      ev.GetId(),
				Level:        Level(ev),
				Receiver:     r.Receiver,
				ReceiverType: r.ReceiverType,
				Outcome:      outcome,
				Attempt:      int32(a.Number),
				StatusCode:   int32(a.StatusCode),
				DedupKey:     key,
				At:           timestamppb.New(a.At),
				LatencyMs:    a.Latency.Milliseconds(),
				MessageRef:   a.MessageRef,
			}
			if a.Err != nil {
				d.Error = a.Err.Error()
			}
			out = append(out, d)
		}
	}
	return out
}
