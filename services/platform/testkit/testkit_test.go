package testkit_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var polls atomic.Int32
	testkit.Eventually(t, "the third poll", func() bool { return polls.Add(1) >= 3 })
	if got := polls.Load(); got != 3 {
		t.Fatalf("polled %d times, want 3: Eventually must stop as soon as the condition holds", got)
	}
}

// recorder is a testing.TB that records a failure instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func TestEventuallyFailsNamingWhatItAwaited(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				t.Fatalf("Eventually did not fail: %v", p)
			}
		}()
		testkit.EventuallyWithin(r, 20*time.Millisecond, "the queue to drain", func() bool { return false })
	}()
	if !strings.Contains(r.failed, "waiting for the queue to drain") {
		t.Fatalf("failure %q does not name what was awaited", r.failed)
	}
}

func TestWithinReportsAConditionThatNeverHolds(t *testing.T) {
	if testkit.Within(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("Within reported a condition that never held as holding")
	}
	var polls atomic.Int32
	if !testkit.Within(time.Second, func() bool { return polls.Add(1) >= 2 }) {
		t.Fatal("Within gave up on a condition that held on the second poll")
	}
}
