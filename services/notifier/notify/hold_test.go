package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
)

// TestDeliveryStopsWhenItsClaimIsLost: a delivery that would run on for
// ever (a receiver that never answers) stops once renewing its claim fails,
// before the claim can run out and a redelivery on another replica send
// the same page beside it.
func TestDeliveryStopsWhenItsClaimIsLost(t *testing.T) {
	log := &notifytest.Log{RenewErr: errors.New("redis is away")}
	overrun := notify.StageFunc(func(ctx context.Context, n *notify.Notification) (*notify.Notification, error) {
		<-ctx.Done() // a delivery that never finishes by itself
		return nil, ctx.Err()
	})
	n := &notify.Notification{Receiver: "slack", DedupKey: "k", Events: []*fbv1.CaseEvent{{Id: "c1:opened:m", Case: &fbv1.Case{Id: "c1"}}}}
	_, err := notify.HoldStage{Log: log, TTL: 30 * time.Millisecond, Then: overrun}.Exec(context.Background(), n)
	if err == nil || !strings.Contains(err.Error(), "lost its claim") || !strings.Contains(err.Error(), "redis is away") {
		t.Fatalf("err = %v, want the delivery stopped for its lost claim", err)
	}
}

// TestDeliveryKeepsItsClaimWhileItWorks: renewals that succeed let a
// delivery longer than the claim's TTL finish.
func TestDeliveryKeepsItsClaimWhileItWorks(t *testing.T) {
	log := &notifytest.Log{}
	renewed := make(chan struct{})
	slow := notify.StageFunc(func(ctx context.Context, n *notify.Notification) (*notify.Notification, error) {
		// Outlive a few renewals, then finish.
		for range 3 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-renewed:
			}
		}
		return n, nil
	})
	counting := &countingLog{Log: log, renewed: renewed}
	n := &notify.Notification{Receiver: "slack", DedupKey: "k", Events: []*fbv1.CaseEvent{{Id: "c1:opened:m", Case: &fbv1.Case{Id: "c1"}}}}
	out, err := notify.HoldStage{Log: counting, TTL: 30 * time.Millisecond, Then: slow}.Exec(context.Background(), n)
	if err != nil || out == nil {
		t.Fatalf("a delivery that kept its claim: %v, %v", out, err)
	}
}

// countingLog tells each renewal on a channel.
type countingLog struct {
	*notifytest.Log
	renewed chan struct{}
}

func (c *countingLog) Renew(ctx context.Context, ttl time.Duration, keys ...string) (bool, error) {
	ok, err := c.Log.Renew(ctx, ttl, keys...)
	select {
	case c.renewed <- struct{}{}:
	case <-ctx.Done():
	}
	return ok, err
}
