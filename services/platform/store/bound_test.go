package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestWithinBoundStopsAtTheBoundAndSaysWhatIsLeft(t *testing.T) {
	var done []int
	// The first item outlasts the bound (it ends with its context); the
	// other two are left for their lease to run out.
	left := WithinBound(context.Background(), 10*time.Millisecond, []int{1, 2, 3}, func(work context.Context, i int) {
		<-work.Done()
		done = append(done, i)
	})
	if left != 2 || !slices.Equal(done, []int{1}) {
		t.Fatalf("left %d after handling %v; want 2 left after the first", left, done)
	}
}

func TestWithinBoundFinishesABatchWhileTheServiceStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the service is stopping
	var done []string
	left := WithinBound(ctx, time.Minute, []string{"a", "b"}, func(work context.Context, s string) {
		if work.Err() == nil {
			done = append(done, s)
		}
	})
	if left != 0 || !slices.Equal(done, []string{"a", "b"}) {
		t.Fatalf("left %d, handled %v; want the claimed batch finished", left, done)
	}
}
