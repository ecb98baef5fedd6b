package bus

import (
	"errors"
	"testing"
	"time"
)

// A publish the bus did not confirm is tried again soon, through the few
// seconds of a leader election or three, while other failures double
// their wait; both reach RetryMax in a long outage.
func TestAnUnconfirmedPublishIsRetriedSoonerAndStillBacksOffToTheMax(t *testing.T) {
	c := &Consumer{cfg: ConsumerConfig{RetryBase: 500 * time.Millisecond, RetryMax: time.Minute}}
	unconfirmed, other := Unavailable(errors.New("nats: no responders available for request")), errors.New("redis: i/o timeout")
	worst := func(err error, tries int) time.Duration {
		var sum time.Duration
		for d := 1; d <= tries; d++ {
			sum += c.backoff(uint64(d), err)
		}
		return sum
	}
	// Jitter only shortens a wait, so a sum is at most its jitter-free value.
	if got := worst(unconfirmed, 4); got > 3*time.Second {
		t.Errorf("four unconfirmed publishes waited %s in all; a part must get through three elections well inside a 10s join timeout", got)
	}
	if got := worst(other, 4); got < 3700*time.Millisecond {
		t.Errorf("four other failures waited %s in all, want the doubling backoff (at least 3.75s)", got)
	}
	for _, err := range []error{unconfirmed, other} {
		if d := c.backoff(40, err); d < 30*time.Second || d > time.Minute {
			t.Errorf("the 40th try after %v waits %s, want the long outage's wait, at most a minute", err, d)
		}
	}
}

func TestAConsumerIsFailingForAWhileAfterAPullOrAckFailed(t *testing.T) {
	told := 0
	c := &Consumer{cfg: ConsumerConfig{OnFailure: func() { told++ }}}
	if c.Failing(time.Minute) {
		t.Fatal("a consumer that never failed reports failing")
	}
	c.failed()
	if !c.Failing(time.Minute) {
		t.Fatal("a consumer whose pull just failed does not report failing")
	}
	if told != 1 {
		t.Fatalf("OnFailure heard of %d failures, want 1", told)
	}
	if c.Failing(0) {
		t.Fatal("a failure is reported failing beyond the window asked about")
	}
	if m := (&MentionConsumers{parts: []*Consumer{{}, c}}); !m.Failing(time.Minute) {
		t.Fatal("the mention consumers do not report the failing partition")
	}
}
