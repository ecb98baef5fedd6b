package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// heldBatch holds b's runner token, so that what callers queue meanwhile
// waits, and returns the function that lets them go once n are queued:
// they then run as one pipeline.
func heldBatch(t *testing.T, b *batcher) (release func(n int)) {
	t.Helper()
	b.runner <- struct{}{}
	return func(n int) {
		t.Helper()
		testkit.Eventually(t, fmt.Sprintf("%d jobs queued", n), func() bool { return len(b.queue) == n })
		<-b.runner
	}
}

func TestConcurrentCallersEachReadTheirOwnAnswersFromOnePipeline(t *testing.T) {
	client, keys := storetest.New(t)
	trips := &incrPipelines{}
	client.AddHook(trips)
	b := newBatcher(client, 64, 128)
	release := heldBatch(t, b)
	const callers = 20
	got := make([]int64, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var incr *redis.IntCmd
			errs[i] = b.do(context.Background(), func(pipe redis.Pipeliner) {
				incr = pipe.IncrBy(context.Background(), keys.Global("counter", fmt.Sprint(i)), int64(i+1))
			})
			got[i] = incr.Val()
		})
	}
	release(callers)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != int64(i+1) {
			t.Errorf("caller %d: got %d, %v; want %d and no error", i, got[i], errs[i], i+1)
		}
	}
	if n := trips.Load(); n != 1 {
		t.Fatalf("%d callers queued together made %d round trips, want 1", callers, n)
	}
}

// incrPipelines counts the pipelines that hold an INCRBY: the callers'
// round trips, not those the client makes to set up a connection.
type incrPipelines struct{ atomic.Int64 }

func (c *incrPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c *incrPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (c *incrPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Name() == "incrby" }) {
			c.Add(1)
		}
		return next(ctx, cmds)
	}
}

func TestALoneCallerRunsItsPipelineAtOnce(t *testing.T) {
	client, keys := storetest.New(t)
	b := newBatcher(client, 64, 128)
	var set *redis.StatusCmd
	err := b.do(context.Background(), func(pipe redis.Pipeliner) {
		set = pipe.Set(context.Background(), keys.Global("alone"), 1, 0)
	})
	if err != nil || set.Val() != "OK" {
		t.Fatalf("got %q, %v; want OK", set.Val(), err)
	}
	if len(b.runner) != 0 || len(b.queue) != 0 {
		t.Fatalf("after a lone call the runner token is held (%d) or jobs are queued (%d)", len(b.runner), len(b.queue))
	}
}

func TestAFailedPipelineFailsEachOfItsCallers(t *testing.T) {
	// Nothing listens on port 1: the pipeline cannot be sent.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	b := newBatcher(client, 64, 128)
	release := heldBatch(t, b)
	const callers = 5
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			errs[i] = b.do(context.Background(), func(pipe redis.Pipeliner) { pipe.Exists(context.Background(), "k") })
		})
	}
	release(callers)
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("caller %d: err = %v, want the refused connection", i, err)
		}
	}
}

// One caller's command failing (a key of the wrong type) is its failure
// alone: the others in the pipeline get their answers.
func TestACommandErrorFailsOnlyItsCaller(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	client.Set(ctx, keys.Global("a-string"), "x", 0)
	b := newBatcher(client, 64, 128)
	release := heldBatch(t, b)
	var wrong, right error
	var wg sync.WaitGroup
	wg.Go(func() {
		wrong = b.do(ctx, func(pipe redis.Pipeliner) { pipe.HSet(ctx, keys.Global("a-string"), "f", 1) })
	})
	wg.Go(func() {
		right = b.do(ctx, func(pipe redis.Pipeliner) { pipe.Set(ctx, keys.Global("other"), 1, 0) })
	})
	release(2)
	wg.Wait()
	if wrong == nil || !strings.Contains(wrong.Error(), "WRONGTYPE") {
		t.Errorf("the failing caller got %v, want WRONGTYPE", wrong)
	}
	if right != nil {
		t.Errorf("the other caller got %v, want no error", right)
	}
}

