// Package testkit holds what every module's tests share for waiting and
// watching: Eventually polls a condition until a deadline instead of
// sleeping a fixed time, so a test is as fast as the code allows and still
// passes on a loaded machine; Buffer collects logs written from many
// goroutines.
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
	if !Within(d, cond) {
		t.Fatalf("gave up after %s waiting for %s", d, what)
	}
}

// Within polls cond until it holds or d has passed, and reports whether it
// held: for a test that, on giving up, says in its own words what is
// still missing.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
