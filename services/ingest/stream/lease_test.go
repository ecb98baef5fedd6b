package stream

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestOnlyOneReplicaRunsTheStreamAndAStandbyTakesOver(t *testing.T) {
	client, keys := storetest.New(t)
	var running atomic.Int32
	var maxRunning atomic.Int32
	session := func(ctx context.Context) error {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		running.Add(-1)
		return nil
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newRunner := func() *Runner {
		return &Runner{Name: "test", Session: session, Log: log, Lease: &Lease{Redis: client, Key: keys.Global("lease"), TTL: 150 * time.Millisecond}}
	}
	a, b := newRunner(), newRunner()
	for _, r := range []*Runner{a, b} {
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()); _ = b.Stop(context.Background()) })
	testkit.Eventually(t, "one session", func() bool { return running.Load() == 1 })
	// Two lease periods pass with the holder renewing: the standby must not
	// start. Time passing is what is tested, and the lease expires on the
	// Redis server's clock, which no injected clock reaches.
	time.Sleep(300 * time.Millisecond)
	if maxRunning.Load() != 1 {
		t.Fatalf("%d sessions ran at once", maxRunning.Load())
	}
	holder := a
	if ok, _ := a.Lease.hold(context.Background()); !ok {
		holder = b
	}
	if err := holder.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the standby to take over", func() bool { return running.Load() == 1 })
}

// stall makes every Redis command wait for its context while on.
type stall struct{ on *atomic.Bool }

func (stall) DialHook(next redis.DialHook) redis.DialHook { return next }
func (s stall) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if s.on.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return next(ctx, cmd)
	}
}
func (stall) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestSessionEndsWhenRenewingTheLeaseHangs: a renewal that never answers
// must not keep the session running past the lease, where a standby would
// take it and run a second session.
func TestSessionEndsWhenRenewingTheLeaseHangs(t *testing.T) {
	client, keys := storetest.New(t)
	hung := &atomic.Bool{}
	client.AddHook(stall{on: hung})
	t.Cleanup(func() { hung.Store(false) }) // before the keys are cleaned up
	l := &Lease{Redis: client, Key: keys.Global("lease"), TTL: 150 * time.Millisecond}
	if ok, err := l.hold(context.Background()); err != nil || !ok {
		t.Fatalf("take the lease: %v %v", ok, err)
	}
	started := make(chan struct{})
	err := l.guard(context.Background(), func(ctx context.Context) error {
		close(started)
		hung.Store(true) // Redis stalls once the session runs
		<-ctx.Done()
		return nil
	})
	<-started
	if err == nil || !strings.Contains(err.Error(), "lost the stream lease") {
		t.Fatalf("session ended with %v, want the lease lost", err)
	}
}
