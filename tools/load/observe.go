package load

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// Decided is the recorded decision about one mention.
type Decided struct {
	At       time.Time
	Escalate bool
	CaseID   string
	Team     string
	Missing  []string
	// Revised says the mention was first decided without a part, and
	// decided again when the part came late.
	Revised bool
}

// Decisions asks escalation for the decision on every mention in ids,
// waiting up to settle for those not decided yet. Asking after the run
// rather than during it keeps the observer's cost out of the measurement;
// the decision's own timestamp says when it was made.
func Decisions(ctx context.Context, client fbv1.EscalationServiceClient, ids []string, settle time.Duration) (map[string]Decided, error) {
	out := make(map[string]Decided, len(ids))
	var mu sync.Mutex
	deadline := time.Now().Add(settle)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, id := range ids {
		g.Go(func() error {
			d, err := awaitDecision(ctx, client, id, deadline)
			if err != nil || d == nil {
				return err
			}
			mu.Lock()
			revised := slices.ContainsFunc(d.Reasons, func(r *fbv1.Reason) bool { return r.Code == lateInput })
			out[id] = Decided{At: d.DecidedAt.AsTime(), Escalate: d.Escalate, CaseID: d.CaseId, Team: d.Team, Missing: d.Missing, Revised: revised}
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// lateInput is the reason code escalation adds to a decision revised when
// a missing part arrived.
const lateInput = "late_input"

// awaitDecision returns the decision, or nil if none came by deadline.
func awaitDecision(ctx context.Context, client fbv1.EscalationServiceClient, id string, deadline time.Time) (*fbv1.Decision, error) {
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := client.ExplainDecision(callCtx, &fbv1.ExplainDecisionRequest{MentionId: id})
		cancel()
		if err == nil {
			return resp.Decision, nil
		}
		switch status.Code(err) {
		case codes.NotFound, codes.Unavailable, codes.DeadlineExceeded:
		default:
			return nil, fmt.Errorf("explain decision on %s: %w", id, err)
		}
		if time.Now().After(deadline) {
			return nil, nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Backlog reports how many scored and reached events escalation has not
// finished with: a light, live measure of how far the pipeline is behind.
// Each ask costs the broker one consumer info request per consumer and
// partition, which the run's CPU counts as the pipeline's: the consumers
// are looked up once, and a fast sender asks at most once per Poll.
type Backlog struct {
	JS        jetstream.JetStream
	Names     bus.Names
	Max       int
	Poll      time.Duration
	mu        sync.Mutex
	last      time.Time
	behind    bool
	consumers []jetstream.Consumer
}

// Hold blocks while escalation's backlog exceeds Max.
func (b *Backlog) Hold(ctx context.Context) {
	for b.tooDeep(ctx) {
		select {
		case <-time.After(b.Poll):
		case <-ctx.Done():
			return
		}
	}
}

// tooDeep asks the broker at most once per Poll; between asks it repeats
// the last answer, so a fast sender does not flood the broker with queries.
func (b *Backlog) tooDeep(ctx context.Context) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.last) < b.Poll {
		return b.behind
	}
	b.last = time.Now()
	pending, err := b.Pending(ctx)
	b.behind = err == nil && pending > b.Max
	return b.behind
}

// Pending is the number of messages waiting for or being handled by the
// pipeline's consumers.
func (b *Backlog) Pending(ctx context.Context) (int, error) {
	if b.consumers == nil {
		if err := b.lookUp(ctx); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, c := range b.consumers {
		info, err := c.Info(ctx)
		if err != nil {
			b.consumers = nil // looked up again next time: it may have been re-created
			return 0, fmt.Errorf("consumer %s info: %w", c.CachedInfo().Name, err)
		}
		total += int(info.NumPending) + info.NumAckPending
	}
	return total, nil
}

// lookUp finds the pipeline's consumers on every mention partition.
func (b *Backlog) lookUp(ctx context.Context) error {
	var out []jetstream.Consumer
	for _, stream := range b.Names.MentionStreams() {
		for _, durable := range []string{"escalation-join", "scorer-mentions", "reach-mentions"} {
			c, err := b.JS.Consumer(ctx, stream, durable)
			if err != nil {
				return fmt.Errorf("consumer %s on %s: %w", durable, stream, err)
			}
			out = append(out, c)
		}
	}
	b.consumers = out
	return nil
}
