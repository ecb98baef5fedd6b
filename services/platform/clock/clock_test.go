package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/clock"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
)

func TestSystemSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := (clock.System{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context: got %v, want context.Canceled", err)
	}
	if err := (clock.System{}).Sleep(t.Context(), 0); err != nil {
		t.Fatalf("Sleep(0): %v", err)
	}
}

func TestOrFallsBackToTheSystemClock(t *testing.T) {
	if _, ok := clock.Or(nil).(clock.System); !ok {
		t.Fatal("Or(nil) is not the system clock")
	}
	fake := clocktest.New(time.Unix(0, 0))
	if clock.Or(fake) != clock.Clock(fake) {
		t.Fatal("Or(fake) did not return the fake")
	}
}

func TestFakeSleepMovesTimeAndRemembersWaits(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	_ = c.Sleep(t.Context(), time.Second)
	c.Advance(time.Minute)
	_ = c.Sleep(t.Context(), 0)
	if got, want := c.Now(), start.Add(time.Minute+time.Second); !got.Equal(want) {
		t.Errorf("Now: got %s, want %s", got, want)
	}
	if got := c.Sleeps(); len(got) != 1 || got[0] != time.Second {
		t.Errorf("Sleeps: got %v, want [1s]", got)
	}
}
