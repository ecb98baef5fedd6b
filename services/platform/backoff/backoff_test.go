package backoff_test

import (
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/backoff"
)

func TestDelayDoublesUpToItsCap(t *testing.T) {
	p := backoff.Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := p.Delay(i+1, 0); got != w*time.Millisecond {
			t.Errorf("attempt %d: got %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
}

func TestDelayJitterStaysWithinItsFraction(t *testing.T) {
	p := backoff.Policy{Initial: time.Second, Max: 5 * time.Second, Multiplier: 3, Jitter: 0.5}
	for attempt := 1; attempt <= 4; attempt++ {
		full := p.Delay(attempt, 0)
		if got := p.Delay(attempt, 0.999); got <= full/2 || got > full {
			t.Errorf("attempt %d: jittered %s outside (%s, %s]", attempt, got, full/2, full)
		}
		for range 20 {
			if got := p.Next(attempt); got <= full/2 || got > full {
				t.Fatalf("attempt %d: Next %s outside (%s, %s]", attempt, got, full/2, full)
			}
		}
	}
}

func TestDelayNeverOverflowsWithoutACap(t *testing.T) {
	p := backoff.Policy{Initial: time.Second}
	for _, attempt := range []int{0, 1, 64, 1000, 1 << 30} {
		if got := p.Delay(attempt, 0); got < time.Second {
			t.Errorf("attempt %d: got %s, want at least the initial wait", attempt, got)
		}
	}
}
