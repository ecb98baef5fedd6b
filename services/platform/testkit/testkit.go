// Package testkit holds what every module's tests share for waiting:
// Eventually polls a condition until a deadline instead of sleeping a fixed
// time, so a test is as fast as the code allows and still passes on a
// loaded machine.
package testkit

import (
	"testing"
	"time"
)

// Deadline is how long Eventually waits. It is generous because a failing
// wait costs only a slow failure, while a tight one fails good code on a
// busy CI machine.
const Deadline = 10 * time.Second

// Eventually polls cond until it holds, failing t with what was awaited if
// it does not within Deadline.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Deadline, what, cond)
}

// EventuallyWithin is Eventually with its own deadline.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