// A caller that gives up while queued returns at once, and its commands
// are not sent.
func TestACallerWhoseContextEndsLeavesAndItsCommandsAreNotRun(t *testing.T) {
	client, keys := storetest.New(t)
	b := newBatcher(client, 64, 128)
	release := heldBatch(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		left <- b.do(ctx, func(pipe redis.Pipeliner) { pipe.Set(context.Background(), keys.Global("abandoned"), 1, 0) })
	}()
	testkit.Eventually(t, "the job queued", func() bool { return len(b.queue) == 1 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	release(1)
	// The next caller runs the queue, abandoned job included.
	if err := b.do(context.Background(), func(pipe redis.Pipeliner) {}); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(context.Background(), keys.Global("abandoned")).Val(); n != 0 {
		t.Fatal("the commands of a caller that left were run")
	}
}

// Two requests for the same mention in one pipeline both find it unseen;
// only one is accepted as new, the other is answered as a duplicate, and
// the mention is published once.
func TestTheSameMentionTwiceInOneBatchIsPublishedOnce(t *testing.T) {
	svc, d := startIngest(t)
	ctx := context.Background()
	twice := func() []*fbv1.Mention {
		m := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_X, PlatformId: "twice", Brand: "acme", Author: &fbv1.Author{Id: "u1"}, Text: "where is my bag"}
		if err := mention.Normalize(m, time.Now()); err != nil {
			t.Fatal(err)
		}
		return []*fbv1.Mention{m}
	}
	release := heldBatch(t, svc.pipes)
	results := make([][]Accepted, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = svc.accept(ctx, twice())
		})
	}
	release(2)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if results[0][0].Duplicate == results[1][0].Duplicate {
		t.Fatalf("duplicate answers %v and %v; want one new and one duplicate", results[0][0], results[1][0])
	}
	if n := published(t, d); n != 1 {
		t.Fatalf("%d published, want 1", n)
	}
	again, err := svc.accept(ctx, twice())
	if err != nil || !again[0].Duplicate {
		t.Fatalf("sent again later: %v, %v; want a duplicate", again, err)
	}
}

// A queue full of jobs whose callers left is run by the next caller, which
// would otherwise wait for room for ever.
func TestAQueueFullOfAbandonedJobsDoesNotBlockTheNextCaller(t *testing.T) {
	client, keys := storetest.New(t)
	b := newBatcher(client, 1, 128)
	release := heldBatch(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { left <- b.do(ctx, func(pipe redis.Pipeliner) {}) }()
	testkit.Eventually(t, "the job queued", func() bool { return len(b.queue) == 1 })
	cancel()
	<-left
	release(1)
	done := make(chan error, 1)
	go func() {
		done <- b.do(context.Background(), func(pipe redis.Pipeliner) { pipe.Set(context.Background(), keys.Global("next"), 1, 0) })
	}()
	var err error
	testkit.Eventually(t, "the next caller's answer", func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A job whose commands panic fails the others in its pipeline instead of
// leaving them waiting, and the batcher goes on working.
func TestAPanickingJobFailsItsPipelineAndTheBatcherGoesOn(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	b := newBatcher(client, 64, 128)
	release := heldBatch(t, b)
	const callers = 4
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			// The runner's own goroutine carries the panic on, as a
			// request's would to net/http.
			defer func() {
				if p := recover(); p != nil && errs[i] == nil {
					errs[i] = fmt.Errorf("panicked: %v", p)
				}
			}()
			errs[i] = b.do(ctx, func(pipe redis.Pipeliner) {
				if i == 0 {
					panic("a bug")
				}
				pipe.Set(ctx, keys.Global("k", fmt.Sprint(i)), 1, 0)
			})
		})
	}
	release(callers)
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "panic") {
			t.Errorf("caller %d: err = %v, want the panic", i, err)
		}
	}
	if err := b.do(ctx, func(pipe redis.Pipeliner) { pipe.Set(ctx, keys.Global("after"), 1, 0) }); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}
